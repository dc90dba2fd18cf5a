package components

import (
	"fmt"
	"strings"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Specs of the runner manager workload: the StatefulSet, its headless Service
// and its PodDisruptionBudget.

// Paths inside the manager container.
const (
	configDir   = "/etc/gitlab-runner" // emptyDir: config.toml and .runner_system_id
	templateDir = "/configmaps"        // config.toml and runner-template.toml
	scriptDir   = "/scripts"           // entrypoint.sh
	secretDir   = "/secrets"           // runner-token
	tokenKey    = "runner-token"
)

// Labels returns the app.kubernetes.io labels of a fleet's objects.
func Labels(s FleetSettings) map[string]string {
	labels := SelectorLabels(s)
	labels["app.kubernetes.io/component"] = "runner-manager"
	labels["app.kubernetes.io/part-of"] = "gitlab-runner-fleet"
	labels["app.kubernetes.io/managed-by"] = "pulumi"
	return labels
}

// workloadLabels add the runner's version to Labels. Only the StatefulSet and
// its pods carry it, so an image bump changes nothing but the workload.
func workloadLabels(s FleetSettings) map[string]string {
	labels := Labels(s)
	if v := imageVersion(s.Manager.Image); v != "" {
		labels["app.kubernetes.io/version"] = v
	}
	return labels
}

// SelectorLabels select a fleet's manager pods; they never change over the
// fleet's life, as a StatefulSet's selector is immutable.
func SelectorLabels(s FleetSettings) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":     "gitlab-runner",
		"app.kubernetes.io/instance": s.Name,
	}
}

// imageVersion is the image's tag, "" for a digest (Validate checks that a
// tag is a valid label value).
func imageVersion(image string) string {
	i := strings.LastIndex(image, ":")
	if i < 0 || i < strings.LastIndex(image, "/") || strings.Contains(image, "@") {
		return ""
	}
	return image[i+1:]
}

// workloadInputs are the names and checksums a manager pod refers to.
type workloadInputs struct {
	Namespace          pulumi.StringInput
	ServiceAccountName pulumi.StringInput
	ConfigMapName      pulumi.StringInput
	EntrypointName     pulumi.StringInput
	// Pod names the Secrets the pod mounts and reads: the token's (the
	// fleet's auto-named one, so a new token is a new Secret and the pods
	// roll, or an existing one), the cache credentials', the CA bundle's,
	// and the pull Secrets.
	Pod podInputs
	// ConfigChecksum shows in previews that a config change rolls the pods.
	ConfigChecksum pulumi.StringInput
	GitlabURL      string
}

func objectMeta(s FleetSettings, name string, namespace pulumi.StringInput) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{
		Name:      pulumi.String(name),
		Namespace: namespace,
		Labels:    pulumi.ToStringMap(Labels(s)),
	}
}

func headlessServiceArgs(s FleetSettings, namespace pulumi.StringInput) *corev1.ServiceArgs {
	return &corev1.ServiceArgs{
		Metadata: objectMeta(s, s.Name, namespace),
		Spec: &corev1.ServiceSpecArgs{
			ClusterIP: pulumi.String("None"),
			Selector:  pulumi.ToStringMap(SelectorLabels(s)),
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name:       pulumi.String("metrics"),
				Port:       pulumi.Int(MetricsPort),
				TargetPort: pulumi.String("metrics"),
			}},
		},
	}
}

func podDisruptionBudgetArgs(s FleetSettings, namespace pulumi.StringInput) *policyv1.PodDisruptionBudgetArgs {
	return &policyv1.PodDisruptionBudgetArgs{
		Metadata: objectMeta(s, s.Name, namespace),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			// One manager at a time: a drain never stops the whole fleet at once.
			MaxUnavailable: pulumi.Int(1),
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(SelectorLabels(s))},
		},
	}
}

// The Kubernetes provider does not wait for the StatefulSet's rollout on
// create and update: a manager that drains running jobs may take its whole
// grace period (hours), one pod after another, and a change made while jobs
// run must not fail `up`; rollout.go reports, and on request waits for, the
// rollout instead. The StatefulSet's await is replaced with a condition that
// holds as soon as the API server has the object (pulumi.com/waitFor). Not
// pulumi.com/skipAwait: for StatefulSets it also skips the wait on delete, and
// a destroy must wait for the managers to be gone before it deletes their
// permissions, token, job namespace and runner (see DeleteTimeout).
const (
	WaitForAnnotation = "pulumi.com/waitFor"
	waitForAccepted   = "jsonpath={.metadata.name}"
)

