package gitlabprovider

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumiprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// Name is the package name the engine knows the plugin by.
const Name = "gitlab"

// UserRunnerType is the only resource type the stand-in serves.
const UserRunnerType = "gitlab:index/userRunner:UserRunner"

// Provider implements pulumirpc.ResourceProviderServer for UserRunner.
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	host    *pulumiprovider.HostClient // nil in tests and attach mode
	version string

	// cancelCtx is cancelled by Cancel; every operation derives from it.
	cancelCtx context.Context
	cancel    context.CancelFunc

	// clientOptions come after the configuration's client options; tests
	// shorten client-go's retry backoff with them.
	clientOptions []gitlab.ClientOptionFunc

	mu     sync.RWMutex
	client *gitlab.Client // set by Configure; nil before
	// configUnknown is set when Configure saw unknown values (a preview
	// before the values are known): only previews can proceed.
	configUnknown bool

	infoOnce sync.Once
}

// New returns a provider reporting version (e.g. "8.11.0+offline.standin").
// host may be nil.
func New(host *pulumiprovider.HostClient, version string) *Provider {
	ctx, cancel := context.WithCancel(context.Background())
	return &Provider{host: host, version: version, cancelCtx: ctx, cancel: cancel}
}

// GetPluginInfo reports the version and says, once, what this plugin is.
func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	p.infoOnce.Do(func() {
		log.Printf("pulumi-resource-gitlab %s: OFFLINE STAND-IN for the official pulumi-gitlab provider plugin; "+
			"serves only %s through the GitLab REST API", p.version, UserRunnerType)
	})
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

// Cancel aborts every operation in flight (the engine calls it on Ctrl-C).
func (p *Provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.cancel()
	return &emptypb.Empty{}, nil
}

// opContext derives the context of one operation: cancelled by the caller,
// by Cancel, or after timeoutSeconds when the engine gives a custom timeout.
func (p *Provider) opContext(ctx context.Context, timeoutSeconds float64) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(p.cancelCtx, cancel)
	if timeoutSeconds > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, time.Duration(timeoutSeconds*float64(time.Second)))
		return ctx, func() { cancelTimeout(); stop(); cancel() }
	}
	return ctx, func() { stop(); cancel() }
}

// getClient returns the configured client or explains why there is none.
func (p *Provider) getClient() (*gitlab.Client, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	switch {
	case p.configUnknown:
		return nil, fmt.Errorf("gitlab provider configuration is not known yet (it depends on values computed during the update)")
	case p.client == nil:
		return nil, fmt.Errorf("gitlab provider is not configured")
	}
	return p.client, nil
}

// logf sends a message to the engine (shown with the resource) or, without
// a host, to stderr.
func (p *Provider) logf(ctx context.Context, sev diag.Severity, urn string, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if p.host != nil {
		if err := p.host.Log(ctx, sev, resource.URN(urn), msg); err == nil {
			return
		}
	}
	log.Printf("%s: %s", sev, msg)
}
