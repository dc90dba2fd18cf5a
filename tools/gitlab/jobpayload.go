package gitlab

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The job a runner receives from POST /jobs/request (201). The types below
// follow, field for field, the types gitlab-runner decodes the body into:
// spec.Job and its parts in common/spec/spec.go of the runner module
// (gitlab.com/gitlab-org/gitlab-runner, pinned in tools/build); the JSON
// names are theirs. What GitLab fills in is what its
// API::Entities::Ci::JobRequest::Response and Ci::BuildRunnerPresenter put
// there; a part the stand-in does not produce is sent empty, as GitLab
// sends it for a job without that keyword.

// jobPayload is spec.Job.
type jobPayload struct {
	ID            int64                `json:"id"`
	Token         string               `json:"token"`
	AllowGitFetch bool                 `json:"allow_git_fetch"`
	JobInfo       payloadJobInfo       `json:"job_info"`
	GitInfo       payloadGitInfo       `json:"git_info"`
	RunnerInfo    payloadRunnerInfo    `json:"runner_info"`
	Variables     []payloadVariable    `json:"variables"`
	Steps         []payloadStep        `json:"steps"`
	Image         *payloadImage        `json:"image"`
	Services      []payloadImage       `json:"services"`
	Artifacts     []json.RawMessage    `json:"artifacts"`
	Cache         []json.RawMessage    `json:"cache"`
	Credentials   []payloadCredentials `json:"credentials"`
	Dependencies  []json.RawMessage    `json:"dependencies"`
	Features      payloadFeatures      `json:"features"`
	Hooks         []json.RawMessage    `json:"hooks"`
}

// payloadJobInfo is spec.JobInfo.
type payloadJobInfo struct {
	Name                                     string  `json:"name"`
	Stage                                    string  `json:"stage"`
	PipelineID                               int64   `json:"pipeline_id"`
	ProjectID                                int64   `json:"project_id"`
	ProjectName                              string  `json:"project_name"`
	ProjectFullPath                          string  `json:"project_full_path"`
	NamespaceID                              int64   `json:"namespace_id"`
	RootNamespaceID                          int64   `json:"root_namespace_id"`
	OrganizationID                           int64   `json:"organization_id"`
	InstanceID                               string  `json:"instance_id"`
	InstanceUUID                             string  `json:"instance_uuid"`
	UserID                                   int64   `json:"user_id"`
	TimeInQueueSeconds                       float64 `json:"time_in_queue_seconds"`
	ProjectJobsRunningOnInstanceRunnersCount string  `json:"project_jobs_running_on_instance_runners_count"`
	QueueSize                                int64   `json:"queue_size"`
	QueueDepth                               int64   `json:"queue_depth"`
}

// payloadGitInfo is spec.GitInfo.
type payloadGitInfo struct {
	RepoURL          string   `json:"repo_url"`
	RepoObjectFormat string   `json:"repo_object_format"`
	Ref              string   `json:"ref"`
	Sha              string   `json:"sha"`
	BeforeSha        string   `json:"before_sha"`
	RefType          string   `json:"ref_type"`
	Refspecs         []string `json:"refspecs"`
	Depth            int      `json:"depth"`
	Protected        *bool    `json:"protected"`
}

// payloadRunnerInfo is spec.RunnerInfo (GitLab sends the timeout only).
type payloadRunnerInfo struct {
	Timeout int `json:"timeout"`
}

// payloadVariable is spec.Variable.
type payloadVariable struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Public bool   `json:"public"`
	File   bool   `json:"file"`
	Masked bool   `json:"masked"`
	Raw    bool   `json:"raw"`
}

// payloadStep is spec.Step.
type payloadStep struct {
	Name         string   `json:"name"`
	Script       []string `json:"script"`
	Timeout      int      `json:"timeout"`
	When         string   `json:"when"`
	AllowFailure bool     `json:"allow_failure"`
}

// payloadImage is spec.Image (the image and each service).
type payloadImage struct {
	Name       string            `json:"name"`
	Alias      string            `json:"alias,omitempty"`
	Command    []string          `json:"command,omitempty"`
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Ports      []json.RawMessage `json:"ports,omitempty"`
	Variables  []payloadVariable `json:"variables,omitempty"`
	PullPolicy []string          `json:"pull_policy,omitempty"`
}

