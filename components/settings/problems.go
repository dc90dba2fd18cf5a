package settings

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Problem is one invalid setting: where it is and what is allowed.
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Problems collects every invalid setting so all of them are reported at once.
type Problems []Problem

// Add records a problem with the setting at path (e.g.
// "fleets[0].manager.replicas"); the message says what is wrong and how to
// fix it, and never quotes a secret.
func (ps *Problems) Add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when there is no problem, else one error listing them all.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid stack configuration (%d problem(s)); nothing was created:", len(ps))
	for _, p := range ps {
		b.WriteString("\n  - " + p.String())
	}
	return fmt.Errorf("%s", b.String())
}

// FleetPath is where the settings of the i-th fleet, named name, are:
// "fleets[1] (docker-builds)", so that a problem names the fleet as the
// stack file does as well as by its place in the list. A fleet without a
// name yet (or whose name is not a string) is "fleets[i]" alone; a name that
// is not a plain word is quoted, so the path stays one unambiguous token.
func FleetPath(i int, name string) string {
	path := fmt.Sprintf("fleets[%d]", i)
	switch {
	case name == "":
		return path
	case plainName.MatchString(name):
		return path + " (" + name + ")"
	default:
		return path + " (" + strconv.Quote(name) + ")"
	}
}

// plainName is a name FleetPath shows unquoted: no space, parenthesis or
// quote to confuse where the path ends.
var plainName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