// DeleteTimeout bounds the wait for the managers to be gone when the fleet
// is destroyed: the kubelet kills a pod at the end of its grace period at the
// latest, so this wait cannot be cut short while a manager drains jobs.
func DeleteTimeout(m ManagerSettings) string {
	return fmt.Sprintf("%ds", m.TerminationGracePeriodSeconds+deleteTimeoutMargin)
}

// deleteTimeoutMargin covers the kubelet's and the garbage collector's delays.
const deleteTimeoutMargin = 120

func statefulSetArgs(s FleetSettings, in workloadInputs) *appsv1.StatefulSetArgs {
	m := s.Manager
	meta := objectMeta(s, s.Name, in.Namespace)
	meta.Labels = pulumi.ToStringMap(workloadLabels(s))
	meta.Annotations = pulumi.StringMap{WaitForAnnotation: pulumi.String(waitForAccepted)}
	return &appsv1.StatefulSetArgs{
		Metadata: meta,
		Spec: &appsv1.StatefulSetSpecArgs{
			ServiceName:         pulumi.String(s.Name),
			Replicas:            pulumi.Int(*m.Replicas),
			PodManagementPolicy: pulumi.String("Parallel"),
			UpdateStrategy:      &appsv1.StatefulSetUpdateStrategyArgs{Type: pulumi.String("RollingUpdate")},
			Selector:            &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(SelectorLabels(s))},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{
					Labels:      pulumi.ToStringMap(mergeMaps(m.PodLabels, workloadLabels(s))),
					Annotations: podAnnotations(m, in.ConfigChecksum),
				},
				Spec: podSpec(s, in),
			},
		},
	}
}

// podAnnotations are the manager pods' own annotations and the checksum.
func podAnnotations(m ManagerSettings, configChecksum pulumi.StringInput) pulumi.StringMap {
	annotations := pulumi.StringMap{}
	for k, v := range m.PodAnnotations {
		annotations[k] = pulumi.String(v)
	}
	annotations["checksum/config"] = configChecksum
	return annotations
}

