package gitlabprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBackoff caps one retry delay.
const maxBackoff = 5 * time.Second

// client calls the GitLab REST API below baseURL (which ends in /api/v4/).
type client struct {
	baseURL   *url.URL
	token     string
	headers   map[string]string
	http      *http.Client
	retries   int
	backoff   time.Duration
	userAgent string
}

// APIError is a non-2xx answer of GitLab. Its message quotes GitLab's own
// answer (the "message" or "error" field); it never contains the token.
type APIError struct {
	Method string
	Path   string
	Status int
	Answer string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("GitLab answered %s %s with %d %s", e.Method, e.Path, e.Status, e.Answer)
	switch e.Status {
	case http.StatusUnauthorized:
		msg += " (the token is missing, wrong or expired: check gitlab:token or GITLAB_TOKEN)"
	case http.StatusForbidden:
		msg += " (the token lacks a scope or access: creating needs create_runner, reading, updating and deleting need manage_runner; or the group/project is out of reach)"
	}
	return msg
}

// IsNotFound reports whether err is GitLab's 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// retryable reports whether an answer with this status may be retried.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// do sends method path (relative to baseURL) with body as JSON and decodes a
// JSON answer into out (when non-nil). Transport errors, 429 and 5xx are
// retried up to c.retries times with exponential backoff; anything else
// fails at once.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	u := c.baseURL.ResolveReference(&url.URL{Path: path})
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		status, answer, retryAfter, err := c.once(ctx, method, u, payload, out)
		if err == nil && status < 300 {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", method, u.Path, ctx.Err())
		}
		if err != nil {
			lastErr = fmt.Errorf("%s %s: %w", method, u.Path, err)
		} else {
			lastErr = &APIError{Method: method, Path: u.Path, Status: status, Answer: answer}
			if !retryable(status) {
				return lastErr
			}
		}
		if attempt >= c.retries {
			if attempt > 0 {
				return fmt.Errorf("%w (after %d retries)", lastErr, attempt)
			}
			return lastErr
		}
		delay := min(c.backoff<<attempt, maxBackoff)
		if retryAfter > 0 {
			delay = min(retryAfter, maxBackoff)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s: %w", method, u.Path, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// once sends one request. It returns the status and, for errors, GitLab's
// answer; err is a transport or decoding failure.
func (c *client) once(ctx context.Context, method string, u *url.URL, payload []byte, out any) (int, string, time.Duration, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, "", 0, err
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		// The official provider authenticates the OAuth way; GitLab accepts
		// personal access tokens as Bearer tokens too.
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, "", 0, err
	}
	if res.StatusCode >= 300 {
		var retryAfter time.Duration
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
			retryAfter = time.Duration(s) * time.Second
		}
		return res.StatusCode, gitlabAnswer(res.StatusCode, data), retryAfter, nil
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return res.StatusCode, "", 0, fmt.Errorf("decoding GitLab's answer: %w", err)
		}
	}
	return res.StatusCode, "", 0, nil
}

// gitlabAnswer extracts GitLab's explanation from an error body:
// {"message": "..."} / {"message": {...}} / {"error": "..."}, else the
// (shortened) body, else the status text.
func gitlabAnswer(status int, body []byte) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) == nil {
		for _, key := range []string{"message", "error", "error_description"} {
			raw, ok := obj[key]
			if !ok {
				continue
			}
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return strconv.Quote(s)
			}
			return string(raw)
		}
	}
	text := strings.TrimSpace(string(body))
	if text == "" {
		return strconv.Quote(http.StatusText(status))
	}
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	return strconv.Quote(text)
}
