package gitlabrunner_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"
	"gitlab.com/ajwalker/phrasestream/addmask"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/connector"
	flprometheus "gitlab.com/gitlab-org/fleeting/fleeting/metrics/prometheus"
	fleetingprovider "gitlab.com/gitlab-org/fleeting/fleeting/provider"
	nestingapi "gitlab.com/gitlab-org/fleeting/nesting/api"
	"gitlab.com/gitlab-org/fleeting/taskscaler"
	"gitlab.com/gitlab-org/fleeting/taskscaler/cron"
	tsprometheus "gitlab.com/gitlab-org/fleeting/taskscaler/metrics/prometheus"
	"gitlab.com/gitlab-org/fleeting/taskscaler/storage"
	wrapperapi "gitlab.com/gitlab-org/gitlab-runner/helpers/runner_wrapper/api"
	wrapperserver "gitlab.com/gitlab-org/gitlab-runner/helpers/runner_wrapper/api/server"
	"gitlab.com/gitlab-org/labkit/v2/events/snowplow"
	"gitlab.com/gitlab-org/labkit/v2/events/snowplow/metrics"
	"gitlab.com/gitlab-org/labkit/v2/events/snowplow/oidc"
	"gitlab.com/gitlab-org/labkit/v2/fields"
	"gitlab.com/gitlab-org/moa"
	"gitlab.com/gitlab-org/moa/ast"
	"gitlab.com/gitlab-org/moa/value"
	stepapi "gitlab.com/gitlab-org/step-runner/pkg/api"
	stepclient "gitlab.com/gitlab-org/step-runner/pkg/api/client"
	"gitlab.com/gitlab-org/step-runner/pkg/api/client/extended"
	"gitlab.com/gitlab-org/step-runner/pkg/api/expression"
	stepproxy "gitlab.com/gitlab-org/step-runner/pkg/api/proxy"
	"gitlab.com/gitlab-org/step-runner/pkg/di"
	"gitlab.com/gitlab-org/step-runner/pkg/runner/gracefulexitcmd"
	stepproto "gitlab.com/gitlab-org/step-runner/proto"
	schema "gitlab.com/gitlab-org/step-runner/schema/v1"
)

// refusalCall is one call into a stand-in, and the module it must name.
type refusalCall struct {
	module string
	call   func() error
}

// panicked runs f and returns what it panicked with, or an error saying that
// it returned normally.
func panicked(f func()) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			err = errors.New("returned without panicking")
			return
		}
		var ok bool
		if err, ok = r.(error); !ok {
			err = errors.New("panicked with a non-error value")
		}
	}()
	f()
	return nil
}

const (
	labkitModule       = "gitlab.com/gitlab-org/labkit/v2"
	moaModule          = "gitlab.com/gitlab-org/moa"
	stepRunnerModule   = "gitlab.com/gitlab-org/step-runner"
	fleetingModule     = "gitlab.com/gitlab-org/fleeting/fleeting"
	fleetingPromModule = "gitlab.com/gitlab-org/fleeting/fleeting/metrics/prometheus"
	taskscalerModule   = "gitlab.com/gitlab-org/fleeting/taskscaler"
	tsPromModule       = "gitlab.com/gitlab-org/fleeting/taskscaler/metrics/prometheus"
	nestingModule      = "gitlab.com/gitlab-org/fleeting/nesting"
	phrasestreamModule = "gitlab.com/ajwalker/phrasestream"
	wrapperModule      = "gitlab.com/gitlab-org/gitlab-runner/helpers/runner_wrapper/api"
)

