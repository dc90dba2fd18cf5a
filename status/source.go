package status

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"k8s.io/client-go/kubernetes"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/program"
)

// Stack is what status needs of a stack: its outputs and settings.
type Stack struct {
	// Outputs are the stack outputs (the `fleets` output is read).
	Outputs map[string]any
	// Config are the stack's settings by full key, secrets in plain text
	// (`pulumi config --show-secrets`).
	Config map[string]string
	// Getenv is the environment of whoever runs status (default: none).
	Getenv func(string) string
}

// FromStack reads a stack's outputs and settings through the Automation
// API; env is the environment the stack's providers get (KUBECONFIG,
// GITLAB_TOKEN), before the process's own.
func FromStack(ctx context.Context, stack auto.Stack, getenv func(string) string) (Stack, error) {
	outputs, err := stack.Outputs(ctx)
	if err != nil {
		return Stack{}, fmt.Errorf("reading the stack's outputs: %w", err)
	}
	config, err := stack.GetAllConfig(ctx)
	if err != nil {
		return Stack{}, fmt.Errorf("reading the stack's settings: %w", err)
	}
	s := Stack{Outputs: map[string]any{}, Config: map[string]string{}, Getenv: getenv}
	for k, v := range outputs {
		s.Outputs[k] = v.Value
	}
	for k, v := range config {
		s.Config[k] = v.Value
	}
	return s, nil
}

// Targets are the fleets the stack's last `up` output (fleets.<name>).
func (s Stack) Targets() ([]Target, error) {
	fleets, ok := s.Outputs["fleets"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the stack has no fleets output: run `up` first")
	}
	var out []Target
	for _, name := range slices.Sorted(maps.Keys(fleets)) {
		f, _ := fleets[name].(map[string]any)
		str := func(key string) string { v, _ := f[key].(string); return v }
		t := Target{Fleet: name, Cluster: str("cluster"), Namespace: str("namespace"), StatefulSet: str("statefulSetName"),
			RunnerURL: str("runnerUrl"), TokenExpiresAt: str("tokenExpiresAt")}
		if t.Namespace == "" || t.StatefulSet == "" {
			return nil, fmt.Errorf("fleets.%s lacks its namespace or statefulSetName: run `up` first", name)
		}
		if id := str("runnerId"); id != "" {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("fleets.%s.runnerId %q is not a runner id", name, id)
			}
			t.RunnerID = n
		}
		out = append(out, t)
	}
	return out, nil
}

// Sources reach the stack's clusters and GitLab as the program does: the
// default cluster through kubernetes:kubeconfig and kubernetes:context (else
// KUBECONFIG), a named cluster through its kubeconfig setting and context;
// GitLab with the gitlab provider's settings (gitlab:baseUrl, gitlab:token or
// GITLAB_TOKEN, ...).
func (s Stack) Sources() (Sources, error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	get := func(key string) string { return s.Config[key] }
	accesses := map[string]program.KubeAccess{
		"": {Kubeconfig: cmp.Or(get("kubernetes:kubeconfig"), getenv("KUBECONFIG")), Context: get("kubernetes:context")},
	}
	if raw := get(program.Project + ":clusters"); raw != "" && raw != "{}" && raw != "null" {
		clusters, ps := settings.DecodeClusters("clusters", raw)
		if err := ps.Err(); err != nil {
			return Sources{}, err
		}
		for name, c := range clusters {
			a := program.KubeAccess{Context: c.Context}
			if c.Kubeconfig != "" {
				a.Kubeconfig = get(program.Project + ":" + c.Kubeconfig)
			} else {
				a.Kubeconfig = getenv("KUBECONFIG")
			}
			accesses[name] = a
		}
	}
	src := Sources{Kube: func(cluster string) (kubernetes.Interface, error) {
		a, ok := accesses[cluster]
		if !ok {
			return nil, fmt.Errorf("the stack names no cluster %q", cluster)
		}
		return a.Client()
	}}
	gitlabAccess, err := program.ReadGitlabAccess(get, getenv)
	if err != nil {
		return Sources{}, err
	}
	if gitlabAccess.Token != "" {
		client, err := gitlabAccess.Client()
		if err != nil {
			return Sources{}, err
		}
		src.Gitlab = client
	}
	return src, nil
}
