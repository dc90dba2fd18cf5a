package settings_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

func TestRunnerVersionOfImage(t *testing.T) {
	cases := map[string]string{
		"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.3.0":                            "v19.3.0",
		"registry.gitlab.com/gitlab-org/gitlab-runner:v18.6.2":                                   "v18.6.2",
		"gitlab/gitlab-runner:ubuntu-v17.11.1":                                                   "v17.11.1",
		"mirror.example.com:5000/ci/gitlab-runner:alpine3.21-v19.0.0":                            "v19.0.0",
		"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-bleeding":                           "",
		"registry.gitlab.com/gitlab-org/gitlab-runner@sha256:" + strings.Repeat("a", 64):         "",
		"registry.gitlab.com/gitlab-org/gitlab-runner:v19.3.0@sha256:" + strings.Repeat("b", 64): "",
		"mirror.example.com:5000/gitlab-runner":                                                  "",
	}
	for image, want := range cases {
		v, ok := settings.RunnerVersionOfImage(image)
		if want == "" {
			assert.False(t, ok, image)
			continue
		}
		require.True(t, ok, image)
		assert.Equal(t, want, v.String(), image)
	}
}
