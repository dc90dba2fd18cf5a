package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/term"
)

// errNotInteractive is pulumi's answer to an update that would need a
// confirmation nobody can give.
var errNotInteractive = errors.New("--yes or --skip-preview must be passed in to proceed when running in non-interactive mode")

// confirmer asks whether to go ahead after a preview, as pulumi up,
// refresh and destroy do.
type confirmer struct {
	in  io.Reader
	out io.Writer
	// interactive: a person can answer on in.
	interactive bool
}

func terminalConfirmer() confirmer {
	return confirmer{in: os.Stdin, out: os.Stderr, interactive: term.IsTerminal(int(os.Stdin.Fd()))}
}

// check fails before anything runs when the command would need an answer
// and cannot get one. As with pulumi, --skip-preview and
// PULUMI_SKIP_CONFIRMATIONS=true imply --yes.
func (c confirmer) check(f *engineFlags) error {
	if skip, _ := strconv.ParseBool(os.Getenv("PULUMI_SKIP_CONFIRMATIONS")); skip || f.skipPreview {
		f.yes = true
	}
	if !f.yes && !c.interactive {
		return errNotInteractive
	}
	return nil
}

// ask asks the question; only "yes" goes ahead.
func (c confirmer) ask(question string) (bool, error) {
	fmt.Fprintf(c.out, "%s (yes/no) ", question)
	line, err := bufio.NewReader(c.in).ReadString('\n')
	if err != nil && line == "" {
		return false, fmt.Errorf("no answer: %w", err)
	}
	return strings.TrimSpace(strings.ToLower(line)) == "yes", nil
}
