package fleet

import (
	"fmt"
	"maps"
	"slices"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// A capability is an optional part of a fleet (cache credentials, GitLab's
// CA, private registries, monitoring, containment...). Given the fleet being
// built, it registers its own objects when the fleet's settings ask for it,
// and returns its part of the manager pod (the zero podPart when none).
//
// Each capability lives in a file of its own and adds itself there with
// addCapability, from an init function: NewRunnerFleet runs every capability
// after the fleet's core objects (namespaces, ServiceAccount, RBAC, token),
// so a new capability edits no central file.
type capability func(b *build) (podPart, error)

// capabilities are the fleet's capabilities by name; NewRunnerFleet runs
// them in name order.
var capabilities = map[string]capability{}

// addCapability adds a capability under a name of its own.
func addCapability(name string, c capability) {
	if _, dup := capabilities[name]; dup {
		panic("fleet: two capabilities named " + name)
	}
	capabilities[name] = c
}

// build is what a capability sees of the fleet being registered.
type build struct {
	ctx  *pulumi.Context
	args *preparedArgs
	s    settings.FleetSettings
	// namespace and jobNamespace are the fleet's namespaces, as outputs of
	// the Namespaces the stack creates where it creates them.
	namespace, jobNamespace pulumi.StringInput
	// parent makes an object the fleet's child, created after its runner.
	parent pulumi.ResourceOption
}

// configValue is the value of a stack setting the fleet names (see
// settings.FleetSettings.ConfigValues).
func (b *build) configValue(key string) (pulumi.StringOutput, error) {
	v, ok := b.args.ConfigValues[key]
	if !ok {
		return pulumi.StringOutput{}, fmt.Errorf("fleet %q: no value was given for stack setting %q", b.s.Name, key)
	}
	return v, nil
}

// podPart is what a capability adds to the manager pod.
type podPart struct {
	// Env are variables of the manager container, by name.
	Env map[string]*corev1.EnvVarArgs
	// Volumes are volumes of the manager pod, by name, each with where the
	// manager container mounts it.
	Volumes map[string]mountedVolume
	// PullSecrets are image pull Secrets of the manager pod, in order.
	PullSecrets []string
}

// mountedVolume is a volume of the manager pod and its mount.
type mountedVolume struct {
	Volume *corev1.VolumeArgs
	Mount  *corev1.VolumeMountArgs
}

// managerPod is what the capabilities add to the manager pod, together.
// Variables and volumes go by name, so the order capabilities run in never
// changes the pod (a changed pod template would roll the managers).
type managerPod struct {
	Env         corev1.EnvVarArray
	Volumes     corev1.VolumeArray
	Mounts      corev1.VolumeMountArray
	PullSecrets []string
}

// runCapabilities runs every capability and gathers their parts.
func runCapabilities(b *build) (managerPod, error) {
	env := map[string]*corev1.EnvVarArgs{}
	volumes := map[string]mountedVolume{}
	var pod managerPod
	for _, name := range slices.Sorted(maps.Keys(capabilities)) {
		part, err := capabilities[name](b)
		if err != nil {
			return pod, err
		}
		for n, e := range part.Env {
			if _, dup := env[n]; dup {
				return pod, fmt.Errorf("fleet %q: capability %s sets the variable %s a second time", b.s.Name, name, n)
			}
			env[n] = e
		}
		for n, v := range part.Volumes {
			if _, dup := volumes[n]; dup {
				return pod, fmt.Errorf("fleet %q: capability %s adds the volume %s a second time", b.s.Name, name, n)
			}
			volumes[n] = v
		}
		pod.PullSecrets = append(pod.PullSecrets, part.PullSecrets...)
	}
	for _, n := range slices.Sorted(maps.Keys(env)) {
		pod.Env = append(pod.Env, env[n])
	}
	for _, n := range slices.Sorted(maps.Keys(volumes)) {
		pod.Volumes = append(pod.Volumes, volumes[n].Volume)
		pod.Mounts = append(pod.Mounts, volumes[n].Mount)
	}
	return pod, nil
}
