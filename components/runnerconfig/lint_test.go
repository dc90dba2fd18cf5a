package runnerconfig_test

import (
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// GitLab Runner v19.3.0's lint refuses a host path, PVC or emptyDir volume
// without mount_propagation (common/config.go at v19.3.0: the field has no
// JSON name and no omitempty, so it is null in the JSON its schema checks).
// The lab's 19.4 pre-release is kinder, so this is checked here: every such
// volume the fleet renders for v19.3.0 says its propagation, and a release
// without the key gets none.
func TestRenderedVolumesPassTheV19_3Schema(t *testing.T) {
	volumes := []settings.JobVolume{
		{PVC: "cache", MountPath: "/cache"},
		{Name: "scratch", MountPath: "/scratch", EmptyDir: &settings.EmptyDirSource{}},
		{Name: "host", MountPath: "/host", HostPath: "/var/ci"},
		{ConfigMap: "ci", MountPath: "/etc/ci"},
	}
	fleet := func(image string) settings.FleetSettings {
		return settings.FleetSettings{Name: "b", Runner: settings.RunnerSettings{Type: "instance_type"}, Manager: settings.ManagerSettings{Image: image},
			Executor: settings.ExecutorSettings{Privileged: true, DockerInDocker: true, PodSecurity: "privileged", Volumes: volumes,
				NodeSelector: map[string]string{"pool": "d"}, Tolerations: []settings.Toleration{{Key: "d", Operator: "Exists", Effect: "NoSchedule"}}}}.WithDefaults("t")
	}
	table := func(s settings.FleetSettings) map[string]any {
		text, err := runnerconfig.RenderRunnerTemplate(s)
		require.NoError(t, err)
		var doc struct {
			Runners []struct {
				Kubernetes struct {
					Volumes map[string][]map[string]any `toml:"volumes"`
				} `toml:"kubernetes"`
			} `toml:"runners"`
		}
		_, err = toml.Decode(text, &doc)
		require.NoError(t, err)
		out := map[string]any{}
		for kind, entries := range doc.Runners[0].Kubernetes.Volumes {
			for _, e := range entries {
				out[kind+"/"+e["name"].(string)] = e["mount_propagation"]
			}
		}
		return out
	}
	assert.Equal(t, map[string]any{
		"pvc/cache": "None", "empty_dir/scratch": "None", "empty_dir/docker-certs": "None", "host_path/host": "None", "config_map/ci": nil,
	}, table(fleet(settings.DefaultManagerImage)), "v19.3.0: every volume of a kind with the key says its propagation")
	assert.Equal(t, map[string]any{
		"pvc/cache": "None", "empty_dir/scratch": nil, "empty_dir/docker-certs": nil, "host_path/host": "None", "config_map/ci": nil,
	}, table(fleet("registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0")), "v18.6.0 has the key for host paths and PVCs only")
	for _, image := range []string{settings.DefaultManagerImage, "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v17.0.0"} {
		assert.Empty(t, runnerconfig.Check(fleet(image), "fleet"), image)
	}
}

// A dns_config option without a value is null in v19.3.0's schema too: the
// settings must give one.
func TestValuelessDNSOptionsAreRefusedForV19_3(t *testing.T) {
	s := settings.FleetSettings{Name: "b", Runner: settings.RunnerSettings{Type: "instance_type"}, Executor: settings.ExecutorSettings{
		DNSConfig: &settings.DNSSettings{Nameservers: []string{"10.0.0.10"}, Options: map[string]string{"ndots": "2", "single-request-reopen": ""}},
	}}.WithDefaults("t")
	err := runnerconfig.Check(s, "fleets[0]").Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `fleets[0].executor.dnsConfig.options: "single-request-reopen" has no value, which GitLab Runner v19.3.0's config schema refuses`)
	assert.NotContains(t, err.Error(), `"ndots"`)
}