func podSpec(s FleetSettings, in workloadInputs) *corev1.PodSpecArgs {
	m := s.Manager
	return &corev1.PodSpecArgs{
		ServiceAccountName: in.ServiceAccountName,
		// The Kubernetes executor talks to the API server with this token.
		AutomountServiceAccountToken:  pulumi.Bool(true),
		TerminationGracePeriodSeconds: pulumi.Int(m.TerminationGracePeriodSeconds),
		SecurityContext: &corev1.PodSecurityContextArgs{
			RunAsNonRoot:   pulumi.Bool(true),
			RunAsUser:      pulumi.Int(int(*m.RunAsUser)),
			RunAsGroup:     pulumi.Int(int(*m.RunAsGroup)),
			FsGroup:        pulumi.Int(int(*m.FSGroup)),
			SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
		Affinity:         antiAffinity(s),
		NodeSelector:     pulumi.ToStringMap(m.NodeSelector),
		Tolerations:      podTolerations(m.Tolerations),
		ImagePullSecrets: pullSecrets(in.Pod.PullSecrets),
		Containers:       corev1.ContainerArray{managerContainer(s, in)},
		Volumes: append(corev1.VolumeArray{
			&corev1.VolumeArgs{Name: pulumi.String("config"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{
				// In memory: config.toml holds the token once registered.
				Medium: pulumi.String("Memory"), SizeLimit: pulumi.String("16Mi"),
			}},
			&corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{SizeLimit: pulumi.String("256Mi")}},
			&corev1.VolumeArgs{Name: pulumi.String("templates"), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{Name: in.ConfigMapName}},
			&corev1.VolumeArgs{Name: pulumi.String("scripts"), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{
				Name: in.EntrypointName, DefaultMode: pulumi.Int(0o555),
			}},
			&corev1.VolumeArgs{Name: pulumi.String("token"), Secret: &corev1.SecretVolumeSourceArgs{
				SecretName: in.Pod.TokenSecret, DefaultMode: pulumi.Int(0o440),
				Items: corev1.KeyToPathArray{&corev1.KeyToPathArgs{Key: pulumi.String(in.Pod.TokenKey), Path: pulumi.String(tokenKey)}},
			}},
		}, caVolumes(in.Pod)...),
	}
}

// caVolumes mount GitLab's CA bundle, when there is one, as caDir/ca.crt.
func caVolumes(in podInputs) corev1.VolumeArray {
	if in.CASecret == nil {
		return nil
	}
	return corev1.VolumeArray{&corev1.VolumeArgs{Name: pulumi.String("gitlab-ca"), Secret: &corev1.SecretVolumeSourceArgs{
		SecretName: in.CASecret, DefaultMode: pulumi.Int(0o444),
		Items: corev1.KeyToPathArray{&corev1.KeyToPathArgs{Key: pulumi.String(in.CAKey), Path: pulumi.String(caKey)}},
	}}}
}

func pullSecrets(names []string) corev1.LocalObjectReferenceArray {
	var out corev1.LocalObjectReferenceArray
	for _, n := range names {
		out = append(out, &corev1.LocalObjectReferenceArgs{Name: pulumi.String(n)})
	}
	return out
}

func managerContainer(s FleetSettings, in workloadInputs) *corev1.ContainerArgs {
	m := s.Manager
	metrics := pulumi.String("metrics")
	probe := func(period, failures int) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			HttpGet:          &corev1.HTTPGetActionArgs{Path: pulumi.String("/metrics"), Port: metrics},
			PeriodSeconds:    pulumi.Int(period),
			TimeoutSeconds:   pulumi.Int(5),
			FailureThreshold: pulumi.Int(failures),
		}
	}
	fieldEnv := func(name, path string) *corev1.EnvVarArgs {
		return &corev1.EnvVarArgs{Name: pulumi.String(name), ValueFrom: &corev1.EnvVarSourceArgs{
			FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String(path)},
		}}
	}
	return &corev1.ContainerArgs{
		Name:            pulumi.String("runner"),
		Image:           pulumi.String(m.Image),
		ImagePullPolicy: pulumi.String("IfNotPresent"),
		Command:         pulumi.ToStringArray([]string{"/bin/sh", scriptDir + "/entrypoint.sh"}),
		Env: append(corev1.EnvVarArray{
			&corev1.EnvVarArgs{Name: pulumi.String("CI_SERVER_URL"), Value: pulumi.String(in.GitlabURL)},
			fieldEnv("POD_NAME", "metadata.name"),
			fieldEnv("POD_NAMESPACE", "metadata.namespace"),
			&corev1.EnvVarArgs{Name: pulumi.String("CONFIG_DIR"), Value: pulumi.String(configDir)},
			&corev1.EnvVarArgs{Name: pulumi.String("TEMPLATE_DIR"), Value: pulumi.String(templateDir)},
			&corev1.EnvVarArgs{Name: pulumi.String("RUNNER_TOKEN_FILE"), Value: pulumi.String(secretDir + "/" + tokenKey)},
			&corev1.EnvVarArgs{Name: pulumi.String("REGISTER_BUDGET_SECONDS"), Value: pulumi.String(fmt.Sprint(registerBudgetSeconds))},
			&corev1.EnvVarArgs{Name: pulumi.String("DRAIN_SECONDS"), Value: pulumi.String(fmt.Sprint(m.DrainSeconds()))},
			// The root file system is read-only; give the runner a writable home.
			&corev1.EnvVarArgs{Name: pulumi.String("HOME"), Value: pulumi.String("/tmp")},
		}, managerEnv(s, in.Pod)...),
		Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{
			Name: metrics, ContainerPort: pulumi.Int(MetricsPort), Protocol: pulumi.String("TCP"),
		}},
		Resources: resourceRequirements(m.Resources),
		// Registration may retry for minutes before the metrics port opens
		// (entrypoint.go: registerBudgetSeconds fits in this window).
		StartupProbe:   probe(startupPeriodSeconds, startupFailureThreshold),
		LivenessProbe:  probe(30, 3),
		ReadinessProbe: probe(10, 3),
		Lifecycle: &corev1.LifecycleArgs{PreStop: &corev1.LifecycleHandlerArgs{
			Exec: &corev1.ExecActionArgs{Command: pulumi.ToStringArray(PreStopCommand)},
		}},
		SecurityContext: &corev1.SecurityContextArgs{
			AllowPrivilegeEscalation: pulumi.Bool(false),
			Privileged:               pulumi.Bool(false),
			ReadOnlyRootFilesystem:   pulumi.Bool(true),
			RunAsNonRoot:             pulumi.Bool(true),
			Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
			SeccompProfile:           &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
		VolumeMounts: append(corev1.VolumeMountArray{
			volumeMount("config", configDir, false),
			volumeMount("tmp", "/tmp", false),
			volumeMount("templates", templateDir, true),
			volumeMount("scripts", scriptDir, true),
			volumeMount("token", secretDir, true),
		}, caMounts(in.Pod)...),
	}
}

