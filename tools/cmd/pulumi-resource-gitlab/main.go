// Command pulumi-resource-gitlab is the OFFLINE STAND-IN for the official
// pulumi-gitlab provider plugin, which cannot be downloaded here. It serves
// only gitlab:index/userRunner:UserRunner (see package gitlabprovider). The
// engine starts it like any plugin; install it where the engine looks for
// gitlab 8.11.0 (for example with `pulumi plugin install resource gitlab
// 8.11.0 --file <binary>`, or on PATH with plugins.providers in Pulumi.yaml).
//
// Configuration comes from the engine (gitlab:baseUrl, gitlab:token, ...) or
// the environment variables GITLAB_BASE_URL and GITLAB_TOKEN.
package main

import (
	"fmt"
	"os"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlabprovider"
	pulumiprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is what the plugin reports. The engine compares plugin versions
// without build metadata, so this satisfies the program's request for 8.11.0
// while saying what it is.
var version = "8.11.0+offline.standin"

func main() {
	err := pulumiprovider.Main(gitlabprovider.Name, func(host *pulumiprovider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return gitlabprovider.New(host, version), nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
