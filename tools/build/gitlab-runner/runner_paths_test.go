package gitlabrunner_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"
	"gitlab.com/gitlab-org/gitlab-runner/common/spec"
	k8sautoscaler "gitlab.com/gitlab-org/gitlab-runner/executors/kubernetes/autoscaler"
	runnerlog "gitlab.com/gitlab-org/gitlab-runner/log"
)

// The runner's own code, linked with the stand-ins: what a job payload and a
// config do on the paths where the stand-ins sit.

// A job as GitLab hands it out, without and with the refused features.
const jobPayload = `{"id": 1, "token": "glcbt-x", "job_info": {"name": "build"}, "variables": [],
 "steps": [{"name": "script", "script": ["echo hello"], "when": "on_success"}]%s}`

func decodeJob(t *testing.T, extra string) (spec.Job, error) {
	t.Helper()
	var job spec.Job
	err := json.Unmarshal([]byte(fmt.Sprintf(jobPayload, extra)), &job)
	return job, err
}

func TestJobPayloadWithoutStepsOrInputsDecodes(t *testing.T) {
	for name, extra := range map[string]string{
		"no inputs key":   "",
		"empty inputs":    `, "inputs": []`,
		"null inputs":     `, "inputs": null`,
		"no run key":      "",
		"empty run steps": `, "run": "[]"`,
	} {
		t.Run(name, func(t *testing.T) {
			job, err := decodeJob(t, extra)
			require.NoError(t, err)
			assert.Equal(t, "build", job.JobInfo.Name)
			// Interpolation is a no-op without inputs: the stand-in evaluator
			// is never asked.
			text, err := job.Inputs.Expand("echo ${{ inputs.name }}")
			require.NoError(t, err)
			assert.Equal(t, "echo ${{ inputs.name }}", text)
		})
	}
}

func TestJobPayloadWithInputsIsRefused(t *testing.T) {
	_, err := decodeJob(t, `, "inputs": [{"key": "name", "value": {"type": "string", "content": "x", "sensitive": false}}]`)
	requireRefusedBy(t, err, moaModule)
}

func TestJobPayloadWithRunStepsIsRefused(t *testing.T) {
	_, err := decodeJob(t, `, "run": "[{\"name\": \"hello\", \"script\": \"echo hi\"}]"`)
	requireRefusedBy(t, err, stepRunnerModule)
}

// With no log_field_schema_version (the fleet renders none), deprecated
// fields keep their legacy names, as in v19.3.0 (which logged
// "organization_id" and "error" directly).
func TestLogFieldsKeepTheirLegacyNames(t *testing.T) {
	assert.Equal(t, logrus.Fields{"organization_id": 42}, runnerlog.DeprecatedField("organization_id", 42))
	assert.Equal(t, logrus.Fields{"duration": "5s"}, runnerlog.DeprecatedFieldDual("duration", "5s", 5.0))
}

// The Kubernetes executor's pause-pod autoscaler cannot parse its periods:
// a [runners.kubernetes.autoscaler] policy fails loudly.
func TestKubernetesAutoscalerPeriodsAreRefused(t *testing.T) {
	policy := k8sautoscaler.Policy{Periods: []string{"* * * * *"}}
	requireRefusedBy(t, policy.Parse(), taskscalerModule)
}

func requireRefusedBy(t *testing.T, err error, module string) {
	t.Helper()
	var refused *refusal.Error
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, module, refused.Module.Path)
}
