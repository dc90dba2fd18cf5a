package gitlab

import (
	"reflect"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ProviderType is the type token of an explicit gitlab provider.
const ProviderType = "pulumi:providers:gitlab"

// Provider is an explicit instance of the gitlab provider. Most stacks do not
// need one: the default provider reads the `gitlab:*` stack settings.
type Provider struct {
	pulumi.ProviderResourceState

	BaseUrl pulumi.StringPtrOutput `pulumi:"baseUrl"`
	Token   pulumi.StringPtrOutput `pulumi:"token"`
}

type providerArgs struct {
	BaseUrl        *string           `pulumi:"baseUrl"`
	CacertFile     *string           `pulumi:"cacertFile"`
	ClientCert     *string           `pulumi:"clientCert"`
	ClientKey      *string           `pulumi:"clientKey"`
	EarlyAuthCheck *bool             `pulumi:"earlyAuthCheck"`
	Headers        map[string]string `pulumi:"headers"`
	Insecure       *bool             `pulumi:"insecure"`
	Retries        *int              `pulumi:"retries"`
	Token          *string           `pulumi:"token"`
}

// ProviderArgs configure an explicit gitlab provider, named as in the official SDK.
type ProviderArgs struct {
	// BaseUrl is the API endpoint and must end in `/`, e.g. https://gitlab.example.com/api/v4/.
	BaseUrl pulumi.StringPtrInput
	// CacertFile is a file of CA certificates to trust.
	CacertFile pulumi.StringPtrInput
	// ClientCert and ClientKey are files for mutual TLS.
	ClientCert pulumi.StringPtrInput
	ClientKey  pulumi.StringPtrInput
	// EarlyAuthCheck checks the token when the provider starts (default true).
	EarlyAuthCheck pulumi.BoolPtrInput
	// Headers are sent with every request.
	Headers pulumi.StringMapInput
	// Insecure skips TLS verification.
	Insecure pulumi.BoolPtrInput
	// Retries of failed requests.
	Retries pulumi.IntPtrInput
	// Token is a personal/group/project access token with the create_runner scope.
	Token pulumi.StringPtrInput
}

// ElementType ties ProviderArgs to its wire shape for the Pulumi SDK.
func (ProviderArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*providerArgs)(nil)).Elem()
}

// NewProvider registers an explicit gitlab provider.
func NewProvider(ctx *pulumi.Context, name string, args *ProviderArgs, opts ...pulumi.ResourceOption) (*Provider, error) {
	if args == nil {
		args = &ProviderArgs{}
	}
	if args.Token != nil {
		args.Token = pulumi.ToSecret(args.Token).(pulumi.StringPtrInput)
	}
	opts = append([]pulumi.ResourceOption{
		pulumi.Version(PluginVersion),
		pulumi.AdditionalSecretOutputs([]string{"token"}),
	}, opts...)
	var resource Provider
	if err := ctx.RegisterResource(ProviderType, name, args, &resource, opts...); err != nil {
		return nil, err
	}
	return &resource, nil
}
