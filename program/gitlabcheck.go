package program

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// gitlabSession is the program's own connection to GitLab for one run: nil
// client when there is no token or GitLab cannot be reached (then nothing
// the program reads from GitLab is known, and checkGitlab said so).
type gitlabSession struct {
	access GitlabAccess
	client *gitlab.Client
}

// GitLab's access levels (Developer 30, Maintainer 40, Owner 50).
const (
	accessMaintainer = 40
	accessOwner      = 50
)

// checkGitlab asks GitLab, before anything is registered (in previews and
// in `up` alike), whether each runner the stack creates can be created:
// that its group or project exists and the token's user may create a
// runner there (a group's Owner, a project's Maintainer, an administrator
// for an instance runner), and that the token carries the scopes the gitlab
// provider needs. Otherwise `up` would fail half-way, after the runners GitLab
// accepted and their Kubernetes objects were created. A wrong setting is an
// error; a GitLab that cannot be reached is a warning, like an unreachable
// cluster: the provider then meets the problem itself.
//
// It asks with the calls the provider's own minimal token may make
// (create_runner, manage_runner, read_user): GET /user, and the runner list
// of each group or project (GET /groups/:id/runners, which GitLab answers
// 404 for a group the user cannot see and 403 for one whose runners the user
// may not manage). A group's Maintainer may list its runners but not create
// one; with a token that may read members (read_api or api) the program
// asks for the user's role too (GET /groups/:id/members/all/:user_id).
func (o Options) checkGitlab(ctx *pulumi.Context, stack *Stack) (*gitlabSession, settings.Problems) {
	var ps settings.Problems
	access, err := gitlabAccessOf(ctx, o.getenv)
	if err != nil {
		ps.Add("gitlab", "%v", err)
		return nil, ps
	}
	session := &gitlabSession{access: access}
	if access.Token == "" {
		_ = ctx.Log.Warn("the groups, projects and rights the fleets name are not checked, and the runners' pages and tokens' expiry not read (outputs runnerUrl, tokenExpiresAt): "+
			"no GitLab token (gitlab:token or GITLAB_TOKEN) to ask GitLab with", nil)
		return session, nil
	}
	client, err := o.gitlabClient(access)
	if err != nil {
		ps.Add("gitlab", "%s", redact(err.Error(), access.secrets()))
		return nil, ps
	}
	c := &gitlabChecker{ctx: context.Background(), client: client, access: access}
	ps, unreachable := c.check(stack)
	if len(c.unchecked) > 0 {
		_ = ctx.Log.Warn(fmt.Sprintf("the token's scopes do not let the program list the runners of %s, so it cannot check the user's rights there before creating anything; "+
			"`up` gets GitLab's own answer when it creates the runner (a token with read_api as well lets the program check first)",
			strings.Join(c.unchecked, ", ")), nil)
	}
	if unreachable != nil {
		_ = ctx.Log.Warn(fmt.Sprintf("cannot reach GitLab at %s to check the groups, projects and rights the fleets name, nor to read the runners' pages and tokens' expiry (%s); `up` meets any problem there itself",
			access.BaseURL, redact(unreachable.Error(), access.secrets())), nil)
		return session, nil
	}
	session.client = client
	return session, ps
}

// defaultGitlabBaseURL is the provider's default baseUrl (GitLab.com).
const defaultGitlabBaseURL = "https://gitlab.com/api/v4/"

func (s *Stack) managesRunners() bool {
	for _, p := range s.Plans {
		if p.Settings.ManagesRunner() {
			return true
		}
	}
	return false
}

// gitlabChecker holds one check's connection and what it learnt.
type gitlabChecker struct {
	ctx    context.Context
	client *gitlab.Client
	access GitlabAccess
	user   *gitlab.User
	// unchecked are the groups and projects whose runners the token's
	// scopes do not let the program list (see scopeLimited).
	unchecked []string
}

// check returns the problems of the stack's runners in GitLab, or the error
// that kept it from asking.
func (c *gitlabChecker) check(stack *Stack) (settings.Problems, error) {
	var ps settings.Problems
	if !stack.managesRunners() {
		return nil, nil
	}
	user, _, err := c.client.Users.CurrentUser(gitlab.WithContext(c.ctx))
	switch {
	case err == nil:
		c.user = user
	case unreachable(err):
		return nil, err
	case gitlab.HasStatusCode(err, http.StatusUnauthorized):
		ps.Add("gitlab:token", "GitLab at %s refuses it (401 Unauthorized): it is wrong, expired or revoked; set a valid token with `pulumi config set --secret gitlab:token <token>` (or GITLAB_TOKEN)", c.access.BaseURL)
		return ps, nil
	case insufficientScope(err):
		if c.access.EarlyAuthCheck {
			ps.Add("gitlab:token", "lacks the read_user scope (or read_api, api) that the gitlab provider's authentication check needs (gitlab:earlyAuthCheck); "+
				"use a token with the scopes create_runner, manage_runner and read_user")
			return ps, nil
		}
	default:
		return nil, err
	}
	scopeReported := false
	seen := map[string]bool{}
	for i, p := range stack.Plans {
		s := p.Settings
		if !s.ManagesRunner() {
			continue
		}
		path := settings.FleetPath(i, s.Name) + ".runner"
		key := fmt.Sprintf("%s/%d/%d", s.Runner.Type, s.Runner.GroupID, s.Runner.ProjectID)
		if seen[key] {
			continue // the same group or project answers the same for every fleet
		}
		seen[key] = true
		problem, err := c.checkRunner(path, s.Runner)
		if err != nil {
			return nil, err
		}
		if problem == nil {
			continue
		}
		if problem.Path == "gitlab:token" {
			if scopeReported {
				continue
			}
			scopeReported = true
		}
		ps = append(ps, *problem)
	}
	return ps, nil
}

