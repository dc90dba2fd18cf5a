package fleet

import (
	"cmp"
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/entrypoint"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// Paths inside the manager container.
const (
	configDir   = "/etc/gitlab-runner" // emptyDir: config.toml and .runner_system_id
	templateDir = "/configmaps"        // config.toml and runner-template.toml
	scriptDir   = "/scripts"           // entrypoint.sh
	secretDir   = "/secrets"           // runner-token
)

// workloadInputs are the names and checksums a manager pod refers to: the
// specs of the runner manager workload (the StatefulSet, its headless
// Service and its PodDisruptionBudget) are built from them.
type workloadInputs struct {
	Namespace          pulumi.StringInput
	ServiceAccountName pulumi.StringInput
	ConfigMapName      pulumi.StringInput
	EntrypointName     pulumi.StringInput
	// Token is the Secret the pod mounts the token from.
	Token tokenSecret
	// Pod is what the capabilities add to the pod (capability.go).
	Pod managerPod
	// ConfigChecksum shows in previews that a config change rolls the pods.
	ConfigChecksum pulumi.StringInput
	GitlabURL      string
}

func headlessServiceArgs(s settings.FleetSettings, namespace pulumi.StringInput) *corev1.ServiceArgs {
	return &corev1.ServiceArgs{
		Metadata: objectMeta(s, s.Name, namespace),
		Spec: &corev1.ServiceSpecArgs{
			ClusterIP: pulumi.String("None"),
			Selector:  pulumi.ToStringMap(SelectorLabels(s)),
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name:       pulumi.String("metrics"),
				Port:       pulumi.Int(settings.MetricsPort),
				TargetPort: pulumi.String("metrics"),
			}},
		},
	}
}

func podDisruptionBudgetArgs(s settings.FleetSettings, namespace pulumi.StringInput) *policyv1.PodDisruptionBudgetArgs {
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
// run must not fail `up`; the program reports, and on request waits for, the
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
func DeleteTimeout(m settings.ManagerSettings) string {
	return fmt.Sprintf("%ds", m.TerminationGracePeriodSeconds+deleteTimeoutMargin)
}

// deleteTimeoutMargin covers the kubelet's and the garbage collector's delays.
const deleteTimeoutMargin = 120

func statefulSetArgs(s settings.FleetSettings, in workloadInputs) *appsv1.StatefulSetArgs {
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
					Labels:      pulumi.ToStringMap(merged(m.PodLabels, workloadLabels(s))),
					Annotations: podAnnotations(m, in.ConfigChecksum),
				},
				Spec: podSpec(s, in),
			},
		},
	}
}

// podAnnotations are the manager pods' own annotations and the checksum.
func podAnnotations(m settings.ManagerSettings, configChecksum pulumi.StringInput) pulumi.StringMap {
	annotations := pulumi.StringMap{}
	for k, v := range m.PodAnnotations {
		annotations[k] = pulumi.String(v)
	}
	annotations["checksum/config"] = configChecksum
	return annotations
}

func podSpec(s settings.FleetSettings, in workloadInputs) *corev1.PodSpecArgs {
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
				SecretName: in.Token.Name, DefaultMode: pulumi.Int(0o440),
				Items: corev1.KeyToPathArray{&corev1.KeyToPathArgs{Key: pulumi.String(in.Token.Key), Path: pulumi.String(settings.DefaultTokenKey)}},
			}},
		}, in.Pod.Volumes...),
	}
}

func pullSecrets(names []string) corev1.LocalObjectReferenceArray {
	var out corev1.LocalObjectReferenceArray
	for _, n := range names {
		out = append(out, &corev1.LocalObjectReferenceArgs{Name: pulumi.String(n)})
	}
	return out
}

func managerContainer(s settings.FleetSettings, in workloadInputs) *corev1.ContainerArgs {
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
		Command:         pulumi.ToStringArray([]string{"/bin/sh", scriptDir + "/" + entrypoint.FileName}),
		Env: append(corev1.EnvVarArray{
			&corev1.EnvVarArgs{Name: pulumi.String("CI_SERVER_URL"), Value: pulumi.String(in.GitlabURL)},
			fieldEnv("POD_NAME", "metadata.name"),
			fieldEnv("POD_NAMESPACE", "metadata.namespace"),
			&corev1.EnvVarArgs{Name: pulumi.String("CONFIG_DIR"), Value: pulumi.String(configDir)},
			&corev1.EnvVarArgs{Name: pulumi.String("TEMPLATE_DIR"), Value: pulumi.String(templateDir)},
			&corev1.EnvVarArgs{Name: pulumi.String("RUNNER_TOKEN_FILE"), Value: pulumi.String(secretDir + "/" + settings.DefaultTokenKey)},
			&corev1.EnvVarArgs{Name: pulumi.String("REGISTER_BUDGET_SECONDS"), Value: pulumi.String(fmt.Sprint(registerBudgetSeconds))},
			&corev1.EnvVarArgs{Name: pulumi.String("DRAIN_SECONDS"), Value: pulumi.String(fmt.Sprint(m.DrainSeconds()))},
			// The root file system is read-only; give the runner a writable home.
			&corev1.EnvVarArgs{Name: pulumi.String("HOME"), Value: pulumi.String("/tmp")},
		}, in.Pod.Env...),
		Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{
			Name: metrics, ContainerPort: pulumi.Int(settings.MetricsPort), Protocol: pulumi.String("TCP"),
		}},
		Resources: resourceRequirements(m.Resources),
		// Registration may retry for minutes before the metrics port opens
		// (its deadline, registerBudgetSeconds, is inside this window).
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
		}, in.Pod.Mounts...),
	}
}

func volumeMount(name, path string, readOnly bool) *corev1.VolumeMountArgs {
	return &corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(path), ReadOnly: pulumi.Bool(readOnly)}
}

func antiAffinity(s settings.FleetSettings) *corev1.AffinityArgs {
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

func podTolerations(tolerations []settings.Toleration) corev1.TolerationArray {
	var out corev1.TolerationArray
	for _, t := range tolerations {
		args := &corev1.TolerationArgs{Key: pulumi.String(t.Key), Operator: pulumi.String(cmp.Or(t.Operator, "Equal"))}
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

func resourceRequirements(r settings.ContainerResources) *corev1.ResourceRequirementsArgs {
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

// PreStopCommand is the manager container's preStop hook: SIGQUIT to the
// runner, then wait for it to finish its jobs, at most DRAIN_SECONDS
// (settings.ManagerSettings.DrainSeconds).
var PreStopCommand = []string{"/bin/sh", scriptDir + "/" + entrypoint.FileName, "prestop"}

// registerBudgetSeconds is the deadline, by the clock, of the token
// verification (attempts and the delays between them; an attempt still
// running then is stopped): it ends well inside the startup probe's window
// (startupPeriodSeconds × startupFailureThreshold), leaving the runner time
// to open its metrics port.
const (
	startupPeriodSeconds    = 10
	startupFailureThreshold = 60
	registerBudgetSeconds   = startupPeriodSeconds * startupFailureThreshold * 7 / 10
)
