package settings

import (
	"net"
	"net/url"
	"strings"
)

// ValidateGitlabURL checks the address runner pods use to reach GitLab.
func ValidateGitlabURL(path, raw string) Problems {
	var ps Problems
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		ps.Add(path, "is required: the GitLab address runners connect to, e.g. https://gitlab.example.com/")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		ps.Add(path, "must be an http(s) URL such as https://gitlab.example.com/")
	case u.User != nil:
		ps.Add(path, "%q carries credentials: they would reach every runner pod's environment and every log of it; remove them (runners authenticate with their own tokens)", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		ps.Add(path, "%q must not have a query or fragment", raw)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		ps.Add(path, "%q is plain http: runner tokens and job logs would cross the network unencrypted; use https (plain http is accepted on loopback only, for local development)", raw)
	}
	return ps
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// GitlabURLFromBaseURL is the GitLab address runner pods use when none is
// set: the gitlab provider's baseUrl (https://gitlab.example.com/api/v4/)
// without its API path; "" when baseUrl is empty.
func GitlabURLFromBaseURL(baseURL string) string {
	u := strings.TrimSuffix(strings.TrimSuffix(baseURL, "/"), "/api/v4") + "/"
	if u == "/" {
		return ""
	}
	return u
}
