//go:build e2e

package sdkcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/provider"
)

// bound is the package's schema bound by the engine's binder.
func bound(t *testing.T) *schema.Package {
	t.Helper()
	text, err := provider.Schema()
	require.NoError(t, err)
	var spec schema.PackageSpec
	require.NoError(t, json.Unmarshal([]byte(text), &spec))
	pkg, diags, err := schema.BindSpec(spec, noPackages{}, schema.ValidationOptions{})
	require.NoError(t, err)
	require.False(t, diags.HasErrors(), "%v", diags)
	return pkg
}

func write(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not on PATH: this test needs it (install Node.js with npm, and python3)", name)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// program is a TypeScript program using the SDK: plain settings, a group id
// that is an output, and the outputs.
const program = `import * as pulumi from "@pulumi/pulumi";
import * as glrf from "../sdk";

const groupId: pulumi.Output<number> = pulumi.output(Promise.resolve(42));
const builds = new glrf.RunnerFleet("builds", {
    runner: { type: "group_type", groupId: groupId, tags: ["docker"], maximumTimeout: 3600 },
    manager: { replicas: REPLICAS, antiAffinity: "required", resources: { cpuRequest: "100m" } },
    gitlabUrl: "https://gitlab.example.com/",
    apiServer: { cidrs: ["10.0.0.1/32"], port: 6443 },
});
export const namespace: pulumi.Output<string> = builds.namespace;
export const runnerId: pulumi.Output<string> = builds.runnerId;
`

// The TypeScript SDK compiles, and so does a program using it; a program
// passing an output where a setting must be plain does not.
func TestTypeScriptSDKCompiles(t *testing.T) {
	files, err := nodejs.GeneratePackage("sdkcheck", bound(t), nil, nil, true, noPackages{})
	require.NoError(t, err)
	dir := t.TempDir()
	sdk := filepath.Join(dir, "sdk")
	write(t, sdk, files)
	manifest := strings.ReplaceAll(string(files["package.json"]), "${VERSION}", provider.Version)
	require.NoError(t, os.WriteFile(filepath.Join(sdk, "package.json"), []byte(manifest), 0o644))
	run(t, sdk, "npm", "install", "--ignore-scripts", "--no-audit", "--no-fund")
	run(t, sdk, filepath.Join(sdk, "node_modules", ".bin", "tsc"), "-p", ".")
	assert.FileExists(t, filepath.Join(sdk, "bin", "runnerFleet.js"))

	prog := filepath.Join(dir, "program")
	config := `{"compilerOptions": {"strict": true, "noEmit": true, "target": "es2020", "module": "commonjs",
		"moduleResolution": "node", "baseUrl": ".", "paths": {"@pulumi/pulumi": ["../sdk/node_modules/@pulumi/pulumi"]},
		"typeRoots": ["../sdk/node_modules/@types"]}, "files": ["index.ts"]}`
	write(t, prog, map[string][]byte{
		"tsconfig.json": []byte(config),
		"index.ts":      []byte(strings.Replace(program, "REPLICAS", "2", 1)),
	})
	tsc := filepath.Join(sdk, "node_modules", ".bin", "tsc")
	run(t, prog, tsc, "-p", ".")

	write(t, prog, map[string][]byte{"index.ts": []byte(strings.Replace(program, "REPLICAS", "groupId", 1))})
	out, err := exec.Command(tsc, "-p", prog).CombinedOutput()
	require.Error(t, err, "an output for manager.replicas must not compile")
	assert.Contains(t, string(out), "not assignable to type 'number'")
}

// The Python SDK is valid Python; group_id takes an input.
func TestPythonSDKCompiles(t *testing.T) {
	files, err := python.GeneratePackage("sdkcheck", bound(t), nil, noPackages{})
	require.NoError(t, err)
	dir := t.TempDir()
	write(t, dir, files)
	var sources []string
	for name := range files {
		if strings.HasSuffix(name, ".py") {
			sources = append(sources, name)
		}
	}
	require.NotEmpty(t, sources)
	run(t, dir, "python3", append([]string{"-m", "py_compile"}, sources...)...)
	inputs, err := os.ReadFile(filepath.Join(dir, "pulumi_gitlab_runner_fleet", "_inputs.py"))
	require.NoError(t, err)
	assert.Contains(t, string(inputs), "group_id: pulumi.Input[")
}

// noPackages loads no other package: the schema refers to none.
type noPackages struct{}

func (noPackages) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %s", pkg)
}

func (noPackages) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %s", d.Name)
}

func (noPackages) LoadPackageReference(pkg string, _ *semver.Version) (schema.PackageReference, error) {
	return nil, fmt.Errorf("the schema refers to package %s", pkg)
}

func (noPackages) LoadPackageReferenceV2(_ context.Context, d *schema.PackageDescriptor) (schema.PackageReference, error) {
	return nil, fmt.Errorf("the schema refers to package %s", d.Name)
}
