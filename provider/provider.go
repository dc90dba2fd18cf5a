// Package provider is the gitlab-runner-fleet component provider: the
// RunnerFleet component (package fleet) for Pulumi programs in any
// language (TypeScript, Python, YAML...), through `pulumi package add`.
//
// Its schema is made from the settings types the program's decoder reads
// (schema.go), and a fleet it constructs goes through the same decoder,
// checks and component as a fleet of the Go program (construct.go).
package provider

import (
	"context"

	p "github.com/pulumi/pulumi-go-provider"
)

// New is the provider, ready for p.RunProvider.
func New() (p.Provider, error) {
	schema, err := Schema()
	if err != nil {
		return p.Provider{}, err
	}
	return p.Provider{
		GetSchema: func(context.Context, p.GetSchemaRequest) (p.GetSchemaResponse, error) {
			return p.GetSchemaResponse{Schema: schema}, nil
		},
		Construct: func(ctx context.Context, req p.ConstructRequest) (p.ConstructResponse, error) {
			return p.ProgramConstruct(ctx, req, construct(req))
		},
	}, nil
}