// managerEnv are the variables of the cache credentials and the CA bundle.
func managerEnv(s FleetSettings, in podInputs) corev1.EnvVarArray {
	var env corev1.EnvVarArray
	if in.CacheSecret != nil {
		env = append(env, cacheEnv(s.Cache, in.CacheSecret)...)
	}
	if in.CASecret != nil {
		// register verifies the token over TLS with it (also in the template).
		env = append(env, &corev1.EnvVarArgs{Name: pulumi.String("CI_SERVER_TLS_CA_FILE"), Value: pulumi.String(caDir + "/" + caKey)})
	}
	return env
}

func caMounts(in podInputs) corev1.VolumeMountArray {
	if in.CASecret == nil {
		return nil
	}
	return corev1.VolumeMountArray{volumeMount("gitlab-ca", caDir, true)}
}

func volumeMount(name, path string, readOnly bool) *corev1.VolumeMountArgs {
	return &corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(path), ReadOnly: pulumi.Bool(readOnly)}
}

func antiAffinity(s FleetSettings) *corev1.AffinityArgs {
	term := &corev1.PodAffinityTermArgs{
		TopologyKey:   pulumi.String("kubernetes.io/hostname"),
		LabelSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(SelectorLabels(s))},
	}
	switch s.Manager.AntiAffinity {
	case "required":
		return &corev1.AffinityArgs{PodAntiAffinity: &corev1.PodAntiAffinityArgs{
			RequiredDuringSchedulingIgnoredDuringExecution: corev1.PodAffinityTermArray{term},
		}}
	case "preferred":
		return &corev1.AffinityArgs{PodAntiAffinity: &corev1.PodAntiAffinityArgs{
			PreferredDuringSchedulingIgnoredDuringExecution: corev1.WeightedPodAffinityTermArray{
				&corev1.WeightedPodAffinityTermArgs{Weight: pulumi.Int(100), PodAffinityTerm: term},
			},
		}}
	default:
		return nil
	}
}

func podTolerations(tolerations []Toleration) corev1.TolerationArray {
	var out corev1.TolerationArray
	for _, t := range tolerations {
		args := &corev1.TolerationArgs{Key: pulumi.String(t.Key), Operator: pulumi.String(stringOr(t.Operator, "Equal"))}
		if t.Value != "" {
			args.Value = pulumi.String(t.Value)
		}
		if t.Effect != "" {
			args.Effect = pulumi.String(t.Effect)
		}
		out = append(out, args)
	}
	return out
}

func resourceRequirements(r ContainerResources) *corev1.ResourceRequirementsArgs {
	list := func(values map[string]string) pulumi.StringMap {
		m := pulumi.StringMap{}
		for name, v := range values {
			if v != "" {
				m[name] = pulumi.String(v)
			}
		}
		return m
	}
	return &corev1.ResourceRequirementsArgs{
		Requests: list(map[string]string{"cpu": r.CPURequest, "memory": r.MemoryRequest, "ephemeral-storage": r.EphemeralStorageRequest}),
		Limits:   list(map[string]string{"cpu": r.CPULimit, "memory": r.MemoryLimit, "ephemeral-storage": r.EphemeralStorageLimit}),
	}
}

// podSecurityLabels enforce a Pod Security Standard level on a namespace.
// Audit and warn use the same level: a stricter one would flag every job pod
// the namespace rightly admits (jobsecurity.go builds them for this level).
func podSecurityLabels(level string) map[string]string {
	return map[string]string{
		"pod-security.kubernetes.io/enforce": level,
		"pod-security.kubernetes.io/audit":   level,
		"pod-security.kubernetes.io/warn":    level,
	}
}
