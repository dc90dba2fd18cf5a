package provider

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// The package's schema is made, when the provider starts, from the Go types
// the settings decoder decodes into (settings.Fields walks them for both),
// so a setting the program accepts is a property of the component, with
// the same key and type, and the two cannot drift.

// Name is the package's name: the prefix of the component's type token,
// as the program registers it (fleet.RunnerFleetType).
const Name = "gitlab-runner-fleet"

// Version is the package's version (set at build time with
// -ldflags "-X .../provider.Version=...").
var Version = "0.1.0"

// Inputs of the component beyond a fleet's settings: what the program
// reads from its own stack settings for every fleet.
const (
	gitlabURLInput = "gitlabUrl"
	apiServerInput = "apiServer"
)

// notInputs are the fleet settings a component does not take: cluster
// names one of the program's clusters, where a component runs with the
// Kubernetes provider its program gives it (construct refuses it).
var notInputs = map[string]bool{"cluster": true}

// composable are the settings that may be outputs of other resources of
// the program (a gitlab.Group's id): inputs in every language's SDK. Every
// other setting is a plain value, known when the fleet is created, since
// it decides which objects the fleet makes.
var composable = map[string]bool{
	"runner.groupId":            true,
	"runner.projectId":          true,
	"cache.s3.bucketName":       true,
	"cache.gcs.bucketName":      true,
	"cache.azure.containerName": true,
}

// spec is the part of a Pulumi package schema this package uses.
type spec struct {
	Name        string                  `json:"name"`
	Version     string                  `json:"version"`
	DisplayName string                  `json:"displayName"`
	Description string                  `json:"description"`
	Keywords    []string                `json:"keywords"`
	Repository  string                  `json:"repository"`
	License     string                  `json:"license"`
	Resources   map[string]resourceSpec `json:"resources"`
	Types       map[string]objectSpec   `json:"types"`
	Language    map[string]any          `json:"language"`
}

type resourceSpec struct {
	IsComponent     bool                    `json:"isComponent"`
	Description     string                  `json:"description"`
	InputProperties map[string]propertySpec `json:"inputProperties"`
	RequiredInputs  []string                `json:"requiredInputs,omitempty"`
	Properties      map[string]propertySpec `json:"properties"`
	Required        []string                `json:"required"`
}

type objectSpec struct {
	Type        string                  `json:"type"`
	Description string                  `json:"description,omitempty"`
	Properties  map[string]propertySpec `json:"properties"`
	Required    []string                `json:"required,omitempty"`
}

type propertySpec struct {
	Type                 string        `json:"type,omitempty"`
	Ref                  string        `json:"$ref,omitempty"`
	Items                *propertySpec `json:"items,omitempty"`
	AdditionalProperties *propertySpec `json:"additionalProperties,omitempty"`
	Description          string        `json:"description,omitempty"`
	Plain                bool          `json:"plain,omitempty"`
	Secret               bool          `json:"secret,omitempty"`
}

