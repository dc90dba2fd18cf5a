// Command go-component-example is a Pulumi program that uses the
// RunnerFleet component as another project would: it makes a GitLab group
// for a team and a runner fleet for that group, the group's id flowing from
// one resource to the other.
//
// Settings (stack config): gitlab:baseUrl and gitlab:token (secret) for
// the gitlab provider, kubernetes:* for the cluster, and this project's
// gitlabUrl, the address the runner pods reach GitLab at.
package main

import (
	"strconv"

	"github.com/pulumi/pulumi-gitlab/sdk/v8/go/gitlab"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"k8s.io/utils/ptr"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

func main() { pulumi.Run(program) }

func program(ctx *pulumi.Context) error {
	group, err := gitlab.NewGroup(ctx, "platform", &gitlab.GroupArgs{
		Name: pulumi.String("Platform"),
		Path: pulumi.String("platform"),
	})
	if err != nil {
		return err
	}
	// The settings are a fleet's settings of the program's stack file
	// (docs/configuration.md), as Go values; NewRunnerFleet fills in the
	// defaults and checks them, and returns every problem before creating
	// anything. The group's id is an output, so it goes in GroupID.
	builds, err := fleet.NewRunnerFleet(ctx, "platform-builds", &fleet.RunnerFleetArgs{
		Settings: settings.FleetSettings{
			Runner:  settings.RunnerSettings{Type: "group_type", Tags: []string{"docker"}, MaximumTimeout: 3600},
			Manager: settings.ManagerSettings{Replicas: ptr.To(2), Concurrent: 10},
		},
		GroupID:   group.ID().ApplyT(strconv.Atoi).(pulumi.IntOutput),
		GitlabURL: config.Get(ctx, "go-component-example:gitlabUrl"),
	})
	if err != nil {
		return err
	}
	ctx.Export("groupId", group.ID())
	ctx.Export("runnerId", builds.RunnerID)
	ctx.Export("namespace", builds.Namespace)
	return nil
}
