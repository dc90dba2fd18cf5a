package gitlabprovider

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil/rpcerror"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Defaults of the official provider, plus the retry count of this one.
const (
	defaultBaseURL = "https://gitlab.com/api/v4/"
	defaultRetries = 3
)

// configKeys are the provider configuration properties of the schema.
var configKeys = []string{
	"baseUrl", "token", "earlyAuthCheck", "insecure", "cacertFile", "clientCert", "clientKey", "headers", "retries",
}

// providerConfig is the parsed provider configuration.
type providerConfig struct {
	BaseURL        string
	Token          string
	EarlyAuthCheck bool
	Insecure       bool
	CACertFile     string
	ClientCert     string
	ClientKey      string
	Headers        map[string]string
	Retries        int
	// unknown lists keys whose values are not known yet.
	unknown []string
}

// parseConfig reads configuration properties. Values may be typed or, as
// Pulumi passes configuration, strings ("true", "3", JSON for headers).
// GITLAB_BASE_URL and GITLAB_TOKEN fill baseUrl and token when absent.
func parseConfig(props resource.PropertyMap, getenv func(string) string) (*providerConfig, []*pulumirpc.CheckFailure) {
	cfg := &providerConfig{EarlyAuthCheck: true, Retries: defaultRetries}
	var failures []*pulumirpc.CheckFailure
	fail := func(key string, err error) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: key, Reason: fmt.Sprintf("%s %v", key, err)})
	}
	for _, key := range configKeys {
		v, ok := props[resource.PropertyKey(key)]
		if !ok || plain(v).IsNull() {
			continue
		}
		if isUnknown(v) {
			cfg.unknown = append(cfg.unknown, key)
			continue
		}
		var err error
		switch key {
		case "baseUrl":
			cfg.BaseURL, err = asString(v)
		case "token":
			cfg.Token, err = asString(v)
		case "cacertFile":
			cfg.CACertFile, err = asString(v)
		case "clientCert":
			cfg.ClientCert, err = asString(v)
		case "clientKey":
			cfg.ClientKey, err = asString(v)
		case "earlyAuthCheck":
			cfg.EarlyAuthCheck, err = asBool(v, true)
		case "insecure":
			cfg.Insecure, err = asBool(v, true)
		case "headers":
			cfg.Headers, err = asStringMap(v, true)
		case "retries":
			var n int64
			if n, err = asInt(v, true); err == nil && n < 0 {
				err = fmt.Errorf("must not be negative")
			}
			cfg.Retries = int(n)
		}
		if err != nil {
			fail(key, err)
		}
	}
	if cfg.BaseURL == "" && !slices.Contains(cfg.unknown, "baseUrl") {
		cfg.BaseURL = getenv("GITLAB_BASE_URL")
	}
	if cfg.Token == "" && !slices.Contains(cfg.unknown, "token") {
		cfg.Token = getenv("GITLAB_TOKEN")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = defaultBaseURL
	}
	if err := checkBaseURL(cfg.BaseURL); err != nil {
		fail("baseUrl", err)
	}
	if (cfg.ClientCert == "") != (cfg.ClientKey == "") {
		fail("clientKey", fmt.Errorf("and clientCert must be set together"))
	}
	return cfg, failures
}

// checkBaseURL refuses what cannot be a GitLab URL. Like the official
// provider's client, it does not insist on the trailing slash or on api/v4/:
// client-go adds them.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http(s) URL such as https://gitlab.example.com/api/v4/, not %q", raw)
	}
	return nil
}

// CheckConfig validates the provider configuration.
func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := plugin.UnmarshalProperties(req.GetNews(), plugin.MarshalOptions{
		Label: "checkConfig.news", KeepUnknowns: true, KeepSecrets: true, SkipNulls: true,
	})
	if err != nil {
		return nil, err
	}
	_, failures := parseConfig(news, func(string) string { return "" })
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

// DiffConfig reports changed configuration. No change replaces the
// provider: a new URL or token must not delete and recreate every runner.
func (p *Provider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	opts := plugin.MarshalOptions{Label: "diffConfig", KeepUnknowns: true, SkipNulls: true}
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), opts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), opts)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	for _, key := range configKeys {
		k := resource.PropertyKey(key)
		o, inOld := olds[k]
		n, inNew := news[k]
		var kind pulumirpc.PropertyDiff_Kind
		switch {
		case !inOld && !inNew:
			continue
		case !inOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !inNew:
			kind = pulumirpc.PropertyDiff_DELETE
		case isUnknown(n) || !o.DeepEquals(n):
			kind = pulumirpc.PropertyDiff_UPDATE
		default:
			continue
		}
		resp.Diffs = append(resp.Diffs, key)
		resp.DetailedDiff[key] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	if len(resp.Diffs) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp, nil
}

// configProps returns the configuration of a Configure request: the typed
// args of current engines, else the "gitlab:config:KEY" string variables.
func configProps(req *pulumirpc.ConfigureRequest) (resource.PropertyMap, error) {
	if req.GetArgs() != nil {
		return plugin.UnmarshalProperties(req.GetArgs(), plugin.MarshalOptions{
			Label: "configure.args", KeepUnknowns: true, SkipNulls: true,
		})
	}
	props := resource.PropertyMap{}
	//lint:ignore SA1019 engines that predate args send only these variables
	for k, v := range req.GetVariables() {
		key := strings.TrimPrefix(strings.TrimPrefix(k, Name+":config:"), Name+":")
		if v == plugin.UnknownStringValue {
			props[resource.PropertyKey(key)] = resource.MakeComputed(resource.NewStringProperty(""))
			continue
		}
		props[resource.PropertyKey(key)] = resource.NewStringProperty(v)
	}
	return props, nil
}

// Configure sets up the GitLab client and, unless earlyAuthCheck is false,
// checks the token with GET /user so that a bad token fails before any
// resource is touched.
func (p *Provider) Configure(ctx context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	resp := &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}
	props, err := configProps(req)
	if err != nil {
		return nil, err
	}
	cfg, failures := parseConfig(props, os.Getenv)
	if len(failures) > 0 {
		reasons := make([]string, len(failures))
		for i, f := range failures {
			reasons[i] = f.Reason
		}
		return nil, rpcerror.New(codes.InvalidArgument, "gitlab provider configuration: "+strings.Join(reasons, "; "))
	}
	if len(cfg.unknown) > 0 {
		p.mu.Lock()
		p.client, p.configUnknown = nil, true
		p.mu.Unlock()
		return resp, nil
	}
	c, err := newGitLabClient(cfg, "pulumi-resource-gitlab/"+p.version, p.clientOptions...)
	if err != nil {
		return nil, rpcerror.New(codes.InvalidArgument, "gitlab provider configuration: "+err.Error())
	}
	if cfg.EarlyAuthCheck {
		if cfg.Token == "" {
			return nil, rpcerror.New(codes.FailedPrecondition,
				"gitlab provider: no token configured: set gitlab:token (secret) or GITLAB_TOKEN, or earlyAuthCheck false")
		}
		ctx, cancel := p.opContext(ctx, 0)
		defer cancel()
		if err := currentUser(ctx, c); err != nil {
			return nil, rpcerror.New(codes.FailedPrecondition,
				fmt.Sprintf("gitlab provider: early authentication check against %s failed: %v (check gitlab:token or GITLAB_TOKEN)", c.BaseURL(), err))
		}
	}
	p.mu.Lock()
	p.client, p.configUnknown = c, false
	p.mu.Unlock()
	return resp, nil
}
