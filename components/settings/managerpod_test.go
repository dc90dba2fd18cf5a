package settings_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// podWith is groupFleet with manager.pod set to the JSON object pod, and
// more top-level settings merged in (extra, may be "{}").
func podWith(t *testing.T, pod, extra string) string {
	t.Helper()
	fleets := fleetWith(t, extra)
	// fleetWith merges one level down only: splice manager.pod in as text.
	if strings.Contains(fleets, `"manager":{`) {
		return strings.Replace(fleets, `"manager":{`, `"manager":{"pod":`+pod+`,`, 1)
	}
	return strings.Replace(fleets, `"name":"builds"`, `"manager":{"pod":`+pod+`},"name":"builds"`, 1)
}

// Every malformed manager pod setting is refused before anything is
// created, naming its path and the fix.
func TestMalformedManagerPodSettingsAreRefused(t *testing.T) {
	const at = "fleets[0] (builds).manager.pod."
	cases := []struct {
		name, pod, extra string
		want             []string
	}{
		{"variable name invalid", `{"env":[{"name":"1PROXY","value":"x"}]}`, `{}`, []string{at + `env[0].name: "1PROXY": a valid environment variable name`}},
		{"variable twice", `{"env":[{"name":"HTTPS_PROXY","value":"a"},{"name":"HTTPS_PROXY","value":"b"}]}`, `{}`, []string{at + `env[1].name: "HTTPS_PROXY" is already ` + at + `env[0]`}},
		{"variable the fleet sets", `{"env":[{"name":"DRAIN_SECONDS","value":"1"}]}`, `{}`, []string{at + `env[0].name: "DRAIN_SECONDS" is set by the fleet itself`}},
		{"variable gitlab-runner reads", `{"env":[{"name":"CONFIG_FILE","value":"/x"}]}`, `{}`, []string{at + `env[0].name: "CONFIG_FILE" is read by gitlab-runner`, "use the fleet's setting"}},
		{"variable register turns into configuration", `{"env":[{"name":"KUBERNETES_PRIVILEGED","value":"true"}]}`, `{}`,
			[]string{at + `env[0].name: "KUBERNETES_PRIVILEGED" starts with KUBERNETES_`, "bypass the fleet's settings"}},
		{"variable feature flag in lower case", `{"env":[{"name":"ff_network_per_build","value":"true"}]}`, `{}`, []string{at + `env[0].name: "ff_network_per_build" starts with FF_`}},
		{"variable with value and secret", `{"env":[{"name":"PROXY_PASSWORD","value":"x","secret":{"name":"p","key":"k"}}]}`, `{}`, []string{at + "env[0]: has both value and secret; keep one"}},
		{"variable secret without key", `{"env":[{"name":"PROXY_PASSWORD","secret":{"name":"p"}}]}`, `{}`, []string{at + "env[0].secret.key: is required"}},
		{"volume without source", `{"volumes":[{"name":"certs","mountPath":"/certs"}]}`, `{}`, []string{at + "volumes[0]: needs exactly one source", "no hostPath"}},
		{"volume host path", `{"volumes":[{"name":"docker","mountPath":"/var/run/docker.sock","hostPath":"/var/run/docker.sock"}]}`, `{}`,
			[]string{at + "volumes[0].hostPath: unknown setting"}},
		{"volume with two sources", `{"volumes":[{"name":"certs","mountPath":"/certs","secret":"a","configMap":"b"}]}`, `{}`, []string{at + "volumes[0]: needs exactly one source"}},
		{"volume over the fleet's config", `{"volumes":[{"name":"cfg","mountPath":"/etc/gitlab-runner","emptyDir":{}}]}`, `{}`,
			[]string{at + `volumes[0].mountPath: "/etc/gitlab-runner" would hide or be hidden by the fleet's own mount /etc/gitlab-runner`}},
		{"volume above the fleet's secrets", `{"volumes":[{"name":"root","mountPath":"/etc","emptyDir":{}}]}`, `{}`,
			[]string{at + `volumes[0].mountPath: "/etc" would hide or be hidden by the fleet's own mount /etc/gitlab-runner`}},
		{"volume path relative", `{"volumes":[{"name":"x","mountPath":"certs","emptyDir":{}}]}`, `{}`, []string{at + `volumes[0].mountPath: "certs" must be an absolute path`}},
		{"volume path unclean", `{"volumes":[{"name":"x","mountPath":"/certs/../etc/gitlab-runner","emptyDir":{}}]}`, `{}`, []string{at + "volumes[0].mountPath", "must be a clean path"}},
		{"volume names twice", `{"volumes":[{"name":"x","mountPath":"/a","emptyDir":{}},{"name":"x","mountPath":"/b","emptyDir":{}}]}`, `{}`, []string{at + `volumes[1].name: "x" is already`}},
		{"volume mount path twice", `{"volumes":[{"name":"x","mountPath":"/a","emptyDir":{}},{"name":"y","mountPath":"/a","emptyDir":{}}]}`, `{}`, []string{at + `volumes[1].mountPath: "/a" is already the mount path`}},
		{"volume sub path escapes", `{"volumes":[{"name":"x","mountPath":"/a","secret":"s","subPath":"../../etc"}]}`, `{}`, []string{at + `volumes[0].subPath: "../../etc" must be a relative path`}},
		{"volume items on emptyDir", `{"volumes":[{"name":"x","mountPath":"/a","emptyDir":{},"items":{"k":"f"}}]}`, `{}`, []string{at + "volumes[0].items: apply to configMap and secret volumes only"}},
		{"volume medium", `{"volumes":[{"name":"x","mountPath":"/a","emptyDir":{"medium":"HugePages"}}]}`, `{}`, []string{at + `volumes[0].emptyDir.medium: "HugePages" is not allowed`}},
		{"priority class reserved", `{"priorityClassName":"system-node-critical"}`, `{}`, []string{at + `priorityClassName: "system-node-critical" is only for pods of kube-system`}},
		{"priority class not a name", `{"priorityClassName":"High_Prio"}`, `{}`, []string{at + "priorityClassName"}},
		{"spread without key", `{"topologySpread":[{"maxSkew":1}]}`, `{}`, []string{at + "topologySpread[0].topologyKey: is required"}},
		{"spread skew", `{"topologySpread":[{"topologyKey":"topology.kubernetes.io/zone","maxSkew":-1}]}`, `{}`, []string{at + "topologySpread[0].maxSkew: must be at least 1, got -1"}},
		{"spread unknown rule", `{"topologySpread":[{"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"Wait"}]}`, `{}`, []string{at + `topologySpread[0].whenUnsatisfiable: "Wait" is not allowed`}},
		{"spread min domains when preferred", `{"topologySpread":[{"topologyKey":"topology.kubernetes.io/zone","minDomains":2}]}`, `{}`, []string{at + "topologySpread[0].minDomains: needs whenUnsatisfiable: DoNotSchedule"}},
		{"spread twice", `{"topologySpread":[{"topologyKey":"zone"},{"topologyKey":"zone"}]}`, `{}`, []string{at + "topologySpread[1]: repeats"}},
		{"script too long", `{"preEntrypointScript":"` + strings.Repeat("#", 64*1024+1) + `"}`, `{}`, []string{at + "preEntrypointScript: is 65537 bytes; at most 65536"}},
		{"session port privileged", `{"sessionServer":{"port":443,"allowFrom":{"namespaces":["gitlab"]}}}`, `{}`, []string{at + "sessionServer.port: must be between 1024 and 65535"}},
		{"session port is the metrics port", `{"sessionServer":{"port":9252,"allowFrom":{"namespaces":["gitlab"]}}}`, `{}`, []string{at + "sessionServer.port: is the metrics port 9252"}},
		{"session without allowFrom", `{"sessionServer":{}}`, `{}`, []string{at + "sessionServer.allowFrom: is required with network.policies"}},
		{"session advertise address with a scheme", `{"sessionServer":{"advertiseAddress":"https://runner.example.com:8093","allowFrom":{"cidrs":["203.0.113.0/24"]}}}`, `{"manager":{"replicas":1}}`,
			[]string{at + `sessionServer.advertiseAddress: "https://runner.example.com:8093" must be host:port`}},
		{"session advertise address for several managers", `{"sessionServer":{"advertiseAddress":"runner.example.com:8093","allowFrom":{"cidrs":["203.0.113.0/24"]}}}`, `{"manager":{"replicas":2}}`,
			[]string{at + "sessionServer.advertiseAddress: is one address for 2 managers", "set manager.replicas to 1"}},
		{"session allowFrom range unreadable", `{"sessionServer":{"allowFrom":{"cidrs":["gitlab"]}}}`, `{}`, []string{at + `sessionServer.allowFrom.cidrs[0]: "gitlab" is not an address range`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := planned(podWith(t, c.pod, c.extra)).Err()
			require.Error(t, err)
			for _, want := range c.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

// What the chart's users typically set is accepted as is.
func TestValidManagerPodSettings(t *testing.T) {
	pod := `{
		"env":[{"name":"HTTPS_PROXY","value":"http://proxy.example.com:3128"},{"name":"NO_PROXY","value":".svc,10.0.0.1"},
		       {"name":"PROXY_PASSWORD","secret":{"name":"proxy","key":"password"}}],
		"volumes":[{"name":"certs","mountPath":"/certs","secret":"extra-certs","readOnly":true,"items":{"ca.pem":"ca.pem"}},
		           {"name":"scratch","mountPath":"/scratch","emptyDir":{"medium":"Memory","sizeLimit":"64Mi"}},
		           {"name":"conf","mountPath":"/opt/conf","configMap":"conf","subPath":"a"}],
		"priorityClassName":"ci-high",
		"topologySpread":[{"topologyKey":"topology.kubernetes.io/zone"},{"topologyKey":"kubernetes.io/hostname","whenUnsatisfiable":"DoNotSchedule","minDomains":2}],
		"preEntrypointScript":"until nc -z proxy.example.com 3128; do sleep 1; done",
		"sessionServer":{"allowFrom":{"namespaces":["gitlab"]}}}`
	assert.Empty(t, planned(podWith(t, pod, `{}`)))
}

// Defaults fill in the spread's skew and rule and the session server's port
// and timeout, without changing the settings they were given.
func TestManagerPodDefaults(t *testing.T) {
	decoded, ps := settings.DecodeFleets(podWith(t, `{"topologySpread":[{"topologyKey":"zone"}],"sessionServer":{"allowFrom":{"namespaces":["gitlab"]}}}`, `{}`))
	require.Empty(t, ps)
	s := decoded[0].WithDefaults("test")
	assert.Equal(t, settings.TopologySpread{TopologyKey: "zone", MaxSkew: 1, WhenUnsatisfiable: "ScheduleAnyway"}, s.Manager.Pod.TopologySpread[0])
	assert.Zero(t, decoded[0].Manager.Pod.TopologySpread[0].MaxSkew, "the caller's settings are left alone")
	assert.Equal(t, settings.DefaultSessionPort, s.Manager.Pod.SessionServer.Port)
	assert.Equal(t, settings.DefaultSessionTimeout, s.Manager.Pod.SessionServer.SessionTimeout)
	assert.Equal(t, "@POD_NAME@.builds.gitlab-runner-builds.svc:8093", s.Manager.Pod.SessionServer.AdvertisedAddress(s.Name, s.Namespace))
}

// The objects the pod settings name are checked against the cluster.
func TestManagerPodReferences(t *testing.T) {
	decoded, ps := settings.DecodeFleets(podWith(t, `{"env":[{"name":"P","secret":{"name":"proxy","key":"password"}}],
		"volumes":[{"name":"a","mountPath":"/a","secret":"s"},{"name":"b","mountPath":"/b","configMap":"c"},{"name":"d","mountPath":"/d","pvc":"p"},{"name":"e","mountPath":"/e","emptyDir":{}}],
		"priorityClassName":"ci-high"}`, `{}`))
	require.Empty(t, ps)
	s := decoded[0].WithDefaults("test")
	ns := s.Namespace
	p := "fleets[0].manager.pod"
	assert.ElementsMatch(t, []settings.Reference{
		{Path: p + ".env[0].secret", Kind: "Secret", Namespace: ns, Name: "proxy", Key: "password"},
		{Path: p + ".volumes[0].secret", Kind: "Secret", Namespace: ns, Name: "s"},
		{Path: p + ".volumes[1].configMap", Kind: "ConfigMap", Namespace: ns, Name: "c"},
		{Path: p + ".volumes[2].pvc", Kind: "PersistentVolumeClaim", Namespace: ns, Name: "p"},
		{Path: p + ".priorityClassName", Kind: "PriorityClass", Name: "ci-high"},
	}, s.References("fleets[0]"))
	assert.Equal(t, "PriorityClass ci-high", settings.Reference{Kind: "PriorityClass", Name: "ci-high"}.String())
}
