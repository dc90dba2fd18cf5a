package program

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/oauth2"
)

// GitlabAccess is how the program itself reaches GitLab's API: with the
// gitlab provider's own settings, read as the provider reads them
// (gitlab:baseUrl or GITLAB_BASE_URL, gitlab:token or GITLAB_TOKEN,
// gitlab:cacertFile, gitlab:insecure, gitlab:clientCert and clientKey,
// gitlab:headers), so that what the program checks before anything is
// created is what the provider will meet.
type GitlabAccess struct {
	BaseURL    string
	Token      string
	CACertFile string
	Insecure   bool
	ClientCert string
	ClientKey  string
	Headers    map[string]string
	// EarlyAuthCheck is gitlab:earlyAuthCheck (default true): the provider
	// then reads the token's user, which needs read_user.
	EarlyAuthCheck bool
}

// gitlabAccessOf reads the provider's settings from the stack; getenv
// stands for the environment the provider sees.
func gitlabAccessOf(ctx *pulumi.Context, getenv func(string) string) (GitlabAccess, error) {
	return ReadGitlabAccess(func(key string) string { return config.Get(ctx, key) }, getenv)
}

// ReadGitlabAccess reads the gitlab provider's settings as the provider
// does: get reads a stack setting by its full key ("gitlab:baseUrl"),
// getenv the environment.
func ReadGitlabAccess(get, getenv func(string) string) (GitlabAccess, error) {
	a := GitlabAccess{
		BaseURL:        get("gitlab:baseUrl"),
		Token:          get("gitlab:token"),
		CACertFile:     get("gitlab:cacertFile"),
		ClientCert:     get("gitlab:clientCert"),
		ClientKey:      get("gitlab:clientKey"),
		EarlyAuthCheck: true,
	}
	if a.BaseURL == "" {
		a.BaseURL = getenv("GITLAB_BASE_URL")
	}
	if a.Token == "" {
		a.Token = getenv("GITLAB_TOKEN")
	}
	for key, into := range map[string]*bool{"gitlab:insecure": &a.Insecure, "gitlab:earlyAuthCheck": &a.EarlyAuthCheck} {
		if raw := get(key); raw != "" {
			v, err := strconv.ParseBool(raw)
			if err != nil {
				return a, fmt.Errorf("%s: %q is not true or false", key, raw)
			}
			*into = v
		}
	}
	if raw := get("gitlab:headers"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &a.Headers); err != nil {
			return a, fmt.Errorf("gitlab:headers: must be an object of header names to values: %v", err)
		}
	}
	if a.BaseURL == "" {
		a.BaseURL = defaultGitlabBaseURL
	}
	return a, nil
}

// secrets are the values a message about GitLab must never echo.
func (a GitlabAccess) secrets() []string {
	out := []string{a.Token}
	for _, v := range a.Headers {
		out = append(out, v)
	}
	return out
}

// WebURL is GitLab's web address: baseUrl without api/v4.
func (a GitlabAccess) WebURL() string {
	base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(a.BaseURL, "/"), "/api/v4"), "/")
	if base == "" {
		return ""
	}
	return base + "/"
}

// Client is GitLab's official client for this access: the token as a Bearer
// token, the provider's TLS settings and headers, a timeout on every
// request and no retries, so that an unreachable GitLab costs one timeout;
// no redirect is followed, so the token reaches no other address than
// baseUrl.
func (a GitlabAccess) Client() (*gitlab.Client, error) {
	httpClient, err := a.httpClient()
	if err != nil {
		return nil, err
	}
	opts := []gitlab.ClientOptionFunc{gitlab.WithBaseURL(a.BaseURL), gitlab.WithHTTPClient(httpClient), gitlab.WithoutRetries()}
	if len(a.Headers) > 0 {
		opts = append(opts, gitlab.WithRequestOptions(gitlab.WithHeaders(a.Headers)))
	}
	bearer := gitlab.OAuthTokenSource{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: a.Token})}
	return gitlab.NewAuthSourceClient(bearer, opts...)
}

// gitlabTimeout bounds each request to GitLab.
const gitlabTimeout = 15 * time.Second

func (a GitlabAccess) httpClient() (*http.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.Insecure {
		tlsConfig.InsecureSkipVerify = true //nolint:gosec // asked for by gitlab:insecure, as the provider does
	}
	if a.CACertFile != "" {
		pem, err := os.ReadFile(a.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("gitlab:cacertFile: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("gitlab:cacertFile %s holds no PEM certificate", a.CACertFile)
		}
		tlsConfig.RootCAs = pool
	}
	if a.ClientCert != "" || a.ClientKey != "" {
		cert, err := tls.LoadX509KeyPair(a.ClientCert, a.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("gitlab:clientCert and gitlab:clientKey: %w", err)
		}
		tlsConfig.Certificates = []tls.Certificate{cert}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	return &http.Client{
		Transport: transport,
		Timeout:   gitlabTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return fmt.Errorf("GitLab redirected %s to %s: set gitlab:baseUrl to the address the API answers on (the token is not sent to a redirect)",
				via[0].URL.Redacted(), req.URL.Redacted())
		},
	}, nil
}
