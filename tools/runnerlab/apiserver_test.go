package runnerlab_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
)

// apiServer is what the runner's Kubernetes executor talks to in these
// tests: the REST API of a Kubernetes API server over HTTP, backed by
// client-go's fake object tracker (the store of its fake clientset). The
// executor builds its own client from [runners.kubernetes] host, so it cannot
// be handed a fake clientset; it gets this address instead.
//
// It serves what the executor asks for up to and around the creation of a
// job pod: GET /version, SelfSubjectAccessReviews (always denied, so the
// executor polls instead of using informers, as with a Role without pods
// list/watch), and create, get, list, update and delete of the namespaced
// resources below. Every created pod is recorded as sent and then reported
// as Failed, as a node that cannot run it would, so the job ends right after
// its pod was built. Anything else is answered 404 and recorded in
// unexpected; it does no server-side defaulting, validation or admission
// (the e2e tests create the runner's pods in a real API server).
type apiServer struct {
	*httptest.Server
	tracker k8stesting.ObjectTracker

	mu         sync.Mutex
	pods       []*corev1.Pod
	unexpected []string
}

// served are the resources the executor may touch, by their path segment.
var served = map[string]schema.GroupVersionKind{
	"pods":                   corev1.SchemeGroupVersion.WithKind("Pod"),
	"secrets":                corev1.SchemeGroupVersion.WithKind("Secret"),
	"serviceaccounts":        corev1.SchemeGroupVersion.WithKind("ServiceAccount"),
	"services":               corev1.SchemeGroupVersion.WithKind("Service"),
	"events":                 corev1.SchemeGroupVersion.WithKind("Event"),
	"poddisruptionbudgets":   schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
	"configmaps":             corev1.SchemeGroupVersion.WithKind("ConfigMap"),
	"persistentvolumeclaims": corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"),
}

func newAPIServer(t *testing.T, objects ...runtime.Object) *apiServer {
	t.Helper()
	s := &apiServer{tracker: k8stesting.NewObjectTracker(scheme.Scheme, scheme.Codecs.UniversalDecoder())}
	for _, o := range objects {
		if err := s.tracker.Add(o); err != nil {
			t.Fatalf("api server: adding %T: %v", o, err)
		}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// createdPods are the pods the executor created, as it sent them.
func (s *apiServer) createdPods() []*corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*corev1.Pod(nil), s.pods...)
}

func (s *apiServer) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/version":
		writeJSON(w, http.StatusOK, version.Info{Major: "1", Minor: "34", GitVersion: "v1.34.4"})
		return
	case r.Method == http.MethodPost && r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
		var review map[string]any
		_ = json.NewDecoder(r.Body).Decode(&review)
		review["status"] = map[string]any{"allowed": false, "reason": "the test API server grants no informers"}
		writeJSON(w, http.StatusCreated, review)
		return
	}
	namespace, resource, name, ok := parseNamespacedPath(r.URL.Path)
	gvk, known := served[resource]
	if !ok || !known {
		s.refuse(w, r)
		return
	}
	gvr := gvk.GroupVersion().WithResource(resource)
	switch {
	case r.Method == http.MethodPost && name == "":
		obj, err := s.decode(r, gvk)
		if err != nil {
			writeStatus(w, apierrors.NewBadRequest(err.Error()))
			return
		}
		meta := obj.(metav1.Object)
		if meta.GetName() == "" && meta.GetGenerateName() != "" {
			meta.SetName(meta.GetGenerateName() + "x1y2z")
		}
		meta.SetNamespace(namespace)
		meta.SetUID(types.UID("uid-" + meta.GetName()))
		if pod, isPod := obj.(*corev1.Pod); isPod {
			s.mu.Lock()
			s.pods = append(s.pods, pod.DeepCopy())
			s.mu.Unlock()
			pod.Status = corev1.PodStatus{Phase: corev1.PodFailed, Reason: "TestAPIServer", Message: "the test API server runs no pods"}
		}
		if err := s.tracker.Create(gvr, obj, namespace); err != nil {
			writeStatus(w, err)
			return
		}
		writeObject(w, http.StatusCreated, obj, gvk)
	case r.Method == http.MethodGet && name != "":
		obj, err := s.tracker.Get(gvr, namespace, name)
		if err != nil {
			writeStatus(w, err)
			return
		}
		writeObject(w, http.StatusOK, obj, gvk)
	case r.Method == http.MethodGet && r.URL.Query().Get("watch") == "":
		list, err := s.tracker.List(gvr, gvk, namespace)
		if err != nil {
			writeStatus(w, err)
			return
		}
		writeObject(w, http.StatusOK, list, gvk.GroupVersion().WithKind(gvk.Kind+"List"))
	case r.Method == http.MethodPut && name != "":
		obj, err := s.decode(r, gvk)
		if err != nil {
			writeStatus(w, apierrors.NewBadRequest(err.Error()))
			return
		}
		if err := s.tracker.Update(gvr, obj, namespace); err != nil {
			writeStatus(w, err)
			return
		}
		writeObject(w, http.StatusOK, obj, gvk)
	case r.Method == http.MethodDelete && name != "":
		if _, err := s.tracker.Get(gvr, namespace, name); err != nil {
			writeStatus(w, err)
			return
		}
		if err := s.tracker.Delete(gvr, namespace, name); err != nil {
			writeStatus(w, err)
			return
		}
		writeJSON(w, http.StatusOK, metav1.Status{Status: metav1.StatusSuccess})
	default:
		s.refuse(w, r)
	}
}

// refuse answers 404 and records the request.
func (s *apiServer) refuse(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.unexpected = append(s.unexpected, r.Method+" "+r.URL.String())
	s.mu.Unlock()
	writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Resource: r.URL.Path}, ""))
}

func (s *apiServer) decode(r *http.Request, gvk schema.GroupVersionKind) (runtime.Object, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, &gvk, nil)
	return obj, err
}

// parseNamespacedPath splits /api/v1/namespaces/NS/RESOURCE[/NAME] and
// /apis/GROUP/VERSION/namespaces/NS/RESOURCE[/NAME].
func parseNamespacedPath(path string) (namespace, resource, name string, ok bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return "", "", "", false
	}
	if len(parts) < 3 || len(parts) > 4 || parts[0] != "namespaces" {
		return "", "", "", false
	}
	if len(parts) == 4 {
		name = parts[3]
	}
	return parts[1], parts[2], name, true
}

// writeObject writes obj with its kind, which the tracker's objects lack and
// clients need to decode them.
func writeObject(w http.ResponseWriter, code int, obj runtime.Object, gvk schema.GroupVersionKind) {
	obj = obj.DeepCopyObject()
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	writeJSON(w, code, obj)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeStatus(w http.ResponseWriter, err error) {
	status, ok := err.(apierrors.APIStatus)
	if !ok {
		status = apierrors.NewInternalError(fmt.Errorf("%w", err))
	}
	s := status.Status()
	s.Kind, s.APIVersion = "Status", "v1"
	writeJSON(w, int(s.Code), s)
}
