package settings

import (
	"fmt"
	"regexp"
	"strings"
)

var configKeyRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// tokenPrefixes start GitLab's tokens: runner authentication, personal
// access, registration, and the other kinds a user might paste.
var tokenPrefixes = []string{"glrt-", "glpat-", "GR1348941", "glptt-", "gldt-", "glcbt-", "glimt-", "glsoat-"}

// ValidTokenConfigKey reports whether key can name a token setting (Validate
// explains why not).
func ValidTokenConfigKey(key string) bool { return validConfigKey(key) && !looksLikeToken(key) }

func looksLikeToken(value string) bool {
	for _, p := range tokenPrefixes {
		if strings.HasPrefix(value, p) {
			return true
		}
	}
	return false
}

func validConfigKey(key string) bool { return configKeyRe.MatchString(key) }

// checkRunnerToken accepts runner authentication tokens only.
func checkRunnerToken(value string) error {
	if !strings.HasPrefix(value, "glrt-") {
		return fmt.Errorf("does not hold a runner authentication token (glrt-...); registration tokens are not supported")
	}
	return nil
}
