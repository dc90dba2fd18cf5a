package main

import (
	"errors"
	"strings"
)

// errEngineFailed is an engine command that failed after its output,
// error included, was shown: the driver adds nothing.
var errEngineFailed = errors.New("the engine failed (its error is shown above)")

// engineError is the error of a pulumi CLI call whose output was not shown:
// only what the CLI said on stderr (the Automation API's error also holds
// the command's whole stdout, and would show it all again).
func engineError(err error) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	i := strings.LastIndex(text, "\nstderr: ")
	if i < 0 || !strings.Contains(text[:i], "\ncode: ") {
		return err // not the CLI's: the driver's own or the SDK's
	}
	stderr := strings.TrimSpace(text[i+len("\nstderr: "):])
	if stderr == "" {
		return err
	}
	return errors.New(strings.TrimPrefix(stderr, "error: "))
}

// streamedError is the error of an engine command whose output, stderr
// included, went to the terminal as it ran.
func streamedError(err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "\nstderr: ") {
		return errEngineFailed
	}
	return err
}
