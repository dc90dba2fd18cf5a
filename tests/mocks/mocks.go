// Package mocks records every resource a Pulumi program registers, for
// assertions made after pulumi.RunErr returns (the pattern of pulumi/examples'
// testing-unit-go-components).
package mocks

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Registration is one RegisterResource call as the engine would see it.
type Registration struct {
	Type   string
	Name   string
	Custom bool
	// ParentType and ParentName identify the parent (empty: the stack).
	ParentType string
	ParentName string
	// Version is the provider plugin version the resource asks for.
	Version string
	// Inputs keep secrets and unknowns as the engine receives them.
	Inputs                  resource.PropertyMap
	AdditionalSecretOutputs []string
	Dependencies            []string
	// DeleteTimeout is the custom delete timeout ("" when unset).
	DeleteTimeout string
	// ReplacementTrigger is the pulumi.ReplacementTrigger value, if any.
	ReplacementTrigger any
	// AliasNames are the names of the resource's aliases (pulumi.Aliases).
	AliasNames []string
	// Provider is the provider reference ("<provider URN>::<id>") of a
	// custom resource or read; empty for the default provider.
	Provider string
}

// The API server the mocks' cluster reports.
const (
	MockAPIServerAddress = "10.96.0.1"
	MockAPIServerPort    = 6443
)

// Mocks answer like a provider would: inputs become outputs, auto-named
// Kubernetes objects get a suffix, and a UserRunner gets a secret token,
// unknown during a preview.
type Mocks struct {
	// Preview makes provider-computed outputs unknown, as in `pulumi preview`.
	Preview bool

	mu            sync.Mutex
	registrations []Registration
	nextID        int
}

// NewResource implements pulumi.MockResourceMonitor.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	reg := Registration{Type: args.TypeToken, Name: args.Name, Custom: args.Custom, Inputs: args.Inputs}
	if rpc := args.RegisterRPC; rpc != nil {
		if parent := resource.URN(rpc.GetParent()); parent != "" && parent.Type() != resource.RootStackType {
			reg.ParentType, reg.ParentName = string(parent.Type()), parent.Name()
		}
		reg.Version = rpc.GetVersion()
		reg.AdditionalSecretOutputs = rpc.GetAdditionalSecretOutputs()
		reg.Dependencies = rpc.GetDependencies()
		reg.DeleteTimeout = rpc.GetCustomTimeouts().GetDelete()
		if trigger := rpc.GetReplacementTrigger(); trigger != nil {
			reg.ReplacementTrigger = trigger.AsInterface()
		}
		reg.Provider = rpc.GetProvider()
		for _, alias := range rpc.GetAliases() {
			if spec := alias.GetSpec(); spec != nil && spec.GetName() != "" {
				reg.AliasNames = append(reg.AliasNames, spec.GetName())
			}
		}
	}
	if rpc := args.ReadRPC; rpc != nil {
		reg.Provider = rpc.GetProvider()
	}
	m.registrations = append(m.registrations, reg)

	outputs := args.Inputs.Copy()
	id := fmt.Sprintf("%s-id-%d", args.Name, m.nextID)
	switch {
	case args.TypeToken == "gitlab:index/userRunner:UserRunner":
		id = fmt.Sprint(1000 + m.nextID)
		if !m.Preview {
			outputs["token"] = resource.MakeSecret(resource.NewProperty("glrt-mock-" + args.Name))
		}
	case args.TypeToken == "kubernetes:discovery.k8s.io/v1:EndpointSlice" && args.ID != "":
		// A read of the API server's addresses (components.DiscoverAPIServer).
		outputs["endpoints"] = resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{
			"addresses": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(MockAPIServerAddress)}),
		})})
		outputs["ports"] = resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{
			"port": resource.NewProperty(float64(MockAPIServerPort)),
		})})
		return args.ID, outputs, nil
	case strings.HasPrefix(args.TypeToken, "kubernetes:"):
		meta := resource.PropertyMap{}
		if v, ok := outputs["metadata"]; ok && v.IsObject() {
			meta = v.ObjectValue().Copy()
		}
		if _, named := meta["name"]; !named {
			meta["name"] = resource.NewProperty(args.Name + "-mock1234")
		}
		outputs["metadata"] = resource.NewProperty(meta)
	}
	if m.Preview {
		id = ""
	}
	return id, outputs, nil
}

// Call implements pulumi.MockResourceMonitor; the program makes no calls.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected call to %s", args.Token)
}

// All returns every registration in order.
func (m *Mocks) All() []Registration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.registrations)
}

// OfType returns the registrations of one type token.
func (m *Mocks) OfType(typ string) []Registration {
	var out []Registration
	for _, r := range m.All() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Find returns the registration of a type and logical name, or nil.
func (m *Mocks) Find(typ, name string) *Registration {
	for _, r := range m.All() {
		if r.Type == typ && r.Name == name {
			return &r
		}
	}
	return nil
}

// Get follows a path of object keys through inputs ("spec", "template", ...),
// unwrapping secrets; ok is false when a key is missing.
func Get(props resource.PropertyMap, path ...string) (resource.PropertyValue, bool) {
	v := resource.NewProperty(props)
	for _, key := range path {
		for v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !v.IsObject() {
			return resource.PropertyValue{}, false
		}
		next, ok := v.ObjectValue()[resource.PropertyKey(key)]
		if !ok {
			return resource.PropertyValue{}, false
		}
		v = next
	}
	return v, true
}

// String returns the string at path, unwrapping secrets.
func String(props resource.PropertyMap, path ...string) string {
	v, ok := Get(props, path...)
	for ok && v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !ok || !v.IsString() {
		return ""
	}
	return v.StringValue()
}

// ContainsSecret reports whether any value at or below v is a secret.
func ContainsSecret(v resource.PropertyValue) bool {
	switch {
	case v.IsSecret():
		return true
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			if ContainsSecret(e) {
				return true
			}
		}
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			if ContainsSecret(e) {
				return true
			}
		}
	}
	return false
}

// Run runs a Pulumi program against fresh mocks with the given stack
// settings (full keys such as "gitlab-runner-fleet:fleets"; structured values
// as JSON); secretKeys lists the settings that are secret.
func Run(program pulumi.RunFunc, config map[string]string, secretKeys []string) (*Mocks, error) {
	m := &Mocks{}
	err := pulumi.RunErr(program, pulumi.WithMocks("gitlab-runner-fleet", "test", m), func(info *pulumi.RunInfo) {
		info.Config = config
		info.ConfigSecretKeys = secretKeys
	})
	return m, err
}
