package localengine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
)

// Recovery after the engine was killed in the middle of an update (SIGKILL,
// a crashed machine). An interrupted engine (SIGINT, Ctrl-C) cleans up by
// itself; a killed one leaves two things behind:
//
//   - the stack's lock, so every later command fails with "the stack is
//     currently locked";
//   - pending creates: resources whose create had started. The object may or
//     may not exist.
//
// A runner whose create was cut off cannot be adopted: GitLab shows a
// runner's token only once, in the answer the killed engine never recorded.
// So Recover deletes such a runner in GitLab (nothing can use it) before it
// drops the pending creates; the next up creates a fresh runner and adopts or
// recreates the Kubernetes objects, so nothing is left twice.

// PendingCreate is a resource whose create was cut off.
type PendingCreate struct {
	URN    string
	Type   string
	Inputs map[string]any
	// Recorded are the ids of the resources of the same type that the state
	// holds: live objects (a runner being replaced keeps its description),
	// which a cleaner must leave alone.
	Recorded []string
}

// Cleaner removes what a cut-off create may have left behind and says what
// it did, so that dropping the pending create orphans nothing.
type Cleaner func(ctx context.Context, p PendingCreate) (string, error)

// Recover makes a stack whose engine was killed usable again.
func Recover(ctx context.Context, stack auto.Stack, clean Cleaner, out io.Writer) error {
	// Removes the killed engine's lock; it fails when there is none, which is fine.
	if err := stack.Cancel(ctx); err != nil {
		fmt.Fprintf(out, "no lock to remove (%v)\n", strings.TrimSpace(firstLine(err.Error())))
	}
	pending, err := PendingCreates(ctx, stack)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		fmt.Fprintln(out, "no pending creates")
		return nil
	}
	for _, p := range pending {
		done, err := clean(ctx, p)
		if err != nil {
			return fmt.Errorf("cleaning up after the cut-off create of %s: %w", p.URN, err)
		}
		fmt.Fprintf(out, "%s: %s\n", p.URN, done)
	}
	_, err = stack.Refresh(ctx, optrefresh.ClearPendingCreates(), optrefresh.ProgressStreams(out))
	return err
}

