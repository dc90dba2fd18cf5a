package fleet

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// jobServiceAccount creates the ServiceAccount job pods run as
// (executor.serviceAccount) when executor.serviceAccountAnnotations give it
// a workload identity. A job ServiceAccount chosen on purpose: its token is
// mounted.
func jobServiceAccount(b *build) (podPart, error) {
	e := b.s.Executor
	if len(e.ServiceAccountAnnotations) == 0 {
		return podPart{}, nil
	}
	meta := objectMeta(b.s, e.ServiceAccount, b.jobNamespace)
	meta.Annotations = pulumi.ToStringMap(e.ServiceAccountAnnotations)
	_, err := corev1.NewServiceAccount(b.ctx, b.s.Name+"-jobs", &corev1.ServiceAccountArgs{
		Metadata: meta, AutomountServiceAccountToken: pulumi.Bool(true),
	}, b.parent)
	return podPart{}, err
}

func init() { addCapability("jobserviceaccount", jobServiceAccount) }
