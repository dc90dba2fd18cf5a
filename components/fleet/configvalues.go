package fleet

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// ReadConfigValues reads the stack settings a (defaulted) fleet names
// (settings.FleetSettings.ConfigValues: its token, cache keys, CA bundles,
// registry credentials) from the stack's config under namespace, for
// RunnerFleetArgs.ConfigValues. Each must be set, encrypted where it must
// be, and well-formed; every one that is not is a problem at its setting's
// path (under path, the fleet's), and is left out. The program and the
// component provider read them alike.
func ReadConfigValues(ctx *pulumi.Context, namespace string, s settings.FleetSettings, path string) (map[string]pulumi.StringOutput, settings.Problems) {
	var ps settings.Problems
	cfg := config.New(ctx, namespace)
	values := map[string]pulumi.StringOutput{}
	for _, cv := range s.ConfigValues(path) {
		if !settings.ValidTokenConfigKey(cv.Key) {
			continue // a key that cannot name a setting is reported by Validate, never echoed
		}
		key := namespace + ":" + cv.Key
		value := cfg.Get(cv.Key)
		secretFlag := ""
		if cv.Secret {
			secretFlag = "--secret "
		}
		switch {
		case value == "":
			ps.Add(cv.Path, "names %s, which is not set; run `pulumi config set %s%s <value>`", key, secretFlag, cv.Key)
			continue
		case cv.Secret && !ctx.IsConfigSecret(key):
			ps.Add(cv.Path, "names %s, which is stored in plain text; set it again with `pulumi config set --secret %s <value>`", key, cv.Key)
			continue
		}
		if cv.Check != nil {
			if err := cv.Check(value); err != nil {
				ps.Add(cv.Path, "names %s, which %v", key, err)
				continue
			}
		}
		v := pulumi.String(value).ToStringOutput()
		if cv.Secret || ctx.IsConfigSecret(key) {
			v = cfg.RequireSecret(cv.Key)
		}
		values[cv.Key] = v
	}
	return values, ps
}