// checkRunner checks that the token's user may create runner r.
func (c *gitlabChecker) checkRunner(path string, r settings.RunnerSettings) (*settings.Problem, error) {
	who := "the token's user"
	if c.user != nil {
		who = fmt.Sprintf("the token's user (%s)", c.user.Username)
		if c.user.IsAdmin {
			who = fmt.Sprintf("the token's user (%s, an administrator)", c.user.Username)
		}
	}
	problem := func(at, format string, args ...any) *settings.Problem {
		return &settings.Problem{Path: at, Message: fmt.Sprintf(format, args...)}
	}
	one := &gitlab.ListOptions{PerPage: 1}
	switch r.Type {
	case "instance_type":
		if c.user != nil && !c.user.IsAdmin {
			return problem(path+".type", "is instance_type, but creating an instance runner needs an administrator's token, and %s is not one; "+
				"use a group_type or project_type runner, or an administrator's token in gitlab:token", who), nil
		}
		return nil, nil
	case "group_type":
		_, _, err := c.client.Runners.ListGroupsRunners(r.GroupID, &gitlab.ListGroupsRunnersOptions{ListOptions: *one}, gitlab.WithContext(c.ctx))
		switch {
		case err == nil:
		case unreachable(err):
			return nil, err
		case insufficientScope(err):
			c.scopeLimited(fmt.Sprintf("group %d", r.GroupID))
			return nil, nil
		case gitlab.HasStatusCode(err, http.StatusNotFound):
			return problem(path+".groupId", "GitLab has no group %d that %s can see: it does not exist, or the user is not a member of it; "+
				"fix the id, or use a token of the group's Owner in gitlab:token", r.GroupID, who), nil
		case gitlab.HasStatusCode(err, http.StatusForbidden):
			return problem(path+".groupId", "%s may not manage the runners of group %d: creating a group runner needs the group's Owner role (or an administrator); "+
				"use such a token in gitlab:token", who, r.GroupID), nil
		default:
			return problem(path+".groupId", "GitLab refused to show group %d's runners: %s", r.GroupID, redact(err.Error(), c.access.secrets())), nil
		}
		if c.user == nil || c.user.IsAdmin {
			return nil, nil
		}
		// Listing needs a Maintainer, creating an Owner: ask for the role
		// when the token may read members; without that scope, `up` tells.
		member, _, err := c.client.GroupMembers.GetInheritedGroupMember(r.GroupID, c.user.ID, gitlab.WithContext(c.ctx))
		if err == nil && member.AccessLevel < accessOwner {
			return problem(path+".groupId", "%s is a %s of group %d, but creating a group runner needs the Owner role; use a token of the group's Owner in gitlab:token",
				who, roleName(member.AccessLevel), r.GroupID), nil
		}
		return nil, nil
	case "project_type":
		_, _, err := c.client.Runners.ListProjectRunners(r.ProjectID, &gitlab.ListProjectRunnersOptions{ListOptions: *one}, gitlab.WithContext(c.ctx))
		switch {
		case err == nil:
			return nil, nil // listing and creating both need a Maintainer
		case unreachable(err):
			return nil, err
		case insufficientScope(err):
			c.scopeLimited(fmt.Sprintf("project %d", r.ProjectID))
			return nil, nil
		case gitlab.HasStatusCode(err, http.StatusNotFound):
			return problem(path+".projectId", "GitLab has no project %d that %s can see: it does not exist, or the user is not a member of it; "+
				"fix the id, or use a token of one of the project's Maintainers in gitlab:token", r.ProjectID, who), nil
		case gitlab.HasStatusCode(err, http.StatusForbidden):
			return problem(path+".projectId", "%s may not manage the runners of project %d: creating a project runner needs the project's Maintainer role (or an administrator); "+
				"use such a token in gitlab:token", who, r.ProjectID), nil
		default:
			return problem(path+".projectId", "GitLab refused to show project %d's runners: %s", r.ProjectID, redact(err.Error(), c.access.secrets())), nil
		}
	}
	return nil, nil // an unknown type is reported by the settings' checks
}

// scopeLimited records a group or project the check could not ask about.
// Which scopes may list a group's or project's runners is not the same in
// every model of GitLab this project has (the local stand-in asks for api or
// read_api, as its docs say; GitLab's newer manage_runner scope may be
// enough): a token the provider can use must never be refused for it, so
// the check says what it could not see and leaves the answer to GitLab.
func (c *gitlabChecker) scopeLimited(what string) {
	c.unchecked = append(c.unchecked, what)
}

// unreachable reports an error that says nothing about the settings.
func unreachable(err error) bool {
	var answer *gitlab.ErrorResponse
	if !errors.As(err, &answer) {
		return true // no answer: a network error, a timeout, a redirect
	}
	return answer.StatusCode >= 500 || answer.StatusCode == http.StatusTooManyRequests
}

// insufficientScope reports GitLab's answer to a token without the scope a
// call needs.
func insufficientScope(err error) bool {
	var answer *gitlab.ErrorResponse
	return errors.As(err, &answer) && answer.StatusCode == http.StatusForbidden && strings.Contains(string(answer.Body), "insufficient_scope")
}

func roleName(level gitlab.AccessLevelValue) string {
	switch {
	case level >= accessOwner:
		return "Owner"
	case level >= accessMaintainer:
		return "Maintainer"
	case level >= 30:
		return "Developer"
	case level >= 20:
		return "Reporter"
	}
	return "Guest"
}
