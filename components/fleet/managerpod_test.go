package fleet_test

import (
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// namedIn is the item of a pod spec list (env, volumes, ports...) named name.
func namedIn(t *testing.T, list resource.PropertyValue, name string) resource.PropertyMap {
	t.Helper()
	for _, item := range list.ArrayValue() {
		if o := item.ObjectValue(); o["name"].StringValue() == name {
			return o
		}
	}
	t.Fatalf("no %s in %v", name, list)
	return nil
}

// plainValue turns a property map into plain Go values for comparisons.
func plainValue(p resource.PropertyMap) map[string]any {
	return p.Mappable()
}

// Every manager pod setting ends up in the manager pod as Kubernetes reads it.
func TestManagerPodSettingsInThePod(t *testing.T) {
	s := groupFleet()
	s.Manager.Pod = settings.ManagerPodSettings{
		Env: []settings.ManagerEnvVar{
			{Name: "HTTPS_PROXY", Value: "http://proxy.example.com:3128"},
			{Name: "PROXY_PASSWORD", Secret: &settings.SecretKeyRef{Name: "proxy", Key: "password"}},
		},
		Volumes: []settings.ManagerVolume{
			{Name: "certs", MountPath: "/certs", Secret: "extra-certs", ReadOnly: true, Items: map[string]string{"ca.pem": "ca.pem"}},
			{Name: "conf", MountPath: "/opt/conf", ConfigMap: "conf", SubPath: "a"},
			{Name: "scratch", MountPath: "/scratch", EmptyDir: &settings.EmptyDirSource{Medium: "Memory", SizeLimit: "64Mi"}},
			{Name: "data", MountPath: "/data", PVC: "runner-data"},
		},
		PriorityClassName:   "ci-high",
		TopologySpread:      []settings.TopologySpread{{TopologyKey: "topology.kubernetes.io/zone"}, {TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: "DoNotSchedule", MinDomains: ptr(2)}},
		PreEntrypointScript: "until nc -z proxy.example.com 3128; do sleep 1; done\n",
		SessionServer:       &settings.SessionServerSettings{AllowFrom: settings.SessionAllowFrom{Namespaces: []string{"gitlab"}, CIDRs: []string{"203.0.113.0/24"}}},
	}
	s = valid(t, s)
	m := runFleet(t, false, s, nil)
	pod := podSpecOf(t, m, "builds")
	c := managerContainer(t, m, "builds")

	assert.Equal(t, map[string]any{"name": "HTTPS_PROXY", "value": "http://proxy.example.com:3128"}, plainValue(namedIn(t, c["env"], "HTTPS_PROXY")))
	name, key := envRef(t, c, "PROXY_PASSWORD")
	assert.Equal(t, []string{"proxy", "password"}, []string{name, key})

	assert.Equal(t, map[string]any{"name": "extra-certs", "secret": map[string]any{"secretName": "extra-certs", "items": []any{map[string]any{"key": "ca.pem", "path": "ca.pem"}}}},
		plainValue(namedIn(t, pod["volumes"], "extra-certs")))
	assert.Equal(t, map[string]any{"name": "extra-certs", "mountPath": "/certs", "readOnly": true}, plainValue(namedIn(t, c["volumeMounts"], "extra-certs")))
	assert.Equal(t, map[string]any{"name": "extra-conf", "configMap": map[string]any{"name": "conf"}}, plainValue(namedIn(t, pod["volumes"], "extra-conf")))
	assert.Equal(t, map[string]any{"name": "extra-conf", "mountPath": "/opt/conf", "subPath": "a", "readOnly": false}, plainValue(namedIn(t, c["volumeMounts"], "extra-conf")))
	assert.Equal(t, map[string]any{"name": "extra-scratch", "emptyDir": map[string]any{"medium": "Memory", "sizeLimit": "64Mi"}}, plainValue(namedIn(t, pod["volumes"], "extra-scratch")))
	assert.Equal(t, map[string]any{"name": "extra-data", "persistentVolumeClaim": map[string]any{"claimName": "runner-data", "readOnly": false}}, plainValue(namedIn(t, pod["volumes"], "extra-data")))

	assert.Equal(t, "ci-high", pod["priorityClassName"].StringValue())
	selector := map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/instance": "builds", "app.kubernetes.io/name": "gitlab-runner"}}
	assert.Equal(t, []any{
		map[string]any{"topologyKey": "topology.kubernetes.io/zone", "maxSkew": 1.0, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector},
		map[string]any{"topologyKey": "kubernetes.io/hostname", "maxSkew": 1.0, "whenUnsatisfiable": "DoNotSchedule", "minDomains": 2.0, "labelSelector": selector},
	}, pod["topologySpreadConstraints"].Mappable())

	// The script: its own ConfigMap, mounted read-only, named to the entrypoint.
	script := m.Find(tConfigMap, "builds-pre-entrypoint")
	require.NotNil(t, script)
	assert.Equal(t, s.Manager.Pod.PreEntrypointScript, mocks.String(script.Inputs, "data", "pre-entrypoint.sh"))
	assert.Equal(t, "/pre-entrypoint/pre-entrypoint.sh", namedIn(t, c["env"], "PRE_ENTRYPOINT_SCRIPT")["value"].StringValue())
	assert.Equal(t, map[string]any{"name": "pre-entrypoint", "mountPath": "/pre-entrypoint", "readOnly": true}, plainValue(namedIn(t, c["volumeMounts"], "pre-entrypoint")))
	assert.Equal(t, "builds-pre-entrypoint-mock1234", mocks.String(namedIn(t, pod["volumes"], "pre-entrypoint"), "configMap", "name"))

	// The session server: its port, its globals, and ingress from allowFrom only.
	assert.Equal(t, map[string]any{"name": "session", "containerPort": 8093.0, "protocol": "TCP"}, plainValue(namedIn(t, c["ports"], "session")))
	var globals map[string]any
	_, err := toml.Decode(mocks.String(m.Find(tConfigMap, "builds-config").Inputs, "data", "config.toml"), &globals)
	require.NoError(t, err)
	assert.Equal(t, "@POD_NAME@.builds.gitlab-runner-builds.svc:8093", globals["session_server"].(map[string]any)["advertise_address"])
	ingress, ok := mocks.Get(m.Find(tNetworkPolicy, "builds-manager").Inputs, "spec", "ingress")
	require.True(t, ok)
	assert.Contains(t, ingress.Mappable(), map[string]any{
		"from": []any{
			map[string]any{"namespaceSelector": map[string]any{"matchExpressions": []any{map[string]any{"key": "kubernetes.io/metadata.name", "operator": "In", "values": []any{"gitlab"}}}}},
			map[string]any{"ipBlock": map[string]any{"cidr": "203.0.113.0/24"}},
		},
		"ports": []any{map[string]any{"port": 8093.0, "protocol": "TCP"}},
	})
}

// Without manager pod settings the pod has none of their parts.
func TestManagerPodWithoutSettings(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)
	pod := podSpecOf(t, m, "builds")
	c := managerContainer(t, m, "builds")
	for _, key := range []resource.PropertyKey{"priorityClassName", "topologySpreadConstraints"} {
		_, set := pod[key]
		assert.False(t, set, key)
	}
	assert.Nil(t, m.Find(tConfigMap, "builds-pre-entrypoint"))
	assert.Len(t, c["ports"].ArrayValue(), 1, "the metrics port only")
	var globals map[string]any
	_, err := toml.Decode(mocks.String(m.Find(tConfigMap, "builds-config").Inputs, "data", "config.toml"), &globals)
	require.NoError(t, err)
	assert.NotContains(t, globals, "session_server")
}

