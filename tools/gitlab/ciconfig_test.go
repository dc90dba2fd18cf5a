package gitlab

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCIConfig(t *testing.T) {
	cfg, err := parseCIConfig(`
stages: [build, test]
variables:
  GLOBAL: one
  SHARED: from-global
default:
  image: alpine:3.20
  before_script: [echo before]
  tags: [default-tag]
.template: &tpl
  tags: [k8s]
  timeout: 1h 30m
test-job:
  <<: *tpl
  script:
    - echo test
    - [echo nested, echo flattened]
  after_script: echo after
  services:
    - postgres:16
    - name: redis:7
      alias: cache
      variables: {REDIS_ARGS: "--save ''"}
  variables:
    SHARED: from-job
    FF_PRINT_POD_EVENTS: "true"
    GIT_STRATEGY: none
    COUNT: 3
    LITERAL: {value: "$HOME", expand: false}
  allow_failure: true
  when: always
build-job:
  stage: build
  image: {name: busybox, entrypoint: [""], pull_policy: if-not-present}
  script: make
`)
	require.NoError(t, err)
	assert.Equal(t, []string{".pre", "build", "test", ".post"}, cfg.Stages)
	require.Len(t, cfg.Jobs, 2)
	build, test := cfg.Jobs[0], cfg.Jobs[1]
	assert.Equal(t, "build-job", build.Name, "jobs come stage by stage")
	assert.Equal(t, 1, build.StageIdx)
	assert.Equal(t, &ciImage{Name: "busybox", Entrypoint: []string{""}, PullPolicy: []string{"if-not-present"}}, build.Image)
	assert.Equal(t, []string{"default-tag"}, build.Tags, "default tags")
	assert.Equal(t, []string{"echo before"}, build.BeforeScript)
	assert.Equal(t, "on_success", build.When)

	assert.Equal(t, "test", test.Stage)
	assert.Equal(t, []string{"echo test", "echo nested", "echo flattened"}, test.Script)
	assert.Equal(t, []string{"echo after"}, test.AfterScript)
	assert.Equal(t, []string{"k8s"}, test.Tags, "merged from the anchor, over the default")
	assert.Equal(t, 5400, test.Timeout)
	assert.Equal(t, "alpine:3.20", test.Image.Name)
	require.Len(t, test.Services, 2)
	assert.Equal(t, "postgres:16", test.Services[0].Name)
	assert.Equal(t, &ciImage{Name: "redis:7", Alias: "cache", Variables: []ciVariable{{Key: "REDIS_ARGS", Value: "--save ''"}}}, test.Services[1])
	assert.Equal(t, []ciVariable{
		{Key: "GLOBAL", Value: "one"},
		{Key: "SHARED", Value: "from-job"},
		{Key: "FF_PRINT_POD_EVENTS", Value: "true"},
		{Key: "GIT_STRATEGY", Value: "none"},
		{Key: "COUNT", Value: "3"},
		{Key: "LITERAL", Value: "$HOME", Raw: true},
	}, test.Variables)
	assert.True(t, test.AllowFailure)
	assert.Equal(t, "always", test.When)
}

// Anything outside the subset is refused with an error naming it.
func TestParseCIConfigErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"not a hash", "- a", "Invalid configuration format"},
		{"empty", "", "Please provide content of .gitlab-ci.yml"},
		{"no visible job", ".hidden: {script: x}", "jobs config should contain at least one visible job"},
		{"no script", "a: {stage: test}", "jobs:a config should implement the script: keyword"},
		{"unknown stage", "a: {stage: lint, script: x}", "jobs:a chosen stage lint does not exist; available stages are .pre, build, test, deploy, .post"},
		{"rules", "a: {script: x, rules: [{when: always}]}", "jobs:a config contains unknown keys: rules"},
		{"include", "include: other.yml\na: {script: x}", "include is a keyword the GitLab stand-in does not support"},
		{"boolean variable", "a: {script: x, variables: {FF_PRINT_POD_EVENTS: true}}", "jobs:a:variables config should be a hash of key value pairs"},
		{"bad timeout", "a: {script: x, timeout: soon}", "jobs:a timeout should be a duration"},
		{"manual", "a: {script: x, when: manual}", "jobs:a when should be one of: on_success, on_failure, always"},
		{"tags string", "a: {script: x, tags: k8s}", "jobs:a tags config should be an array of strings"},
		{"service key", "a: {script: x, services: [{name: db, ports: [5432]}]}", "jobs:a:services:service[0] config contains unknown keys: ports"},
		{"image without name", "a: {script: x, image: {entrypoint: [sh]}}", "jobs:a:image name can't be blank"},
		{"allow_failure exit codes", "a: {script: x, allow_failure: {exit_codes: [1]}}", "jobs:a allow_failure should be a boolean value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCIConfig(tc.src)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseCIDuration(t *testing.T) {
	for in, want := range map[string]int{
		"3600": 3600, "90 minutes": 5400, "1h 30m": 5400, "1h30m": 5400, "2 hours, 10 minutes": 7800, "1 day": 86400, "45s": 45,
	} {
		got, err := parseCIDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "soon", "10 fortnights", "0", "-5"} {
		_, err := parseCIDuration(in)
		assert.Error(t, err, in)
	}
}
