// Command pulumi-resource-kubernetes serves the upstream Kubernetes provider.
//
// Upstream's own main embeds files generated at release time, so this small
// main embeds the schema and Terraform mapping shipped in the provider
// module instead; build.sh copies them here before `go build`.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var schema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
