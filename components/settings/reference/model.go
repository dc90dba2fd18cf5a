package reference

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// Project is the namespace of the program's stack settings.
const Project = "gitlab-runner-fleet"

// stackSettings are the Go types of the stack settings Pulumi.yaml
// declares, as the program decodes them.
var stackSettings = map[string]reflect.Type{
	"fleets":    reflect.TypeFor[[]settings.FleetSettings](),
	"gitlabUrl": reflect.TypeFor[string](),
	"apiServer": reflect.TypeFor[settings.APIServerSetting](),
	"clusters":  reflect.TypeFor[map[string]settings.ClusterSetting](),
}

// Kind is what a setting holds.
type Kind string

// The kinds of settings.
const (
	Object  Kind = "object"
	List    Kind = "list"
	Map     Kind = "map"
	String  Kind = "string"
	Integer Kind = "integer"
	Boolean Kind = "boolean"
)

// Setting is one setting: a key of an object, or the items of a list or
// the values of a map.
type Setting struct {
	// Key is the setting's key in its object ("" for items and values).
	Key string
	// Path locates it for people: "manager.resources.cpuRequest" under a
	// fleet, "clusters.<name>.context".
	Path string
	Kind Kind
	// Description is the field's doc comment, or Pulumi.yaml's description
	// of a stack setting.
	Description string
	// TypeName and TypeDescription name and describe an object's Go type.
	TypeName, TypeDescription string
	// Enum are the values allowed, when the setting has a list of them.
	Enum []string
	// Default is what the setting is when left out (nil: nothing the
	// settings' types say; the description may say more).
	Default  any
	Required bool
	// Fields are an object's settings, in the order of their Go fields.
	Fields []*Setting
	// Item describes a list's items or a map's values.
	Item *Setting
}

// Model is every stack setting of the program.
type Model struct {
	// Stack are the top-level settings (gitlab-runner-fleet:<key>), in
	// Pulumi.yaml's order.
	Stack []*Setting

	docs docs // every doc comment of the settings package
}

// Build describes the stack settings from the settings package's source
// folder (for its doc comments) and the project file Pulumi.yaml.
func Build(settingsDir, projectFile string) (*Model, error) {
	d, err := readDocs(settingsDir)
	if err != nil {
		return nil, err
	}
	defaults, err := fleetDefaults()
	if err != nil {
		return nil, err
	}
	declared, err := projectConfig(projectFile)
	if err != nil {
		return nil, err
	}
	b := &builder{docs: d, defaults: defaults}
	m := &Model{docs: d}
	var unknown []string
	for _, c := range declared {
		t, ok := stackSettings[c.key]
		if !ok {
			unknown = append(unknown, c.key)
			continue
		}
		s := &Setting{Key: c.key, Path: c.key, Description: c.description, Required: c.required}
		b.walk(t, s, "", c.key == "fleets") // the settings under fleets[] have defaults
		m.Stack = append(m.Stack, s)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%s declares the stack settings %s, which package reference does not know: add their Go types to stackSettings",
			projectFile, strings.Join(unknown, ", "))
	}
	if err := b.missingDocs(); err != nil {
		return nil, err
	}
	return m, nil
}

type declaredSetting struct {
	key, description string
	required         bool
}

// projectConfig reads the stack settings Pulumi.yaml declares, in order.
func projectConfig(path string) ([]declaredSetting, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var project struct {
		Config yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &project); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []declaredSetting
	content := project.Config.Content
	for i := 0; i+1 < len(content); i += 2 {
		var decl struct {
			Description string `yaml:"description"`
			Default     any    `yaml:"default"`
		}
		if err := content[i+1].Decode(&decl); err != nil {
			return nil, fmt.Errorf("%s: config.%s: %w", path, content[i].Value, err)
		}
		// A setting without a default must be set (Pulumi itself says so).
		_, hasDefault := nodeKeys(content[i+1])["default"]
		out = append(out, declaredSetting{key: content[i].Value, description: paragraph(decl.Description), required: !hasDefault})
	}
	return out, nil
}