// refusingCalls calls every function and method of every stand-in that must
// refuse, keyed by the name the refusal carries. TestEveryStandinFunctionIsCalled
// checks that this table covers every exported function and method in
// standins/, so nothing new can slip in untested.
func refusingCalls() map[string]refusalCall {
	ctx := context.Background()
	value0 := value.Object(nil)
	return map[string]refusalCall{
		// labkit/v2
		"metrics.WithCollectorNamespace": {labkitModule, func() error {
			return panicked(func() { metrics.WithCollectorNamespace("gitlab_runner") })
		}},
		"metrics.WithCollectorBatchDeliveryDurationBuckets": {labkitModule, func() error {
			return panicked(func() { metrics.WithCollectorBatchDeliveryDurationBuckets([]float64{1}) })
		}},
		"oidc.WithSkipIfUnsupportedCloud": {labkitModule, func() error {
			return panicked(func() { oidc.WithSkipIfUnsupportedCloud(true) })
		}},
		"oidc.NewSource":           {labkitModule, func() error { return panicked(func() { oidc.NewSource() }) }},
		"snowplow.WithCallback":    {labkitModule, func() error { return panicked(func() { snowplow.WithCallback(nil) }) }},
		"snowplow.WithTokenSource": {labkitModule, func() error { return panicked(func() { snowplow.WithTokenSource(nil) }) }},
		"snowplow.WithMetricsCollectorOptions": {labkitModule, func() error {
			return panicked(func() { snowplow.WithMetricsCollectorOptions() })
		}},
		"snowplow.NewEmitter": {labkitModule, func() error {
			e, err := snowplow.NewEmitter("https://collector.example")
			if e != nil {
				return errors.New("returned an emitter")
			}
			return err
		}},
		"snowplow.Emitter.Collector": {labkitModule, func() error {
			return panicked(func() { (&snowplow.Emitter{}).Collector() })
		}},
		"snowplow.NewTracker": {labkitModule, func() error {
			_, err := snowplow.NewTracker("gitlab-runner", &snowplow.Emitter{})
			return err
		}},
		"snowplow.Tracker.TrackBillingEventWithOptionalInput": {labkitModule, func() error {
			return (&snowplow.Tracker{}).TrackBillingEventWithOptionalInput(snowplow.BillingEventRequiredInput{}, snowplow.BillingEventOptionalInput{})
		}},
		"snowplow.Tracker.Stop": {labkitModule, func() error { return panicked(func() { (&snowplow.Tracker{}).Stop() }) }},

		// moa
		"moa.ParseTemplate": {moaModule, func() error {
			_, err := moa.ParseTemplate("${{ inputs.name }}")
			return err
		}},
		"moa.EscapeTemplate": {moaModule, func() error { return panicked(func() { moa.EscapeTemplate("{}") }) }},
		"ast.Template.Walk": {moaModule, func() error {
			_, err := (&ast.Template{}).Walk(nil)
			return err
		}},
		"value.Null":   {moaModule, func() error { return panicked(func() { value.Null() }) }},
		"value.String": {moaModule, func() error { return panicked(func() { value.String("x") }) }},
		"value.Value.UnmarshalJSON": {moaModule, func() error {
			var v value.Value
			return json.Unmarshal([]byte(`"text"`), &v)
		}},
		"value.Value.Kind":      {moaModule, func() error { return panicked(func() { value0.Kind() }) }},
		"value.Value.String":    {moaModule, func() error { return panicked(func() { _ = value0.String() }) }},
		"value.Value.WithMarks": {moaModule, func() error { return panicked(func() { value0.WithMarks(1) }) }},
		"value.Value.HasMarks":  {moaModule, func() error { return panicked(func() { value0.HasMarks(1) }) }},

		// step-runner
		"schema.Step.UnmarshalJSON": {stepRunnerModule, func() error {
			var steps []schema.Step
			return json.Unmarshal([]byte(`[{"name":"hello","script":"echo hi"}]`), &steps)
		}},
		"schema.Step.MarshalJSON": {stepRunnerModule, func() error {
			_, err := json.Marshal(schema.Step{Step: "builtin://script_legacy"})
			return err
		}},
		"schema.Step.UnmarshalYAML": {stepRunnerModule, func() error {
			var steps []schema.Step
			return yaml.Unmarshal([]byte("- name: hello\n  script: echo hi\n"), &steps)
		}},
		"schema.Step.MarshalYAML": {stepRunnerModule, func() error {
			_, err := yaml.Marshal(&schema.Step{Step: "builtin://script_legacy"})
			return err
		}},
		"proto.Spec.GetSpec":           {stepRunnerModule, func() error { return panicked(func() { (&stepproto.Spec{}).GetSpec() }) }},
		"proto.Spec_Content.GetInputs": {stepRunnerModule, func() error { return panicked(func() { (&stepproto.Spec_Content{}).GetInputs() }) }},
		"proto.RegisterStepRunnerServer": {stepRunnerModule, func() error {
			return panicked(func() { stepproto.RegisterStepRunnerServer(nil, nil) })
		}},
		"api.SocketAddr": {stepRunnerModule, func() error {
			return panicked(func() { stepapi.SocketAddr(stepapi.DefaultSocketPath()) })
		}},
		"client.State.String": {stepRunnerModule, func() error { return panicked(func() { _ = stepclient.StateSuccess.String() }) }},
		"extended.New": {stepRunnerModule, func() error {
			_, err := extended.New(nil)
			return err
		}},
		"extended.Client.RunAndFollow": {stepRunnerModule, func() error {
			_, err := (&extended.Client{}).RunAndFollow(ctx, &stepclient.RunRequest{}, &extended.FollowOutput{})
			return err
		}},
		"extended.Client.Cancel":    {stepRunnerModule, func() error { return (&extended.Client{}).Cancel(ctx, "1") }},
		"extended.Client.CloseConn": {stepRunnerModule, func() error { return (&extended.Client{}).CloseConn() }},
		"proxy.Proxy": {stepRunnerModule, func() error {
			client, server := net.Pipe()
			defer client.Close()
			defer server.Close()
			return stepproxy.Proxy(strings.NewReader(""), io.Discard, client)
		}},
		"expression.Evaluator.Eval": {stepRunnerModule, func() error {
			e, err := expression.NewEvaluator(value0)
			if err != nil {
				return errors.New("NewEvaluator failed: " + err.Error())
			}
			_, err = e.Eval("${{ inputs.name }}", &ast.Template{})
			return err
		}},
		"gracefulexitcmd.New": {stepRunnerModule, func() error {
			return panicked(func() { gracefulexitcmd.New(ctx, time.Second, "true") })
		}},
		"gracefulexitcmd.Cmd.Run": {stepRunnerModule, func() error { return (&gracefulexitcmd.Cmd{}).Run() }},
		"di.WithBuiltinFunc":      {stepRunnerModule, func() error { return panicked(func() { di.WithBuiltinFunc("concrete", nil) }) }},
		"di.WithOperatorLogger":   {stepRunnerModule, func() error { return panicked(func() { di.WithOperatorLogger(nil) }) }},
		"di.NewContainer":         {stepRunnerModule, func() error { return panicked(func() { di.NewContainer() }) }},
		"di.Container.StepRunnerService": {stepRunnerModule, func() error {
			_, err := (&di.Container{}).StepRunnerService()
			return err
		}},

		// fleeting/fleeting
		"fleeting.WithPluginLogger": {fleetingModule, func() error { return panicked(func() { fleeting.WithPluginLogger(nil) }) }},
		"fleeting.RunPlugin": {fleetingModule, func() error {
			_, err := fleeting.RunPlugin("fleeting-plugin-aws", []byte("{}"))
			return err
		}},
		"fleeting.Runner.InstanceGroup": {fleetingModule, func() error { return panicked(func() { (&fleeting.Runner{}).InstanceGroup() }) }},
		"fleeting.Runner.Kill":          {fleetingModule, func() error { return panicked(func() { (&fleeting.Runner{}).Kill() }) }},
		"connector.ExitError.Error":     {fleetingModule, func() error { return panicked(func() { _ = (&connector.ExitError{}).Error() }) }},
		"connector.ExitError.ExitCode":  {fleetingModule, func() error { return panicked(func() { (&connector.ExitError{}).ExitCode() }) }},
		"connector.Dial": {fleetingModule, func() error {
			_, err := connector.Dial(ctx, fleetingprovider.ConnectInfo{}, connector.DialOptions{})
			return err
		}},
		"connector.Run": {fleetingModule, func() error {
			return connector.Run(ctx, fleetingprovider.ConnectInfo{}, connector.ConnectorOptions{})
		}},

		// fleeting/fleeting/metrics/prometheus
		"prometheus.New (fleeting)": {fleetingPromModule, func() error { return panicked(func() { flprometheus.New() }) }},
		"prometheus.WithConstLabels (fleeting)": {fleetingPromModule, func() error {
			return panicked(func() { flprometheus.WithConstLabels(nil) })
		}},
		"prometheus.WithInstanceCreationTimeBuckets": {fleetingPromModule, func() error {
			return panicked(func() { flprometheus.WithInstanceCreationTimeBuckets(nil) })
		}},
		"prometheus.WithInstanceIsRunningTimeBuckets": {fleetingPromModule, func() error {
			return panicked(func() { flprometheus.WithInstanceIsRunningTimeBuckets(nil) })
		}},
		"prometheus.WithInstanceDeletionTimeBuckets": {fleetingPromModule, func() error {
			return panicked(func() { flprometheus.WithInstanceDeletionTimeBuckets(nil) })
		}},
		"prometheus.WithInstanceLifeDurationBuckets": {fleetingPromModule, func() error {
			return panicked(func() { flprometheus.WithInstanceLifeDurationBuckets(nil) })
		}},

		// fleeting/taskscaler and its metrics/prometheus
		"taskscaler.New": {taskscalerModule, func() error {
			_, err := taskscaler.New(ctx, nil)
			return err
		}},
		"taskscaler.WithReservations":              {taskscalerModule, func() error { return panicked(func() { taskscaler.WithReservations() }) }},
		"taskscaler.WithReservationThrottling":     {taskscalerModule, func() error { return panicked(func() { taskscaler.WithReservationThrottling() }) }},
		"taskscaler.WithDeleteInstancesOnShutdown": {taskscalerModule, func() error { return panicked(func() { taskscaler.WithDeleteInstancesOnShutdown() }) }},
		"taskscaler.WithCapacityPerInstance":       {taskscalerModule, func() error { return panicked(func() { taskscaler.WithCapacityPerInstance(1) }) }},
		"taskscaler.WithMaxUseCount":               {taskscalerModule, func() error { return panicked(func() { taskscaler.WithMaxUseCount(1) }) }},
		"taskscaler.WithMaxInstances":              {taskscalerModule, func() error { return panicked(func() { taskscaler.WithMaxInstances(1) }) }},
		"taskscaler.WithInstanceGroupSettings": {taskscalerModule, func() error {
			return panicked(func() { taskscaler.WithInstanceGroupSettings(fleetingprovider.Settings{}) })
		}},
		"taskscaler.WithMetricsCollector":         {taskscalerModule, func() error { return panicked(func() { taskscaler.WithMetricsCollector(nil) }) }},
		"taskscaler.WithFleetingMetricsCollector": {taskscalerModule, func() error { return panicked(func() { taskscaler.WithFleetingMetricsCollector(nil) }) }},
		"taskscaler.WithInstanceUpFunc":           {taskscalerModule, func() error { return panicked(func() { taskscaler.WithInstanceUpFunc(nil) }) }},
		"taskscaler.WithHeartbeatFunc":            {taskscalerModule, func() error { return panicked(func() { taskscaler.WithHeartbeatFunc(nil) }) }},
		"taskscaler.WithUpdateInterval":           {taskscalerModule, func() error { return panicked(func() { taskscaler.WithUpdateInterval(time.Second) }) }},
		"taskscaler.WithUpdateIntervalWhenExpecting": {taskscalerModule, func() error {
			return panicked(func() { taskscaler.WithUpdateIntervalWhenExpecting(time.Second) })
		}},
		"taskscaler.WithDeletionRetryInterval": {taskscalerModule, func() error {
			return panicked(func() { taskscaler.WithDeletionRetryInterval(time.Second) })
		}},
		"taskscaler.WithShutdownDeletionInterval": {taskscalerModule, func() error {
			return panicked(func() { taskscaler.WithShutdownDeletionInterval(time.Second) })
		}},
		"taskscaler.WithShutdownDeletionRetries": {taskscalerModule, func() error {
			return panicked(func() { taskscaler.WithShutdownDeletionRetries(1) })
		}},
		"taskscaler.WithFailureThreshold": {taskscalerModule, func() error { return panicked(func() { taskscaler.WithFailureThreshold(1) }) }},
		"taskscaler.WithLogger":           {taskscalerModule, func() error { return panicked(func() { taskscaler.WithLogger(nil) }) }},
		"taskscaler.WithScaleThrottle":    {taskscalerModule, func() error { return panicked(func() { taskscaler.WithScaleThrottle(1, 1) }) }},
		"taskscaler.WithStorage":          {taskscalerModule, func() error { return panicked(func() { taskscaler.WithStorage(nil) }) }},
		"storage.NewFileStorage": {taskscalerModule, func() error {
			_, err := storage.NewFileStorage("/nonexistent")
			return err
		}},
		"cron.Parse": {taskscalerModule, func() error {
			_, err := cron.Parse("* * * * *", "UTC")
			return err
		}},
		"prometheus.New (taskscaler)": {tsPromModule, func() error { return panicked(func() { tsprometheus.New() }) }},
		"prometheus.WithConstLabels (taskscaler)": {tsPromModule, func() error {
			return panicked(func() { tsprometheus.WithConstLabels(nil) })
		}},
		"prometheus.WithInstanceReadinessTimeBuckets": {tsPromModule, func() error {
			return panicked(func() { tsprometheus.WithInstanceReadinessTimeBuckets(nil) })
		}},

		// fleeting/nesting
		"api.NewClientConn (nesting)": {nestingModule, func() error {
			_, err := nestingapi.NewClientConn("unix:///nesting.sock", nil)
			return err
		}},
		"api.New (nesting)": {nestingModule, func() error { return panicked(func() { nestingapi.New(nil) }) }},

		// phrasestream
		"addmask.New": {phrasestreamModule, func() error {
			_, err := addmask.New(nil, io.Discard, io.Discard)
			return err
		}},
		"addmask.AddMask.Get":   {phrasestreamModule, func() error { return panicked(func() { (&addmask.AddMask{}).Get(0) }) }},
		"addmask.AddMask.Close": {phrasestreamModule, func() error { return (&addmask.AddMask{}).Close() }},

		// gitlab-runner/helpers/runner_wrapper/api
		"api.Status.String (wrapper)": {wrapperModule, func() error { return panicked(func() { _ = wrapperapi.StatusRunning.String() }) }},
		"api.NewShutdownCallback":     {wrapperModule, func() error { return panicked(func() { wrapperapi.NewShutdownCallback(nil, nil) }) }},
		"server.New":                  {wrapperModule, func() error { return panicked(func() { wrapperserver.New(nil, nil) }) }},
		"server.Server.Listen":        {wrapperModule, func() error { return panicked(func() { (&wrapperserver.Server{}).Listen(nil) }) }},
		"server.Server.Stop":          {wrapperModule, func() error { return panicked(func() { (&wrapperserver.Server{}).Stop() }) }},
	}
}

