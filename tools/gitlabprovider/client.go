package gitlabprovider

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go"
	"golang.org/x/oauth2"
)

// The GitLab side of the provider: GitLab's official Go client, set up the
// way the official provider sets it up (its api.Config.NewGitLabClient): the
// configured headers on every request, TLS from insecure/cacertFile/
// clientCert, the token as an OAuth Bearer token (GitLab takes personal,
// group, project and job tokens that way too), client-go's retries with
// retries as their maximum. client-go adds the missing "/" and "api/v4/" to
// baseUrl.

// newGitLabClient builds the client for cfg; extra options come last (tests
// shorten the backoff).
func newGitLabClient(cfg *providerConfig, userAgent string, extra ...gitlab.ClientOptionFunc) (*gitlab.Client, error) {
	httpc, err := newHTTPClient(cfg)
	if err != nil {
		return nil, err
	}
	opts := []gitlab.ClientOptionFunc{
		gitlab.WithHTTPClient(httpc),
		gitlab.WithBaseURL(cfg.BaseURL),
		gitlab.WithCustomRetryMax(cfg.Retries),
		gitlab.WithUserAgent(userAgent),
	}
	if len(cfg.Headers) > 0 {
		opts = append(opts, gitlab.WithRequestOptions(gitlab.WithHeaders(cfg.Headers)))
	}
	opts = append(opts, extra...)
	return gitlab.NewAuthSourceClient(gitlab.OAuthTokenSource{
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: cfg.Token}),
	}, opts...)
}

// isNotFound reports GitLab's 404, which client-go gives as ErrNotFound (or,
// in other versions, as an ErrorResponse with that status).
func isNotFound(err error) bool {
	return errors.Is(err, gitlab.ErrNotFound) || gitlab.HasStatusCode(err, http.StatusNotFound)
}

// createRetry is the retry policy of POST /user/runners, which is not
// idempotent: a request that may have reached GitLab is never sent again,
// since GitLab may have created the runner (and a second one would be left
// behind, its token never seen). So: retry a 429 (GitLab's rate limiter
// refused the request before doing anything) and connection errors that
// happen before the request is written (DNS, refused or failed dials),
// never a 5xx or an error on an established connection. client-go itself
// retries 5xx answers for every method.
func createRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return notSent(err), nil
	}
	return resp.StatusCode == http.StatusTooManyRequests, nil
}

// notSent reports errors known to happen before a request is on the wire.
func notSent(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var urlErr *url.Error
	return errors.As(err, &urlErr) && strings.Contains(urlErr.Error(), "connection refused")
}

// createRunner is POST /user/runners with the never-resend policy.
func createRunner(ctx context.Context, c *gitlab.Client, a runnerArgs) (*gitlab.UserRunner, error) {
	r, _, err := c.Users.CreateUserRunner(a.createOptions(), gitlab.WithContext(ctx), gitlab.WithRequestRetry(createRetry))
	return r, err
}

func getRunner(ctx context.Context, c *gitlab.Client, id int64) (*gitlab.RunnerDetails, error) {
	d, _, err := c.Runners.GetRunnerDetails(id, gitlab.WithContext(ctx))
	return d, err
}

// updateRunner is PUT /runners/:id; with nothing to change it only reads the
// runner (GitLab refuses an update without attributes).
func updateRunner(ctx context.Context, c *gitlab.Client, id int64, a runnerArgs) (*gitlab.RunnerDetails, error) {
	opts := a.updateOptions()
	if *opts == (gitlab.UpdateRunnerDetailsOptions{}) {
		return getRunner(ctx, c, id)
	}
	d, _, err := c.Runners.UpdateRunnerDetails(id, opts, gitlab.WithContext(ctx))
	return d, err
}

func deleteRunner(ctx context.Context, c *gitlab.Client, id int64) error {
	_, err := c.Runners.DeleteRegisteredRunnerByID(id, gitlab.WithContext(ctx))
	return err
}

// currentUser is the early authentication check (GET /user).
func currentUser(ctx context.Context, c *gitlab.Client) error {
	_, _, err := c.Users.CurrentUser(gitlab.WithContext(ctx))
	return err
}
