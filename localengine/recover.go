package localengine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
)

// PendingCreate is a resource whose create was cut off.
//
// Recovery after the engine was killed in the middle of an update (SIGKILL,
// a crashed machine): an interrupted engine (SIGINT, Ctrl-C) cleans up by
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
// gitlab:baseUrl, .../api/v4/; see gitlabRunners), and the runner of that
// scope with the fleet's description that the state does not hold is
// deleted.
func ProjectCleaner(baseURL, token string) Cleaner {
	return func(ctx context.Context, p PendingCreate) (string, error) {
		switch {
		case strings.HasPrefix(p.Type, "kubernetes:"):
			return "the next up applies it again", nil
		case p.Type == "gitlab:index/userRunner:UserRunner":
			runners, err := newGitlabRunners(baseURL, token)
			if err != nil {
				return "", err
			}
			ids, err := runners.find(ctx, p)
			if err != nil {
				return "", err
			}
			if len(ids) > 1 {
				return "", fmt.Errorf("GitLab holds %d runners with this description that the stack does not know (ids %v); delete the ones not in use, then recover again", len(ids), ids)
			}
			if len(ids) == 0 {
				return "never created in GitLab", nil
			}
			if err := runners.delete(ctx, ids[0]); err != nil {
				return "", err
			}
			return fmt.Sprintf("deleted runner %d in GitLab (its token was lost with the engine)", ids[0]), nil
		default:
			return "", fmt.Errorf("no way to clean up a %s", p.Type)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
