package runnerversion

import (
	"fmt"
	"regexp"
	"strconv"
)

// Version is a GitLab Runner release.
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string { return fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch) }

// minorLess orders releases by major and minor only: the tables are per minor
// release, and a patch release reads the keys of its minor release.
func (v Version) minorLess(o Version) bool {
	return v.Major < o.Major || (v.Major == o.Major && v.Minor < o.Minor)
}

// AtLeast reports whether v is the minor release major.minor or a later one.
func (v Version) AtLeast(major, minor int) bool {
	return !v.minorLess(Version{Major: major, Minor: minor})
}

var (
	// Minimum is the oldest runner the fleet supports: the first release
	// that lets the stack turn the runner's own token rotation off
	// (FF_DISABLE_AUTOMATIC_TOKEN_ROTATION), after the removal of the old
	// terminationGracePeriodSeconds key.
	Minimum = Version{17, 0, 0}
	// NewestKnown is the newest release the tables know. A newer runner is
	// assumed to read every key this one reads.
	NewestKnown = Version{19, 3, 0}

	versionRe = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)$`)
	// An image tag ending in a release: v19.3.0, alpine-v19.3.0, ubuntu-v18.6.0.
	tagVersionRe = regexp.MustCompile(`(?:^|-)v(\d+)\.(\d+)\.(\d+)$`)
)

// Parse reads "v19.3.0" or "19.3.0".
func Parse(s string) (Version, bool) {
	return match(versionRe, s)
}

// FromTag reads the release an image tag ends in, as GitLab tags its runner
// images: v19.3.0, alpine-v19.3.0, alpine3.21-v19.0.0. Any other tag names
// no release.
func FromTag(tag string) (Version, bool) {
	return match(tagVersionRe, tag)
}

func match(re *regexp.Regexp, s string) (Version, bool) {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return Version{}, false
	}
	return Version{atoi(m[1]), atoi(m[2]), atoi(m[3])}, true
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s) // only called on \d+ matches
	return n
}