// The paths and variables the settings keep for the fleet are those the
// pod has with every capability on: no setting can shadow them.
func TestFleetOwnPathsAndVariablesAreReserved(t *testing.T) {
	s := groupFleet()
	s.GitlabCA = &settings.CASettings{Secret: &settings.SecretKeyRef{Name: "ca"}}
	s.Cache = settings.CacheSettings{Type: "s3", ExistingSecret: "cache", S3: &settings.S3CacheSettings{BucketName: "b"}}
	s.Manager.Pod.PreEntrypointScript = "true"
	s = valid(t, s)
	m := runFleet(t, false, s, nil)
	c := managerContainer(t, m, "builds")
	for _, mount := range c["volumeMounts"].ArrayValue() {
		assert.Contains(t, settings.ManagerPaths, mount.ObjectValue()["mountPath"].StringValue())
	}
	for _, e := range c["env"].ArrayValue() {
		name := e.ObjectValue()["name"].StringValue()
		bad := groupFleet()
		bad.Manager.Pod.Env = []settings.ManagerEnvVar{{Name: name, Value: "x"}}
		assert.ErrorContains(t, bad.WithDefaults("test").Validate("fleets[0]").Err(), "manager.pod.env[0].name", "the fleet's own variable %s cannot be set", name)
	}
}
