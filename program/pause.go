package program

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// warnUnservedRunners warns about fleets scaled to no manager whose runner
// the stack cannot pause. A fleet whose runner the stack owns is paused in
// GitLab while manager.replicas is 0 (settings.FleetSettings.WithDefaults);
// the runner of an existing token belongs to whoever made it, so the stack
// leaves it alone and says how to pause it.
func warnUnservedRunners(ctx *pulumi.Context, stack *Stack) {
	for _, p := range stack.Plans {
		s := p.Settings
		if s.ManagesRunner() || *s.Manager.Replicas != 0 {
			continue
		}
		_ = ctx.Log.Warn(fmt.Sprintf("fleet %s: manager.replicas is 0, but its runner is not the stack's to pause (an existing token): "+
			"GitLab queues its jobs as if it were served; pause it in GitLab (its page's Pause button, or PUT /runners/:id with paused=true)", s.Name), nil)
	}
}
