package runnerconfig

import (
	"slices"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// checkLint reports what `gitlab-runner lint` of the managers' release
// would refuse in a [[runners]] entry although the runner reads it.
//
// lint checks config.toml against a JSON schema generated from the runner's
// config types: a pointer field whose JSON tag lacks omitempty is null when
// left out, and the schema's type refuses null. In v19.3.0 (and before 19.4)
// two such fields are in what the fleet renders: mount_propagation of host
// path, PVC and emptyDir volumes, which the fleet always renders (see
// mountPropagation), and the value of a dns_config option, which only the
// settings can give.
func checkLint(ps *settings.Problems, path string, r RunnerConfig, v runnerversion.Version) {
	if v.AtLeast(19, 4) || r.Kubernetes.DNSConfig == nil {
		return
	}
	var valueless []string
	for _, o := range r.Kubernetes.DNSConfig.Options {
		if o.Value == "" {
			valueless = append(valueless, o.Name)
		}
	}
	slices.Sort(valueless)
	for _, name := range valueless {
		ps.Add(path+".dnsConfig.options", "%q has no value, which GitLab Runner %s's config schema refuses (`gitlab-runner lint` fails on it); give it a value, or use a release from 19.4 on", name, v)
	}
}
