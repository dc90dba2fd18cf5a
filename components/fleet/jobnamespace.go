package fleet

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// jobNamespace creates, for the one fleet that plans its job namespace
// (StackPart.Jobs), the namespace's own objects besides its
// NetworkPolicy: the default ServiceAccount without a token, and the
// ResourceQuota and LimitRange that bound what its job pods use together
// (settings.JobQuota).
func jobNamespace(b *build) (podPart, error) {
	j := b.args.Stack.Jobs
	if j == nil {
		return podPart{}, nil
	}
	if _, err := corev1.NewServiceAccountPatch(b.ctx, b.s.Name+"-jobs-default-sa", &corev1.ServiceAccountPatchArgs{
		Metadata:                     &metav1.ObjectMetaPatchArgs{Name: pulumi.String("default"), Namespace: b.jobNamespace},
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, b.parent); err != nil {
		return podPart{}, err
	}
	if j.QuotaOn {
		if _, err := corev1.NewResourceQuota(b.ctx, b.s.Name+"-jobs", resourceQuotaArgs(b.jobNamespace, *j), b.parent); err != nil {
			return podPart{}, err
		}
		if _, err := corev1.NewLimitRange(b.ctx, b.s.Name+"-jobs", limitRangeArgs(b.jobNamespace, *j), b.parent); err != nil {
			return podPart{}, err
		}
	}
	return podPart{}, nil
}

func init() { addCapability("jobnamespace", jobNamespace) }

func resourceQuotaArgs(jobNamespace pulumi.StringInput, j settings.JobNamespacePlan) *corev1.ResourceQuotaArgs {
	return &corev1.ResourceQuotaArgs{
		Metadata: jobNamespaceMeta("gitlab-runner-jobs", jobNamespace),
		Spec:     &corev1.ResourceQuotaSpecArgs{Hard: pulumi.ToStringMap(j.Quota.Hard())},
	}
}

// limitRangeArgs gives containers that set nothing the helper's requests and
// limits (the smallest job container), so every container counts against the
// quota; no CPU limit is imposed, as the fleet imposes none by default.
func limitRangeArgs(jobNamespace pulumi.StringInput, j settings.JobNamespacePlan) *corev1.LimitRangeArgs {
	h := j.DefaultContainer
	values := func(m map[string]string) pulumi.StringMap {
		out := pulumi.StringMap{}
		for k, v := range m {
			if v != "" {
				out[k] = pulumi.String(v)
			}
		}
		return out
	}
	return &corev1.LimitRangeArgs{
		Metadata: jobNamespaceMeta("gitlab-runner-jobs", jobNamespace),
		Spec: &corev1.LimitRangeSpecArgs{Limits: corev1.LimitRangeItemArray{&corev1.LimitRangeItemArgs{
			Type:           pulumi.String("Container"),
			DefaultRequest: values(map[string]string{"cpu": h.CPURequest, "memory": h.MemoryRequest, "ephemeral-storage": h.EphemeralStorageRequest}),
			Default:        values(map[string]string{"memory": h.MemoryLimit, "ephemeral-storage": h.EphemeralStorageLimit}),
		}}},
	}
}

func jobNamespaceMeta(name string, namespace pulumi.StringInput) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: namespace,
		Labels: pulumi.ToStringMap(map[string]string{"app.kubernetes.io/part-of": "gitlab-runner-fleet", "app.kubernetes.io/managed-by": "pulumi"})}
}
