package runnerconfig

import "github.com/glrf/gitlab-runner-fleet/components/settings"

// Where the manager container finds GitLab's CA bundle (gitlabCA): the fleet
// mounts it there, the runner reads it from tls-ca-file.
const (
	CADir      = "/etc/gitlab-runner-ca"
	CAFileName = "ca.crt"
	CAFile     = CADir + "/" + CAFileName
)

func init() {
	addPart("ca", func(r *RunnerConfig, s settings.FleetSettings) {
		if s.GitlabCA != nil {
			r.TLSCAFile = CAFile
		}
	})
}