// Schema is the package's schema (JSON), for `pulumi package get-schema`
// and the SDKs `pulumi package add` generates.
func Schema() (string, error) {
	types := map[string]objectSpec{}
	inputs, err := properties(reflect.TypeFor[settings.FleetSettings](), "", types)
	if err != nil {
		return "", err
	}
	for key := range notInputs {
		delete(inputs, key)
	}
	inputs[gitlabURLInput] = propertySpec{Type: "string", Plain: true,
		Description: "The address the runner managers reach GitLab at (https://; http:// only on loopback). Default: the stack's gitlab:baseUrl without api/v4/."}
	api, err := describe(reflect.TypeFor[settings.APIServerSetting](), apiServerInput, types)
	if err != nil {
		return "", err
	}
	api.Description = "Where the cluster's API server listens ({cidrs, port}), for the NetworkPolicies. Default: read from the cluster (the kubernetes Service's EndpointSlice)."
	inputs[apiServerInput] = api

	outputs := map[string]propertySpec{}
	fleetType := reflect.TypeFor[fleet.RunnerFleet]()
	for i := range fleetType.NumField() {
		f := fleetType.Field(i)
		if name, ok := f.Tag.Lookup("pulumi"); ok {
			if f.Type != reflect.TypeFor[pulumi.StringOutput]() {
				return "", fmt.Errorf("RunnerFleet.%s: outputs other than strings are not described", f.Name)
			}
			outputs[name] = propertySpec{Type: "string"}
		}
	}

	s := spec{
		Name:        Name,
		Version:     Version,
		DisplayName: "GitLab Runner Fleet",
		Description: "GitLab CI runners (Kubernetes executor) in Kubernetes: the runner and its token in GitLab, and the objects that run and contain its managers and jobs.",
		Keywords:    []string{"gitlab", "gitlab-runner", "kubernetes", "category/infrastructure", "kind/component"},
		Repository:  "https://github.com/glrf/gitlab-runner-fleet",
		License:     "Apache-2.0",
		Resources: map[string]resourceSpec{fleet.RunnerFleetType: {
			IsComponent:     true,
			Description:     "One GitLab runner fleet: a runner in GitLab and the StatefulSet of managers serving it, with their namespaces, RBAC, NetworkPolicies and quotas. Its properties are the settings of one fleet of the program's stack file (docs/configuration.md, docs/reference/settings.md), checked alike.",
			InputProperties: inputs,
			Properties:      outputs,
			Required:        slices.Sorted(maps.Keys(outputs)),
		}},
		Types: types,
		Language: map[string]any{
			"nodejs": map[string]any{"packageName": "@glrf/gitlab-runner-fleet"},
			"python": map[string]any{"packageName": "pulumi_gitlab_runner_fleet"},
		},
	}
	data, err := json.MarshalIndent(s, "", "  ")
	return string(data), err
}

// properties describes the settings a struct type takes (settings.Fields),
// adding the object types they use to types; path locates the struct
// among the fleet's settings ("" for the fleet).
func properties(t reflect.Type, path string, types map[string]objectSpec) (map[string]propertySpec, error) {
	out := map[string]propertySpec{}
	for key, f := range settings.Fields(t) {
		p, err := describe(f.Type, join(path, key), types)
		if err != nil {
			return nil, err
		}
		p.Description = fieldDoc(t, f.Name, key)
		out[key] = p
	}
	return out, nil
}

// describe describes one setting of Go type t at path.
func describe(t reflect.Type, path string, types map[string]objectSpec) (propertySpec, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	p := propertySpec{Plain: !composable[path]}
	switch t.Kind() {
	case reflect.String:
		p.Type = "string"
	case reflect.Bool:
		p.Type = "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		p.Type = "integer"
	case reflect.Float64:
		p.Type = "number"
	case reflect.Slice:
		items, err := describe(t.Elem(), path+"[]", types)
		if err != nil {
			return p, err
		}
		items.Plain = false
		p.Type, p.Items = "array", &items
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return p, fmt.Errorf("%s: a map's keys must be strings, not %s", path, t.Key())
		}
		values, err := describe(t.Elem(), path+"{}", types)
		if err != nil {
			return p, err
		}
		values.Plain = false
		p.Type, p.AdditionalProperties = "object", &values
	case reflect.Struct:
		if t.Name() == "" {
			return p, fmt.Errorf("%s: an object type needs a name", path)
		}
		token := Name + ":index:" + t.Name()
		p.Ref = "#/types/" + token
		if _, done := types[token]; !done {
			types[token] = objectSpec{Type: "object"} // reserved: a type may refer to itself
			props, err := properties(t, path, types)
			if err != nil {
				return p, err
			}
			types[token] = objectSpec{Type: "object", Description: typeDoc(t), Properties: props}
		}
	default:
		return p, fmt.Errorf("%s: settings of Go type %s are not described", path, t)
	}
	return p, nil
}

// join appends a key to a settings path.
func join(path, key string) string {
	return strings.TrimPrefix(path+"."+key, ".")
}