func nodeKeys(n *yaml.Node) map[string]bool {
	keys := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys[n.Content[i].Value] = true
	}
	return keys
}

type builder struct {
	docs     docs
	defaults map[string]any
	// undocumented are settings without a description.
	undocumented []string
}

// walk fills s from the Go type t as the decoder reads it. fleet says s is
// within a fleet, where defaultPath is its path for fleetDefaults.
func (b *builder) walk(t reflect.Type, s *Setting, defaultPath string, fleet bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		s.Kind, s.TypeName, s.TypeDescription = Object, t.Name(), b.docs.types[t.Name()]
		jsonNames := map[string]string{}
		for f := range fields(t) {
			jsonNames[f.Name] = jsonKey(f)
		}
		for f := range fields(t) {
			key := jsonKey(f)
			child := &Setting{
				Key:         key,
				Path:        join(s.Path, key),
				Description: userText(b.docs.fields[t.Name()][f.Name], jsonNames),
				Required:    !strings.Contains(f.Tag.Get("json"), ",omitempty") && f.Type.Kind() != reflect.Struct,
			}
			if child.Description == "" {
				b.undocumented = append(b.undocumented, t.Name()+"."+f.Name)
			}
			if enum, ok := f.Tag.Lookup("enum"); ok {
				child.Enum = strings.Split(enum, ",")
			}
			childDefault := join(defaultPath, key)
			b.walk(f.Type, child, childDefault, fleet)
			if fleet && child.Kind != Object {
				child.Default = b.defaults[childDefault]
			}
			s.Fields = append(s.Fields, child)
		}
	case reflect.Slice:
		s.Kind = List
		s.Item = &Setting{Path: s.Path + "[]", Enum: s.Enum}
		s.Enum = nil
		// Defaults are known for the fleets' own settings, not for the items
		// of lists within a fleet.
		b.walk(t.Elem(), s.Item, "", fleet && defaultPath == "")
	case reflect.Map:
		s.Kind = Map
		s.Item = &Setting{Path: s.Path + ".<name>"}
		b.walk(t.Elem(), s.Item, "", false)
	case reflect.String:
		s.Kind = String
	case reflect.Bool:
		s.Kind = Boolean
	case reflect.Int, reflect.Int32, reflect.Int64:
		s.Kind = Integer
	default:
		panic(fmt.Sprintf("reference: %s holds a %s, which the settings reference cannot describe", s.Path, t))
	}
	if s.Kind == List && s.Path == "fleets" {
		// The fleets: paths under a fleet are written from the fleet.
		s.Item.Path = ""
		relativize(s.Item)
	}
}

// relativize drops the "fleets[]" in front of the paths under a fleet.
func relativize(s *Setting) {
	s.Path = strings.TrimPrefix(strings.TrimPrefix(s.Path, "fleets[]"), ".")
	for _, f := range s.Fields {
		relativize(f)
	}
	if s.Item != nil {
		relativize(s.Item)
	}
}

// missingDocs fails when a setting has no description: the reference
// and the editor would show a bare key.
func (b *builder) missingDocs() error {
	if len(b.undocumented) == 0 {
		return nil
	}
	slices.Sort(b.undocumented)
	return fmt.Errorf("these settings have no doc comment (write one on the field, or name the field in the comment of the field before it): %s",
		strings.Join(slices.Compact(b.undocumented), ", "))
}

// fields are the settings of a struct type: its fields with a json key.
func fields(t reflect.Type) func(func(reflect.StructField) bool) {
	return func(yield func(reflect.StructField) bool) {
		for i := range t.NumField() {
			f := t.Field(i)
			if key := jsonKey(f); key == "" || key == "-" {
				continue
			}
			if !yield(f) {
				return
			}
		}
	}
}

func jsonKey(f reflect.StructField) string {
	key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return key
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
