package tests

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/plan"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// A Go program that uses RunnerFleet directly passes its own Kubernetes
// provider the way Pulumi components take providers; every Kubernetes child
// of the component must then use it, and nothing the default provider.
func TestAProviderPassedToTheComponentReachesEveryKubernetesChild(t *testing.T) {
	for _, option := range []struct {
		name string
		opt  func(p *kubernetes.Provider) pulumi.ResourceOption
	}{
		{"Providers", func(p *kubernetes.Provider) pulumi.ResourceOption { return pulumi.Providers(p) }},
		{"Provider", func(p *kubernetes.Provider) pulumi.ResourceOption { return pulumi.Provider(p) }},
		{"ProviderMap", func(p *kubernetes.Provider) pulumi.ResourceOption {
			return pulumi.ProviderMap(map[string]pulumi.ProviderResource{"kubernetes": p})
		}},
	} {
		t.Run(option.name, func(t *testing.T) {
			var providerURN string
			m := &mocks.Mocks{}
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				provider, err := kubernetes.NewProvider(ctx, "their-cluster", &kubernetes.ProviderArgs{Context: pulumi.String("theirs")})
				if err != nil {
					return err
				}
				provider.URN().ApplyT(func(u pulumi.URN) string { providerURN = string(u); return "" })
				decoded, problems := settings.DecodeFleets(`[{"name":"builds","runner":{"type":"group_type","groupId":42}}]`)
				require.Empty(t, problems)
				plans, problems := plan.Plan([]settings.FleetSettings{decoded[0].WithDefaults("test")})
				require.Empty(t, problems)
				plan := plans[0]
				_, err = fleet.NewRunnerFleet(ctx, "builds", &fleet.RunnerFleetArgs{
					Settings:  plan.Settings,
					GitlabURL: "https://gitlab.example.com/",
					Stack:     &fleet.StackPart{CreateNamespaces: plan.Create, Jobs: plan.Jobs},
					APIServer: fleet.StaticAPIServer([]string{"10.0.0.1/32"}, 6443),
				}, option.opt(provider))
				return err
			}, pulumi.WithMocks("gitlab-runner-fleet", "test", m))
			require.NoError(t, err)
			require.NotEmpty(t, providerURN)

			kube := 0
			for _, r := range m.All() {
				if !r.Custom || !strings.HasPrefix(r.Type, "kubernetes:") {
					continue
				}
				kube++
				assert.True(t, strings.HasPrefix(r.Provider, providerURN+"::"), "%s %s uses %q, not the given provider", r.Type, r.Name, r.Provider)
			}
			assert.GreaterOrEqual(t, kube, 15, "the fleet's Kubernetes objects")
			runner := m.Find("gitlab:index/userRunner:UserRunner", "builds")
			require.NotNil(t, runner)
			assert.Empty(t, runner.Provider, "a Kubernetes provider does not become the runner's")
		})
	}
}
