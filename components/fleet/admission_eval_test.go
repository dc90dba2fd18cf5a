package fleet_test

// The admission policies as the API server runs them: each policy the fleet
// registers (read back from the mocks, as the engine would send it) is
// compiled and evaluated with Kubernetes' own ValidatingAdmissionPolicy code
// (k8s.io/apiserver at the cluster's release, v0.34.4): its match
// constraints (namespace selector, resource rules, operations), its match
// conditions and its validations, CEL semantics included. Tests then send
// sample requests and read the API server's decision, instead of reading
// the expressions' text.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/generic"
	"k8s.io/apiserver/pkg/admission/plugin/policy/matching"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// apiServer evaluates admission requests against a set of policies.
type apiServer struct {
	policies []compiledPolicy
	matcher  generic.PolicyMatcher
}

type compiledPolicy struct {
	policy    *admissionregistrationv1.ValidatingAdmissionPolicy
	validator validating.Validator
}

// admissionOf compiles every ValidatingAdmissionPolicy the mocks recorded
// that some recorded binding binds with Deny, in namespaces that carry their
// name label (as the API server sets it on every namespace).
func admissionOf(t *testing.T, m *mocks.Mocks, namespaces ...string) *apiServer {
	t.Helper()
	bound := map[string]bool{}
	for _, r := range m.OfType(tVAPBinding) {
		var b admissionregistrationv1.ValidatingAdmissionPolicyBinding
		decode(t, r, &b)
		require.Equal(t, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}, b.Spec.ValidationActions, "binding %s denies", r.Name)
		require.Nil(t, b.Spec.MatchResources, "binding %s narrows nothing further", r.Name)
		bound[b.Spec.PolicyName] = true
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, ns := range namespaces {
		require.NoError(t, indexer.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{corev1.LabelMetadataName: ns}}}))
	}
	s := &apiServer{matcher: generic.NewPolicyMatcher(matching.NewMatcher(listersv1.NewNamespaceLister(indexer), nil))}
	for _, r := range m.OfType(tVAP) {
		p := &admissionregistrationv1.ValidatingAdmissionPolicy{}
		decode(t, r, p)
		require.True(t, bound[p.Name], "policy %s has a binding", p.Name)
		require.NotNil(t, p.Spec.MatchConstraints, p.Name)
		// The API server's defaults (SetDefaults_MatchResources): selectors
		// left out select everything. (Its matchPolicy default, Equivalent,
		// adds nothing for core v1 resources, which have no other version.)
		if p.Spec.MatchConstraints.ObjectSelector == nil {
			p.Spec.MatchConstraints.ObjectSelector = &metav1.LabelSelector{}
		}
		if p.Spec.MatchConstraints.NamespaceSelector == nil {
			p.Spec.MatchConstraints.NamespaceSelector = &metav1.LabelSelector{}
		}
		s.policies = append(s.policies, compiledPolicy{policy: p, validator: compile(t, p)})
	}
	require.NotEmpty(t, s.policies)
	return s
}

// decode turns a recorded registration's inputs into a Kubernetes object.
func decode(t *testing.T, r mocks.Registration, into any) {
	t.Helper()
	data, err := json.Marshal(r.Inputs.Mappable())
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, into))
}

// compile compiles a policy as the API server does for a policy it stores:
// its match conditions, validations and message expressions, with the
// environment of new expressions (the stricter one, used when a policy is
// created) and strict cost enforcement.
func compile(t *testing.T, p *admissionregistrationv1.ValidatingAdmissionPolicy) validating.Validator {
	t.Helper()
	compiler, err := cel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion(), true))
	require.NoError(t, err)
	vars := cel.OptionalVariableDeclarations{HasParams: false, HasAuthorizer: true, StrictCost: true}
	var conditions []cel.ExpressionAccessor
	for i := range p.Spec.MatchConditions {
		conditions = append(conditions, (*matchconditions.MatchCondition)(&p.Spec.MatchConditions[i]))
	}
	var validations, messages []cel.ExpressionAccessor
	for _, v := range p.Spec.Validations {
		validations = append(validations, &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason})
		messages = append(messages, nil)
		if v.MessageExpression != "" {
			messages[len(messages)-1] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
	}
	for _, c := range append(append([]cel.ExpressionAccessor{}, conditions...), validations...) {
		result := compiler.CompileAndStoreVariable(namedExpression{c}, vars, environment.NewExpressions)
		require.Nil(t, result.Error, "policy %s: %q does not compile", p.Name, c.GetExpression())
	}
	var matcher matchconditions.Matcher
	if len(conditions) > 0 {
		matcher = matchconditions.NewMatcher(compiler.CompileCondition(conditions, vars, environment.NewExpressions), p.Spec.FailurePolicy, "policy", "validate", p.Name)
	}
	noAuthz := vars
	noAuthz.HasAuthorizer = false
	return validating.NewValidator(
		compiler.CompileCondition(validations, vars, environment.NewExpressions),
		matcher,
		compiler.CompileCondition(nil, vars, environment.NewExpressions),
		compiler.CompileCondition(messages, noAuthz, environment.NewExpressions),
		p.Spec.FailurePolicy,
	)
}

// namedExpression lets an expression be compiled on its own, to report a
// compile error at once (CompileCondition would only report it when run).
type namedExpression struct{ cel.ExpressionAccessor }

func (namedExpression) GetName() string { return "check" }

// request is one admission request.
type request struct {
	user      string
	operation admission.Operation
	namespace string
	object    runtime.Object // nil for DELETE
	oldObject runtime.Object // nil for CREATE
}

// resources are the core resources the policies guard, by the kind of object.
var resources = map[string]string{"Pod": "pods", "Secret": "secrets", "Service": "services", "ConfigMap": "configmaps"}

// admit runs the request through every policy, as the API server's
// admission would: nil when admitted, else an error holding each refusal.
func (s *apiServer) admit(t *testing.T, r request) error {
	t.Helper()
	obj := r.object
	if obj == nil {
		obj = r.oldObject
	}
	kind := strings.TrimPrefix(fmt.Sprintf("%T", obj), "*v1.")
	gvk := schema.GroupVersionKind{Version: "v1", Kind: kind}
	gvr := schema.GroupVersionResource{Version: "v1", Resource: resources[kind]}
	require.NotEmpty(t, gvr.Resource, "a kind the tests know: %s", kind)
	name := obj.(metav1.Object).GetName()
	attr := admission.NewAttributesRecord(r.object, r.oldObject, gvk, r.namespace, name, gvr, "", r.operation, nil, false,
		&user.DefaultInfo{Name: r.user})
	versioned := &admission.VersionedAttributes{Attributes: attr, VersionedKind: gvk, VersionedObject: r.object, VersionedOldObject: r.oldObject}
	var refusals []string
	for _, p := range s.policies {
		matches, matchedResource, _, err := s.matcher.DefinitionMatches(attr, nil, validating.NewValidatingAdmissionPolicyAccessor(p.policy))
		require.NoError(t, err)
		if !matches {
			continue
		}
		result := p.validator.Validate(context.Background(), matchedResource, versioned, nil,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.namespace}}, celconfig.RuntimeCELCostBudget, nil)
		for _, d := range result.Decisions {
			switch {
			case d.Evaluation == validating.EvalError:
				refusals = append(refusals, p.policy.Name+": evaluation error: "+d.Message)
			case d.Action == validating.ActionDeny:
				refusals = append(refusals, p.policy.Name+": "+d.Message)
			}
		}
	}
	if len(refusals) > 0 {
		return errors.New(strings.Join(refusals, "\n"))
	}
	return nil
}
