// Command pulumi-resource-gitlab-runner-fleet is the gitlab-runner-fleet
// resource plugin: the engine starts it to construct RunnerFleet
// components for programs in any language (see package provider).
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/glrf/gitlab-runner-fleet/provider"
)

func main() {
	prov, err := provider.New()
	if err == nil {
		err = p.RunProvider(context.Background(), provider.Name, provider.Version, prov)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
