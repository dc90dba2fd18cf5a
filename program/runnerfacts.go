package program

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/glrf/gitlab-runner-fleet/components/entrypoint"
	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// Outputs the program adds to each fleet's, from GitLab (see runnerFacts).
const (
	runnerIDOutput       = "runnerId"
	runnerURLOutput      = "runnerUrl"
	tokenExpiresAtOutput = "tokenExpiresAt"
	// tokenNeverExpires is tokenExpiresAt for a token GitLab sets no expiry
	// for (its token_expires_at is null).
	tokenNeverExpires = "never"
)

// runnerFacts are what GitLab says about a fleet's runner beyond the
// UserRunner's outputs, for the stack outputs: its page in GitLab's web UI
// (runnerUrl) and when its token expires (tokenExpiresAt), and the runner's
// id for a fleet with an existing token.
//
// The token's expiry is in none of the gitlab provider's outputs, and
// GitLab's API shows it only to the token's holder: POST /runners/verify
// (as a manager does at start) answers the runner's id and
// token_expires_at. The program asks with the system id of the fleet's
// first manager pod, so GitLab records no manager that does not exist (a
// verify without one adds a "<legacy>" manager); for a token GitLab gave
// (glrt-) a verify does not count as a contact, so the runner's and that
// manager's contacted_at are untouched.
//
// The page: GitLab's routes are /admin/runners/:id for an instance runner,
// /groups/<group path>/-/runners/:id and /<project path>/-/runners/:id; the
// group's and project's paths come from the runner's details (GET
// /runners/:id, which the provider's token may read).
//
// Each is known in previews as in `up` (once the runner exists), so that a
// preview that changes nothing shows no changed output. A fact GitLab
// cannot give is "", with a warning saying why; the token of an existing
// Secret (tokenSecret) is never seen by the stack, so its fleet's three are
// always "".
func (o Options) runnerFacts(ctx *pulumi.Context, g *gitlabSession, f *fleet.RunnerFleet, s settings.FleetSettings) pulumi.StringMapOutput {
	token, ok := f.RunnerToken()
	if !ok || g == nil || g.client == nil { // GitLab cannot be asked: warned once by checkGitlab
		return pulumi.StringMap{runnerIDOutput: f.RunnerID, runnerURLOutput: pulumi.String(""), tokenExpiresAtOutput: pulumi.String("")}.ToStringMapOutput()
	}
	facts := pulumi.All(f.RunnerID, token, f.Namespace, f.StatefulSetName).ApplyT(func(v []any) map[string]string {
		runnerID, token, namespace, statefulSet := v[0].(string), v[1].(string), v[2].(string), v[3].(string)
		out := map[string]string{runnerIDOutput: runnerID, runnerURLOutput: "", tokenExpiresAtOutput: ""}
		warn := func(format string, args ...any) {
			_ = ctx.Log.Warn(fmt.Sprintf("fleet %s: "+format, append([]any{s.Name}, args...)...), &pulumi.LogArgs{Resource: f})
		}
		verified, err := g.verify(token, entrypoint.SystemID(namespace, statefulSet+"-0"))
		switch {
		case err != nil:
			warn("its token's expiry is not known: %s", redact(err.Error(), append(g.access.secrets(), token)))
		case verified.ExpiresAt == nil:
			out[tokenExpiresAtOutput] = tokenNeverExpires
		default:
			out[tokenExpiresAtOutput] = verified.ExpiresAt.UTC().Format(time.RFC3339)
		}
		if runnerID == "" && err == nil {
			out[runnerIDOutput] = strconv.FormatInt(verified.ID, 10)
		}
		id, err := strconv.ParseInt(out[runnerIDOutput], 10, 64)
		if err != nil {
			return out // the runner is not known: warned above
		}
		page, err := g.runnerPage(id)
		if err != nil {
			warn("the runner's page is not known: %s", redact(err.Error(), append(g.access.secrets(), token)))
		}
		out[runnerURLOutput] = page
		return out
	}).(pulumi.StringMapOutput)
	// The facts hold no secret, but were read with the token.
	return pulumi.Unsecret(facts).(pulumi.StringMapOutput)
}

// verified is POST /runners/verify's answer.
type verified struct {
	ID        int64      `json:"id"`
	ExpiresAt *time.Time `json:"token_expires_at"`
}

// verify asks GitLab about a runner token as its manager systemID would.
// The token goes in the body, as the runner sends it; the API token is not
// sent.
func (g *gitlabSession) verify(token, systemID string) (verified, error) {
	var out verified
	body, err := json.Marshal(map[string]string{"token": token, "system_id": systemID})
	if err != nil {
		return out, err
	}
	endpoint := g.apiURL() + "runners/verify"
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/json")
	client, err := g.access.httpClient()
	if err != nil {
		return out, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return out, fmt.Errorf("POST %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusForbidden:
		return out, fmt.Errorf("GitLab refuses the runner's token (POST %s: 403): it expired, or its runner was deleted; `pulumi refresh` then `up` makes a new runner", endpoint)
	case resp.StatusCode != http.StatusOK:
		return out, fmt.Errorf("POST %s: %s", endpoint, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, fmt.Errorf("POST %s: %w", endpoint, err)
	}
	return out, nil
}

// apiURL is baseUrl with api/v4/, as client-go completes it.
func (g *gitlabSession) apiURL() string {
	base := strings.TrimSuffix(g.access.BaseURL, "/")
	if !strings.HasSuffix(base, "/api/v4") {
		base += "/api/v4"
	}
	return base + "/"
}

// runnerPage is the runner's page in GitLab's web UI.
func (g *gitlabSession) runnerPage(id int64) (string, error) {
	d, _, err := g.client.Runners.GetRunnerDetails(id, gitlab.WithContext(context.Background()))
	if err != nil {
		return "", fmt.Errorf("GET /runners/%d: %w", id, err)
	}
	return runnerPageURL(g.access.WebURL(), d), nil
}

// runnerPageURL is a runner's page by GitLab's routes, from its details and
// GitLab's web address.
func runnerPageURL(web string, d *gitlab.RunnerDetails) string {
	switch {
	case d.RunnerType == "group_type" && len(d.Groups) > 0 && d.Groups[0].WebURL != "":
		return fmt.Sprintf("%s/-/runners/%d", strings.TrimSuffix(d.Groups[0].WebURL, "/"), d.ID)
	case d.RunnerType == "project_type" && len(d.Projects) > 0:
		return fmt.Sprintf("%s%s/-/runners/%d", web, d.Projects[0].PathWithNamespace, d.ID)
	case d.RunnerType == "instance_type":
		return fmt.Sprintf("%sadmin/runners/%d", web, d.ID)
	}
	return ""
}
