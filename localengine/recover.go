package localengine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

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
	var out []PendingCreate
	for _, op := range state.PendingOperations {
		if op.Type == "creating" {
			out = append(out, PendingCreate{URN: op.Resource.URN, Type: op.Resource.Type, Inputs: op.Resource.Inputs})
		}
	}
	return out, nil
}

// ProjectCleaner cleans up after this program's resources. Kubernetes objects
// need nothing: the next up applies them again. A runner is looked up in
// GitLab by description and type through the API at baseURL (…/api/v4/),
// which must let token list all runners (an administrator's token, or the
// stand-in's), and deleted.
func ProjectCleaner(baseURL, token string) Cleaner {
	api := strings.TrimSuffix(baseURL, "/")
	return func(ctx context.Context, p PendingCreate) (string, error) {
		switch {
		case strings.HasPrefix(p.Type, "kubernetes:"):
			return "the next up applies it again", nil
		case p.Type == "gitlab:index/userRunner:UserRunner":
			ids, err := findRunners(ctx, api, token, p.Inputs)
			if err != nil {
				return "", err
			}
			if len(ids) > 1 {
				return "", fmt.Errorf("GitLab holds %d runners with this description (ids %v); delete the ones not in use, then recover again", len(ids), ids)
			}
			if len(ids) == 0 {
				return "never created in GitLab", nil
			}
			if err := gitlabCall(ctx, http.MethodDelete, api+"/runners/"+fmt.Sprint(ids[0]), token, nil); err != nil {
				return "", err
			}
			return fmt.Sprintf("deleted runner %d in GitLab (its token was lost with the engine)", ids[0]), nil
		default:
			return "", fmt.Errorf("no way to clean up a %s", p.Type)
		}
	}
}

func findRunners(ctx context.Context, api, token string, inputs map[string]any) ([]int, error) {
	description, _ := inputs["description"].(string)
	runnerType, _ := inputs["runnerType"].(string)
	if description == "" {
		return nil, fmt.Errorf("the runner has no description to look it up by")
	}
	var found []int
	for page := 1; ; page++ {
		query := url.Values{"type": {runnerType}, "per_page": {"100"}, "page": {fmt.Sprint(page)}}
		var runners []struct {
			ID          int    `json:"id"`
			Description string `json:"description"`
			RunnerType  string `json:"runner_type"`
		}
		if err := gitlabCall(ctx, http.MethodGet, api+"/runners/all?"+query.Encode(), token, &runners); err != nil {
			return nil, err
		}
		for _, r := range runners {
			if r.Description == description && (runnerType == "" || r.RunnerType == runnerType) {
				found = append(found, r.ID)
			}
		}
		if len(runners) < 100 {
			return found, nil
		}
	}
}

// gitlabCall sends one request; out, when not nil, receives the JSON answer.
func gitlabCall(ctx context.Context, method, u, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("GitLab answered %s %s with %s", method, req.URL.Path, resp.Status)
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
