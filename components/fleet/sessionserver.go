package fleet

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// sessionServer opens the port of the runner's session server
// (manager.pod.sessionServer) on the manager container. The rest lives where
// it belongs: config.toml's [session_server] (runnerconfig.Global, with the
// pod's own address that the entrypoint fills in), and the managers'
// NetworkPolicy, which admits the port from sessionServer.allowFrom only
// (managerPolicyArgs). GitLab reaches each manager at
// <pod>.<fleet>.<namespace>.svc through the fleet's headless Service.
func sessionServer(b *build) (podPart, error) {
	s := b.s.Manager.Pod.SessionServer
	if s == nil {
		return podPart{}, nil
	}
	return podPart{Ports: map[string]*corev1.ContainerPortArgs{"session": {
		Name: pulumi.String("session"), ContainerPort: pulumi.Int(s.Port), Protocol: pulumi.String("TCP"),
	}}}, nil
}

func init() { addCapability("sessionserver", sessionServer) }
