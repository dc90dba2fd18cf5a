// Command fleet-managers checks, after `make up`, that every manager of the
// stack's fleets runs the real GitLab Runner and polls the local GitLab for
// jobs: for each fleet of the stack outputs it waits until GitLab shows as
// many runner managers online as the fleet's StatefulSet has replicas, each
// of which has asked GitLab for a job since it verified its token, and
// prints them.
//
// GitLab records a manager when it verifies its token (`gitlab-runner
// register`, in the pod's entrypoint) and its contacts: the verification,
// then job requests. A job request GitLab holds (long polling: Workhorse
// answers "no job" itself when nothing changed) is not a contact, so an idle
// manager's last contact is its first job request; a manager whose last
// contact is later than its creation has polled.
//
//	go run ./cmd/local outputs | fleet-managers --gitlab http://127.0.0.1:18080/ \
//	    --token-file .local/gitlab/admin-token --kubeconfig .local/cluster/kubeconfig
//
// It reads the outputs as `go run ./cmd/local outputs` prints them (a JSON
// object, after an "outputs:" line): each fleet's runnerId, namespace and
// statefulSetName. It exits 1, saying what is missing and where to look,
// when the managers do not all poll within --timeout.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	gitlabURL := flag.String("gitlab", "http://127.0.0.1:18080/", "the local GitLab's address")
	tokenFile := flag.String("token-file", ".local/gitlab/admin-token", "a file with a token that may read the runners (the stand-in's admin token)")
	kubeconfig := flag.String("kubeconfig", ".local/cluster/kubeconfig", "the local cluster's kubeconfig")
	timeout := flag.Duration("timeout", 3*time.Minute, "how long to wait for the managers")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *gitlabURL, *tokenFile, *kubeconfig, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "fleet-managers:", err)
		os.Exit(1)
	}
}

// fleetOutput is what the stack outputs say of a fleet.
type fleetOutput struct {
	RunnerID        string `json:"runnerId"`
	Namespace       string `json:"namespace"`
	StatefulSetName string `json:"statefulSetName"`
}

// manager is what GitLab's GET /runners/:id/managers says of one.
type manager struct {
	SystemID    string    `json:"system_id"`
	Version     string    `json:"version"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	ContactedAt time.Time `json:"contacted_at"`
}

// polls reports whether the manager is online and asked for a job after it
// verified its token.
func (m manager) polls() bool { return m.Status == "online" && m.ContactedAt.After(m.CreatedAt) }

func run(in io.Reader, out io.Writer, gitlabURL, tokenFile, kubeconfig string, timeout time.Duration) error {
	fleets, err := readOutputs(in)
	if err != nil {
		return err
	}
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		return fmt.Errorf("the GitLab token: %w", err)
	}
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	gitlab := gitlabClient{base: strings.TrimSuffix(gitlabURL, "/") + "/api/v4/", token: strings.TrimSpace(string(token))}
	deadline := time.Now().Add(timeout)
	var errs []error
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range fleets {
			if !yield(n) {
				return
			}
		}
	}) {
		f := fleets[name]
		sts, err := kube.AppsV1().StatefulSets(f.Namespace).Get(context.Background(), f.StatefulSetName, metav1.GetOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("fleet %s: its StatefulSet %s/%s: %w", name, f.Namespace, f.StatefulSetName, err))
			continue
		}
		want := 1
		if sts.Spec.Replicas != nil {
			want = int(*sts.Spec.Replicas)
		}
		polling, err := waitPolling(gitlab, f.RunnerID, want, deadline)
		if err != nil {
			errs = append(errs, fmt.Errorf("fleet %s (runner %s, %d managers): %w; see `kubectl logs -n %s %s-0` and the pod runner's log .local/cluster/logs/pod-runner.log",
				name, f.RunnerID, want, err, f.Namespace, f.StatefulSetName))
			continue
		}
		fmt.Fprintf(out, "fleet %s: runner %s in GitLab, %d of %d managers online and polling for jobs:\n", name, f.RunnerID, len(polling), want)
		for _, m := range polling {
			fmt.Fprintf(out, "  %s  gitlab-runner %s, token verified %s, job requested %s\n", m.SystemID, m.Version,
				m.CreatedAt.Format(time.RFC3339Nano), m.ContactedAt.Format(time.RFC3339Nano))
		}
	}
	return errors.Join(errs...)
}

// readOutputs reads the fleets of the stack outputs.
func readOutputs(in io.Reader) (map[string]fleetOutput, error) {
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	if i := bytes.IndexByte(data, '{'); i >= 0 {
		data = data[i:] // after cmd/local's "outputs:" line
	}
	var outputs struct {
		Fleets map[string]fleetOutput `json:"fleets"`
	}
	if err := json.Unmarshal(data, &outputs); err != nil {
		return nil, fmt.Errorf("reading the stack outputs (pipe `go run ./cmd/local outputs` in): %w", err)
	}
	if len(outputs.Fleets) == 0 {
		return nil, errors.New("the stack outputs name no fleet: run `make up` first")
	}
	return outputs.Fleets, nil
}

// waitPolling waits until want managers of the runner poll for jobs.
func waitPolling(gitlab gitlabClient, runnerID string, want int, deadline time.Time) ([]manager, error) {
	for {
		managers, err := gitlab.managers(runnerID)
		var polling []manager
		if err == nil {
			for _, m := range managers {
				if m.polls() {
					polling = append(polling, m)
				}
			}
			if len(polling) >= want {
				return polling, nil
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%d of %d managers online and polling (GitLab knows %d)", len(polling), want, len(managers))
		}
		time.Sleep(2 * time.Second)
	}
}

type gitlabClient struct {
	base  string
	token string
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func (g gitlabClient) managers(runnerID string) ([]manager, error) {
	req, err := http.NewRequest(http.MethodGet, g.base+"runners/"+runnerID+"/managers", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("PRIVATE-TOKEN", g.token)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET runners/%s/managers: %s: %s", runnerID, resp.Status, body)
	}
	var managers []manager
	return managers, json.Unmarshal(body, &managers)
}