// callName is the name a refusal carries for a table key: the key without the
// parenthesised module hint that tells same-named functions apart.
func callName(key string) string {
	name, _, _ := strings.Cut(key, " (")
	return name
}

func TestEveryStandinRefuses(t *testing.T) {
	for key, c := range refusingCalls() {
		t.Run(key, func(t *testing.T) {
			err := c.call()
			var refused *refusal.Error
			require.ErrorAs(t, err, &refused, "%s must refuse with a refusal.Error", key)
			assert.Equal(t, c.module, refused.Module.Path)
			assert.Equal(t, callName(key), refused.Call)
			msg := err.Error()
			assert.Contains(t, msg, "stand-in for "+c.module+"@"+refused.Module.Version)
			assert.Contains(t, msg, callName(key)+" was called")
			assert.Contains(t, msg, refused.Module.Feature, "the message names the runner feature")
			assert.NotEmpty(t, refused.Module.Version)
			assert.NotEmpty(t, refused.Module.Feature)
		})
	}
}

// The calls that succeed, each because the runner makes it for jobs and
// commands that use none of the refused features.
func TestStandinCallsTheRunnerMakesForEveryJobSucceed(t *testing.T) {
	t.Run("api.DefaultSocketPath names the stand-in", func(t *testing.T) {
		assert.Contains(t, stepapi.DefaultSocketPath(), "stand-in")
	})
	t.Run("an empty inputs object and its evaluator", func(t *testing.T) {
		e, err := expression.NewEvaluator(value.Object(nil))
		require.NoError(t, err)
		require.NotNil(t, e)
	})
}

func TestLabkitFieldsMatchTheRunnerDefault(t *testing.T) {
	// No migrations: with log_field_schema_version unset the real tables log
	// every field under its legacy name too.
	assert.Empty(t, fields.Deprecated)
	assert.Empty(t, fields.VariantVersion)
	assert.Equal(t, "status", fields.HTTPStatusCode)
	assert.Equal(t, "duration_s", fields.DurationS)
}
