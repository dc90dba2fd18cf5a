package gitlabprovider

import (
	"context"
	_ "embed"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// schemaJSON is the package schema: the official 8.11.0 provider
// configuration and UserRunner resource, and nothing else. It was copied
// from shared/reference/pulumi-gitlab-8.11.0-runner-schema.json; a test keeps
// the two in step.
//
//go:embed schema.json
var schemaJSON string

// SchemaVersion is the version of the official schema mirrored here.
const SchemaVersion = "8.11.0"

// GetSchema returns the package schema.
func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: schemaJSON}, nil
}