// PendingCreates lists the stack's pending creates.
func PendingCreates(ctx context.Context, stack auto.Stack) ([]PendingCreate, error) {
	deployment, err := stack.Export(ctx)
	if err != nil {
		return nil, err
	}
	var state struct {
		Resources []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"resources"`
		PendingOperations []struct {
			Type     string `json:"type"`
			Resource struct {
				URN    string         `json:"urn"`
				Type   string         `json:"type"`
				Inputs map[string]any `json:"inputs"`
			} `json:"resource"`
		} `json:"pending_operations"`
	}
	if err := json.Unmarshal(deployment.Deployment, &state); err != nil {
		return nil, fmt.Errorf("reading the stack's state: %w", err)
	}
	recorded := map[string][]string{}
	for _, r := range state.Resources {
		if r.ID != "" {
			recorded[r.Type] = append(recorded[r.Type], r.ID)
		}
	}
	var out []PendingCreate
	for _, op := range state.PendingOperations {
		if op.Type == "creating" {
			out = append(out, PendingCreate{URN: op.Resource.URN, Type: op.Resource.Type, Inputs: op.Resource.Inputs,
				Recorded: recorded[op.Resource.Type]})
		}
	}
	return out, nil
}

// ProjectCleaner cleans up after this program's resources. Kubernetes objects
// need nothing: the next up applies them again. A runner is looked up in
// GitLab within the fleet's own scope, through the API at baseURL (as
// gitlab:baseUrl, .../api/v4/): among the group's runners for a group
// runner, the project's for a project runner (a token that may list them:
// Maintainer of the group or project), the instance runners for an instance
// runner (an administrator's token). It is the runner of that scope with the
// fleet's description that the state does not hold, and it is deleted.
func ProjectCleaner(baseURL, token string) Cleaner {
	api := apiBase(baseURL)
	return func(ctx context.Context, p PendingCreate) (string, error) {
		switch {
		case strings.HasPrefix(p.Type, "kubernetes:"):
			return "the next up applies it again", nil
		case p.Type == "gitlab:index/userRunner:UserRunner":
			c := &gitlabClient{api: api, token: token}
			ids, err := c.findRunners(ctx, p)
			if err != nil {
				return "", err
			}
			if len(ids) > 1 {
				return "", fmt.Errorf("GitLab holds %d runners with this description that the stack does not know (ids %v); delete the ones not in use, then recover again", len(ids), ids)
			}
			if len(ids) == 0 {
				return "never created in GitLab", nil
			}
			if err := c.call(ctx, http.MethodDelete, fmt.Sprintf("runners/%d", ids[0]), nil); err != nil {
				return "", err
			}
			return fmt.Sprintf("deleted runner %d in GitLab (its token was lost with the engine)", ids[0]), nil
		default:
			return "", fmt.Errorf("no way to clean up a %s", p.Type)
		}
	}
}

// apiBase completes baseUrl as GitLab's client does: a trailing slash, and
// api/v4/ when missing.
func apiBase(baseURL string) string {
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	if !strings.HasSuffix(baseURL, "/api/v4/") {
		baseURL += "api/v4/"
	}
	return baseURL
}

// runnerListed is what the lists and the details of a runner give.
type runnerListed struct {
	ID          int64    `json:"id"`
	Description string   `json:"description"`
	RunnerType  string   `json:"runner_type"`
	Groups      []withID `json:"groups"`
	Projects    []withID `json:"projects"`
}

type withID struct {
	ID int64 `json:"id"`
}

// findRunners lists the candidates for the pending runner p: its type and
// description, in its group, project or the instance, not in the state.
func (c *gitlabClient) findRunners(ctx context.Context, p PendingCreate) ([]int64, error) {
	description, _ := p.Inputs["description"].(string)
	runnerType, _ := p.Inputs["runnerType"].(string)
	if description == "" {
		return nil, fmt.Errorf("the runner has no description to look it up by")
	}
	var list string
	var owner int64
	switch runnerType {
	case "group_type", "project_type":
		key, path := "groupId", "groups/%d/runners"
		if runnerType == "project_type" {
			key, path = "projectId", "projects/%d/runners"
		}
		n, ok := p.Inputs[key].(float64)
		if !ok || n <= 0 || n != float64(int64(n)) {
			return nil, fmt.Errorf("the %s runner has no %s to look it up in", runnerType, key)
		}
		owner = int64(n)
		list = fmt.Sprintf(path, owner)
	case "instance_type":
		list = "runners/all"
	default:
		return nil, fmt.Errorf("the runner's type %q is not one GitLab knows", runnerType)
	}
	var found []int64
	for page := 1; ; page++ {
		query := url.Values{"type": {runnerType}, "per_page": {"100"}, "page": {fmt.Sprint(page)}}
		var runners []runnerListed
		if err := c.call(ctx, http.MethodGet, list+"?"+query.Encode(), &runners); err != nil {
			return nil, err
		}
		for _, r := range runners {
			if r.Description != description || r.RunnerType != runnerType || slices.Contains(p.Recorded, fmt.Sprint(r.ID)) {
				continue
			}
			// A group's list holds its ancestors' runners too: only the
			// runner of the fleet's own group or project is its.
			if owner != 0 {
				var d runnerListed
				if err := c.call(ctx, http.MethodGet, fmt.Sprintf("runners/%d", r.ID), &d); err != nil {
					return nil, err
				}
				if !ownedBy(d, owner) {
					continue
				}
			}
			found = append(found, r.ID)
		}
		if len(runners) < 100 {
			return found, nil
		}
	}
}

// ownedBy reports whether the runner details d are those of a runner of
// group or project owner.
func ownedBy(d runnerListed, owner int64) bool {
	is := func(x withID) bool { return x.ID == owner }
	switch d.RunnerType {
	case "group_type":
		return slices.ContainsFunc(d.Groups, is)
	case "project_type":
		return slices.ContainsFunc(d.Projects, is)
	}
	return false
}

// gitlabClient calls GitLab's API for Recover. The token goes in the
// Authorization header (GitLab takes personal access tokens as Bearer
// tokens), which Go's client drops on a redirect to another host, and no
// redirect is followed at all: an API that redirects (http to https, a moved
// instance) is an error to fix in gitlab:baseUrl, and the token is never
// sent where the stack did not say.
type gitlabClient struct {
	api   string
	token string
}

var noRedirects = &http.Client{
	Timeout: 60 * time.Second,
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		return fmt.Errorf("GitLab redirected %s to %s: set gitlab:baseUrl to the address the API answers on (the token is not sent to a redirect)",
			via[0].URL.Redacted(), req.URL.Redacted())
	},
}

// call sends one request; out, when not nil, receives the JSON answer.
func (c *gitlabClient) call(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := noRedirects.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GitLab answered %s %s with %s %s", method, req.URL.Path, resp.Status, strings.TrimSpace(string(body)))
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
