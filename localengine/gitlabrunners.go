package localengine

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/oauth2"
)

// gitlabRunners finds and deletes, for Recover, the runner a killed engine
// created, through GitLab's API with GitLab's official client.
//
// It looks within the fleet's own scope only: among the group's runners for
// a group runner, the project's for a project runner (a token that may list
// them: Maintainer of the group or project), the instance runners for an
// instance runner (an administrator's token).
//
// The token goes in the Authorization header (GitLab takes personal access
// tokens as Bearer tokens), and no redirect is followed at all: an API that
// redirects (http to https, a moved instance) is an error to fix in
// gitlab:baseUrl, and the token is never sent where the stack did not say.
type gitlabRunners struct {
	client *gitlab.Client
}

// noRedirects is the HTTP client under the API client.
var noRedirects = &http.Client{
	Timeout: 60 * time.Second,
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		return fmt.Errorf("GitLab redirected %s to %s: set gitlab:baseUrl to the address the API answers on (the token is not sent to a redirect)",
			via[0].URL.Redacted(), req.URL.Redacted())
	},
}

// newGitlabRunners reaches the API at baseURL (as gitlab:baseUrl; the
// client adds api/v4/ when it is missing).
func newGitlabRunners(baseURL, token string) (*gitlabRunners, error) {
	bearer := gitlab.OAuthTokenSource{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})}
	client, err := gitlab.NewAuthSourceClient(bearer, gitlab.WithBaseURL(baseURL), gitlab.WithHTTPClient(noRedirects), gitlab.WithoutRetries())
	if err != nil {
		return nil, fmt.Errorf("reaching GitLab at %s: %w", baseURL, err)
	}
	return &gitlabRunners{client: client}, nil
}

// perPage is the size of a page of runners.
const perPage = 100

// find lists the candidates for the pending runner p: its type and
// description, in its group, project or the instance, not in the state.
func (g *gitlabRunners) find(ctx context.Context, p PendingCreate) ([]int64, error) {
	description, _ := p.Inputs["description"].(string)
	runnerType, _ := p.Inputs["runnerType"].(string)
	if description == "" {
		return nil, fmt.Errorf("the runner has no description to look it up by")
	}
	var owner int64
	var list func(page int64) ([]*gitlab.Runner, error)
	options := gitlab.ListOptions{PerPage: perPage}
	runners := g.client.Runners
	switch runnerType {
	case "group_type", "project_type":
		key := "groupId"
		if runnerType == "project_type" {
			key = "projectId"
		}
		n, ok := p.Inputs[key].(float64)
		if !ok || n <= 0 || n != float64(int64(n)) {
			return nil, fmt.Errorf("the %s runner has no %s to look it up in", runnerType, key)
		}
		owner = int64(n)
		list = func(page int64) ([]*gitlab.Runner, error) {
			options.Page = page
			if runnerType == "group_type" {
				r, _, err := runners.ListGroupsRunners(owner, &gitlab.ListGroupsRunnersOptions{ListOptions: options, Type: &runnerType}, gitlab.WithContext(ctx))
				return r, err
			}
			r, _, err := runners.ListProjectRunners(owner, &gitlab.ListProjectRunnersOptions{ListOptions: options, Type: &runnerType}, gitlab.WithContext(ctx))
			return r, err
		}
	case "instance_type":
		list = func(page int64) ([]*gitlab.Runner, error) {
			options.Page = page
			r, _, err := runners.ListAllRunners(&gitlab.ListRunnersOptions{ListOptions: options, Type: &runnerType}, gitlab.WithContext(ctx))
			return r, err
		}
	default:
		return nil, fmt.Errorf("the runner's type %q is not one GitLab knows", runnerType)
	}
	var found []int64
	for page := int64(1); ; page++ {
		listed, err := list(page)
		if err != nil {
			return nil, err
		}
		for _, r := range listed {
			if r.Description != description || r.RunnerType != runnerType || slices.Contains(p.Recorded, fmt.Sprint(r.ID)) {
				continue
			}
			// A group's list holds its ancestors' runners too: only the
			// runner of the fleet's own group or project is its.
			if owner != 0 {
				d, _, err := runners.GetRunnerDetails(r.ID, gitlab.WithContext(ctx))
				if err != nil {
					return nil, err
				}
				if !ownedBy(d, owner) {
					continue
				}
			}
			found = append(found, r.ID)
		}
		if len(listed) < perPage {
			return found, nil
		}
	}
}

// ownedBy reports whether the runner details d are those of a runner of
// group or project owner.
func ownedBy(d *gitlab.RunnerDetails, owner int64) bool {
	switch d.RunnerType {
	case "group_type":
		return slices.ContainsFunc(d.Groups, func(g gitlab.RunnerDetailsGroup) bool { return g.ID == owner })
	case "project_type":
		return slices.ContainsFunc(d.Projects, func(p gitlab.RunnerDetailsProject) bool { return p.ID == owner })
	}
	return false
}

// delete deletes runner id in GitLab.
func (g *gitlabRunners) delete(ctx context.Context, id int64) error {
	_, err := g.client.Runners.DeleteRegisteredRunnerByID(id, gitlab.WithContext(ctx))
	return err
}