// payloadCredentials is spec.Credentials.
type payloadCredentials struct {
	Type     string `json:"type"`
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// payloadFeatures is spec.GitlabFeatures.
type payloadFeatures struct {
	TraceSections     bool     `json:"trace_sections"`
	TokenMaskPrefixes []string `json:"token_mask_prefixes"`
	FailureReasons    []string `json:"failure_reasons"`
}

// jobPayloadLocked builds what runner rn receives for j, whose token is
// token. The caller holds s.mu.
func (s *Server) jobPayloadLocked(j *job, rn *runner, token string) jobPayload {
	pl := s.pipelines[j.PipelineID]
	p := s.dir.projects[j.ProjectID]
	pj := s.projectJSON(p)
	g := s.dir.groups[p.GroupID]
	root := s.dir.ancestors(g)
	protected := pl.Protected
	steps := []payloadStep{{
		Name: "script", Script: append(append([]string{}, j.Spec.BeforeScript...), j.Spec.Script...),
		Timeout: j.Timeout, When: "on_success", AllowFailure: false,
	}}
	if len(j.Spec.AfterScript) > 0 {
		steps = append(steps, payloadStep{Name: "after_script", Script: append([]string{}, j.Spec.AfterScript...),
			Timeout: j.Timeout, When: "always", AllowFailure: true})
	}
	var img *payloadImage
	if j.Spec.Image != nil {
		pi := imagePayload(j.Spec.Image)
		img = &pi
	}
	services := []payloadImage{}
	for _, svc := range j.Spec.Services {
		services = append(services, imagePayload(svc))
	}
	queued := 0.0
	if j.QueuedAt != nil {
		queued = s.now().Sub(*j.QueuedAt).Seconds()
	}
	return jobPayload{
		ID: j.ID, Token: token, AllowGitFetch: false,
		JobInfo: payloadJobInfo{
			Name: j.Spec.Name, Stage: j.Spec.Stage, PipelineID: pl.ID, ProjectID: p.ID, ProjectName: p.Name,
			ProjectFullPath: pj.PathWithNamespace, NamespaceID: g.ID, RootNamespaceID: root[len(root)-1].ID,
			OrganizationID: 1, UserID: j.UserID, TimeInQueueSeconds: queued,
			ProjectJobsRunningOnInstanceRunnersCount: "0",
		},
		GitInfo: payloadGitInfo{
			RepoURL: s.repoURL(pj.PathWithNamespace, token), RepoObjectFormat: "sha1", Ref: pl.Ref, Sha: pl.SHA,
			BeforeSha: zeroSHA, RefType: "branch", Depth: defaultGitDepth, Protected: &protected,
			Refspecs: []string{
				fmt.Sprintf("+refs/pipelines/%d:refs/pipelines/%d", pl.ID, pl.ID),
				fmt.Sprintf("+refs/heads/%s:refs/remotes/origin/%s", pl.Ref, pl.Ref),
			},
		},
		RunnerInfo:   payloadRunnerInfo{Timeout: j.Timeout},
		Variables:    s.jobVariablesLocked(j, rn, token),
		Steps:        steps,
		Image:        img,
		Services:     services,
		Artifacts:    []json.RawMessage{},
		Cache:        []json.RawMessage{},
		Credentials:  []payloadCredentials{},
		Dependencies: []json.RawMessage{},
		Features:     payloadFeatures{TraceSections: true, TokenMaskPrefixes: []string{}, FailureReasons: failureReasons},
		Hooks:        []json.RawMessage{},
	}
}

func imagePayload(img *ciImage) payloadImage {
	out := payloadImage{Name: img.Name, Alias: img.Alias, Command: img.Command, Entrypoint: img.Entrypoint,
		PullPolicy: img.PullPolicy}
	for _, v := range img.Variables {
		out.Variables = append(out.Variables, payloadVariable{Key: v.Key, Value: v.Value, Public: true, Raw: v.Raw})
	}
	return out
}

// repoURL is the clone URL with the job token as password, as GitLab
// builds it (Ci::Build#repo_url). The stand-in serves no repository: a job
// that fetches sources fails there, so jobs set GIT_STRATEGY: none.
func (s *Server) repoURL(fullPath, token string) string {
	u, err := url.Parse(s.cfg.ExternalURL)
	if err != nil {
		return ""
	}
	u.User = url.UserPassword("gitlab-ci-token", token)
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + fullPath + ".git"
	return u.String()
}

// slugRE is what CI_*_SLUG variables replace: anything but [a-z0-9].
var slugRE = regexp.MustCompile(`[^a-z0-9]`)

// slugify is GitLab's Gitlab::Utils.slugify: lower case, [^a-z0-9] to
// "-", at most 63 characters, no leading or trailing "-".
func slugify(s string) string {
	s = slugRE.ReplaceAllString(strings.ToLower(s), "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-")
}

// jobVariablesLocked are the variables a job receives, in GitLab's order
// (Ci::Build#variables): the job's persisted variables (id, token,
// repository), the predefined ones of the instance, project, pipeline,
// commit, user and runner, then the .gitlab-ci.yml variables (global ones
// overridden by the job's), then the pipeline's own variables. The runner
// uses the last variable of a name, so later ones win.
func (s *Server) jobVariablesLocked(j *job, rn *runner, token string) []payloadVariable {
	pl := s.pipelines[j.PipelineID]
	p := s.dir.projects[j.ProjectID]
	pj := s.projectJSON(p)
	g := s.dir.groups[p.GroupID]
	root := s.dir.ancestors(g)
	u := s.dir.users[j.UserID]
	ext, _ := url.Parse(s.cfg.ExternalURL)
	port := ext.Port()
	if port == "" {
		port = map[string]string{"https": "443"}[ext.Scheme]
		if port == "" {
			port = "80"
		}
	}
	major, minor, patch := versionParts(Version)

	var vars []payloadVariable
	add := func(key, value string) { vars = append(vars, payloadVariable{Key: key, Value: value, Public: true}) }
	secret := func(key, value string, masked bool) {
		vars = append(vars, payloadVariable{Key: key, Value: value, Masked: masked})
	}
	jobURL := pj.WebURL + "/-/jobs/" + strconv.FormatInt(j.ID, 10)

	// Persisted variables.
	add("CI_PIPELINE_ID", strconv.FormatInt(pl.ID, 10))
	add("CI_PIPELINE_URL", pj.WebURL+"/-/pipelines/"+strconv.FormatInt(pl.ID, 10))
	add("CI_JOB_ID", strconv.FormatInt(j.ID, 10))
	add("CI_JOB_URL", jobURL)
	secret("CI_JOB_TOKEN", token, true)
	started := ""
	if j.StartedAt != nil {
		started = j.StartedAt.UTC().Format(time.RFC3339)
	}
	add("CI_JOB_STARTED_AT", started)
	add("CI_REGISTRY_USER", "gitlab-ci-token")
	secret("CI_REGISTRY_PASSWORD", token, true)
	secret("CI_REPOSITORY_URL", s.repoURL(pj.PathWithNamespace, token), false)
	// Predefined variables of the job.
	add("CI_JOB_NAME", j.Spec.Name)
	add("CI_JOB_NAME_SLUG", slugify(j.Spec.Name))
	add("CI_JOB_STAGE", j.Spec.Stage)
	add("CI_NODE_TOTAL", "1")
	// Of the instance.
	add("CI", "true")
	add("GITLAB_CI", "true")
	add("CI_SERVER_FQDN", ext.Host)
	add("CI_SERVER_URL", s.cfg.ExternalURL)
	add("CI_SERVER_HOST", ext.Hostname())
	add("CI_SERVER_PORT", port)
	add("CI_SERVER_PROTOCOL", ext.Scheme)
	add("CI_SERVER_SHELL_SSH_HOST", ext.Hostname())
	add("CI_SERVER_SHELL_SSH_PORT", "22")
	add("CI_SERVER_NAME", "GitLab")
	add("CI_SERVER_VERSION", Version)
	add("CI_SERVER_VERSION_MAJOR", major)
	add("CI_SERVER_VERSION_MINOR", minor)
	add("CI_SERVER_VERSION_PATCH", patch)
	add("CI_SERVER_REVISION", Revision)
	add("GITLAB_FEATURES", "")
	add("CI_API_V4_URL", s.cfg.ExternalURL+"/api/v4")
	add("CI_API_GRAPHQL_URL", s.cfg.ExternalURL+"/api/graphql")
	// Of the project.
	add("CI_PROJECT_CONFIG_PATH", ".gitlab-ci.yml")
	add("CI_CONFIG_PATH", ".gitlab-ci.yml")
	add("CI_PROJECT_ID", strconv.FormatInt(p.ID, 10))
	add("CI_PROJECT_NAME", p.Path)
	add("CI_PROJECT_TITLE", p.Name)
	add("CI_PROJECT_DESCRIPTION", "")
	add("CI_PROJECT_PATH", pj.PathWithNamespace)
	add("CI_PROJECT_PATH_SLUG", slugify(pj.PathWithNamespace))
	add("CI_PROJECT_NAMESPACE", s.dir.fullPath(g))
	add("CI_PROJECT_NAMESPACE_ID", strconv.FormatInt(g.ID, 10))
	add("CI_PROJECT_NAMESPACE_SLUG", slugify(s.dir.fullPath(g)))
	add("CI_PROJECT_ROOT_NAMESPACE", root[len(root)-1].Path)
	add("CI_PROJECT_URL", pj.WebURL)
	add("CI_PROJECT_VISIBILITY", "private")
	add("CI_PROJECT_REPOSITORY_LANGUAGES", "")
	add("CI_PROJECT_CLASSIFICATION_LABEL", "")
	add("CI_DEFAULT_BRANCH", p.DefaultBranch)
	// Of the pipeline and its commit.
	add("CI_PIPELINE_IID", strconv.FormatInt(pl.IID, 10))
	add("CI_PIPELINE_SOURCE", pl.Source)
	add("CI_PIPELINE_CREATED_AT", pl.CreatedAt.UTC().Format(time.RFC3339))
	add("CI_COMMIT_SHA", pl.SHA)
	add("CI_COMMIT_SHORT_SHA", pl.SHA[:8])
	add("CI_COMMIT_BEFORE_SHA", zeroSHA)
	add("CI_COMMIT_REF_NAME", pl.Ref)
	add("CI_COMMIT_REF_SLUG", slugify(pl.Ref))
	add("CI_COMMIT_BRANCH", pl.Ref)
	add("CI_COMMIT_MESSAGE", commitTitle)
	add("CI_COMMIT_TITLE", commitTitle)
	add("CI_COMMIT_DESCRIPTION", "")
	add("CI_COMMIT_REF_PROTECTED", strconv.FormatBool(pl.Protected))
	add("CI_COMMIT_TIMESTAMP", pl.CreatedAt.UTC().Format(time.RFC3339))
	if u != nil {
		add("CI_COMMIT_AUTHOR", u.Name+" <"+u.Username+"@example.com>")
		add("GITLAB_USER_ID", strconv.FormatInt(u.ID, 10))
		add("GITLAB_USER_EMAIL", u.Username+"@example.com")
		add("GITLAB_USER_LOGIN", u.Username)
		add("GITLAB_USER_NAME", u.Name)
	}
	// Of the runner.
	add("CI_RUNNER_ID", strconv.FormatInt(rn.ID, 10))
	add("CI_RUNNER_DESCRIPTION", rn.Description)
	tags, _ := json.Marshal(rn.TagList)
	add("CI_RUNNER_TAGS", string(tags))
	// The .gitlab-ci.yml variables, then the pipeline's.
	for _, v := range j.Spec.Variables {
		vars = append(vars, payloadVariable{Key: v.Key, Value: v.Value, Public: true, Raw: v.Raw})
	}
	for _, v := range pl.Variables {
		vars = append(vars, payloadVariable{Key: v.Key, Value: v.Value, File: v.VariableType == "file"})
	}
	return vars
}

// versionParts splits "18.6.0-standin" into "18", "6", "0".
func versionParts(v string) (string, string, string) {
	v, _, _ = strings.Cut(v, "-")
	parts := append(strings.SplitN(v, ".", 3), "0", "0", "0")
	return parts[0], parts[1], parts[2]
}
