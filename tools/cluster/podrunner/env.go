package podrunner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
)

// sources are the API objects a pod's environment and volumes name.
type sources interface {
	secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	configMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	// services lists the Services of namespace.
	services(ctx context.Context, namespace string) ([]corev1.Service, error)
	// allocatable is a node's allocatable resources.
	allocatable(ctx context.Context, node string) (corev1.ResourceList, error)
}

// apiSources reads them from the API server.
type apiSources struct{ cs kubernetes.Interface }

func (s apiSources) secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return s.cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

func (s apiSources) configMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	return s.cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
}

func (s apiSources) services(ctx context.Context, ns string) ([]corev1.Service, error) {
	list, err := s.cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

func (s apiSources) allocatable(ctx context.Context, node string) (corev1.ResourceList, error) {
	n, err := s.cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return n.Status.Allocatable, nil
}

// configError is a problem with a pod's spec or the objects it names: the
// container waits with CreateContainerConfigError and the runner tries
// again later, as the kubelet does.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

func configErrorf(format string, args ...any) error {
	return configError{fmt.Errorf(format, args...)}
}

// containerEnv is a container's environment as the kubelet makes it: the
// Services' variables, then envFrom, then env (each value expanding
// $(NAME) references to the variables defined before it and to the
// Services' ones), resolving Secrets, ConfigMaps and downward API fields.
func containerEnv(ctx context.Context, src sources, pod *corev1.Pod, c *corev1.Container) (map[string]string, error) {
	serviceEnv, err := serviceEnvironment(ctx, src, pod)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		var data map[string]string
		switch {
		case from.ConfigMapRef != nil:
			cm, err := src.configMap(ctx, pod.Namespace, from.ConfigMapRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional(from.ConfigMapRef.Optional) {
					continue
				}
				return nil, configErrorf("envFrom configmap %q: %w", from.ConfigMapRef.Name, err)
			}
			data = cm.Data
		case from.SecretRef != nil:
			s, err := src.secret(ctx, pod.Namespace, from.SecretRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional(from.SecretRef.Optional) {
					continue
				}
				return nil, configErrorf("envFrom secret %q: %w", from.SecretRef.Name, err)
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		}
		for k, v := range data {
			// Keys that are no variable names are skipped (the kubelet
			// records an event for them).
			if len(validation.IsRelaxedEnvVarName(from.Prefix+k)) == 0 {
				env[from.Prefix+k] = v
			}
		}
	}
	lookup := func(name string) (string, bool) {
		if v, ok := env[name]; ok {
			return v, true
		}
		v, ok := serviceEnv[name]
		return v, ok
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expand(e.Value, lookup)
			continue
		}
		v, skip, err := envValueFrom(ctx, src, pod, c, e)
		if err != nil {
			return nil, err
		}
		if !skip {
			env[e.Name] = v
		}
	}
	for k, v := range serviceEnv {
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	return env, nil
}

func optional(b *bool) bool { return b != nil && *b }

// envValueFrom resolves one valueFrom; skip is true for a missing optional
// key.
func envValueFrom(ctx context.Context, src sources, pod *corev1.Pod, c *corev1.Container, e corev1.EnvVar) (string, bool, error) {
	from := e.ValueFrom
	switch {
	case from.FieldRef != nil:
		v, err := podFieldValue(pod, from.FieldRef.FieldPath)
		if err != nil {
			return "", false, configErrorf("env %s: %w", e.Name, err)
		}
		return v, false, nil
	case from.ResourceFieldRef != nil:
		target := c
		if name := from.ResourceFieldRef.ContainerName; name != "" && name != c.Name {
			target = findContainer(pod, name)
			if target == nil {
				return "", false, configErrorf("env %s: no container %q", e.Name, name)
			}
		}
		alloc, err := src.allocatable(ctx, pod.Spec.NodeName)
		if err != nil {
			return "", false, fmt.Errorf("env %s: node %s: %w", e.Name, pod.Spec.NodeName, err)
		}
		v, err := resourceFieldValue(target, from.ResourceFieldRef, alloc)
		if err != nil {
			return "", false, configErrorf("env %s: %w", e.Name, err)
		}
		return v, false, nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := src.secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", true, nil
			}
			return "", false, configErrorf("env %s: secret %q: %w", e.Name, ref.Name, err)
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if optional(ref.Optional) {
				return "", true, nil
			}
			return "", false, configErrorf("env %s: couldn't find key %s in Secret %s/%s", e.Name, ref.Key, pod.Namespace, ref.Name)
		}
		return string(v), false, nil
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := src.configMap(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", true, nil
			}
			return "", false, configErrorf("env %s: configmap %q: %w", e.Name, ref.Name, err)
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if optional(ref.Optional) {
				return "", true, nil
			}
			return "", false, configErrorf("env %s: couldn't find key %s in ConfigMap %s/%s", e.Name, ref.Key, pod.Namespace, ref.Name)
		}
		return v, false, nil
	}
	return "", false, configErrorf("env %s: unsupported valueFrom (this pod runner resolves fieldRef, resourceFieldRef, secretKeyRef and configMapKeyRef)", e.Name)
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// serviceEnvironment is the Docker-links style variables of the Services a
// pod sees: those of its namespace when enableServiceLinks is not false,
// and always the kubernetes Service in default.
func serviceEnvironment(ctx context.Context, src sources, pod *corev1.Pod) (map[string]string, error) {
	var services []corev1.Service
	if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
		list, err := src.services(ctx, pod.Namespace)
		if err != nil {
			return nil, fmt.Errorf("list services of %s: %w", pod.Namespace, err)
		}
		services = list
	}
	if pod.Namespace != metav1.NamespaceDefault || !(pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks) {
		list, err := src.services(ctx, metav1.NamespaceDefault)
		if err != nil {
			return nil, fmt.Errorf("list services of default: %w", err)
		}
		for _, s := range list {
			if s.Name == "kubernetes" {
				services = append(services, s)
			}
		}
	}
	env := map[string]string{}
	for _, s := range services {
		ip := s.Spec.ClusterIP
		if ip == "" || ip == corev1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		prefix := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
		first := s.Spec.Ports[0]
		env[prefix+"_SERVICE_HOST"] = ip
		env[prefix+"_SERVICE_PORT"] = strconv.Itoa(int(first.Port))
		env[prefix+"_PORT"] = serviceURL(first, ip)
		for _, p := range s.Spec.Ports {
			if p.Name != "" {
				env[prefix+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))] = strconv.Itoa(int(p.Port))
			}
			base := prefix + "_PORT_" + strconv.Itoa(int(p.Port)) + "_" + strings.ToUpper(string(p.Protocol))
			env[base] = serviceURL(p, ip)
			env[base+"_PROTO"] = strings.ToLower(string(p.Protocol))
			env[base+"_PORT"] = strconv.Itoa(int(p.Port))
			env[base+"_ADDR"] = ip
		}
	}
	return env, nil
}

func serviceURL(p corev1.ServicePort, ip string) string {
	return strings.ToLower(string(p.Protocol)) + "://" + ip + ":" + strconv.Itoa(int(p.Port))
}

// expand replaces $(NAME) by NAME's value where lookup knows it, keeps the
// reference as it is otherwise, and turns $$ into $ (Kubernetes' syntax for
// env values, command and args).
func expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// environ renders env as NAME=value lines, sorted.
func environ(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
