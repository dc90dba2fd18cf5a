// Command gitlab-runner-fleet is the Pulumi program (see program.Run).
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/program"
)

func main() { pulumi.Run(program.Run) }
