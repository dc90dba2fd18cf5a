package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// urns is a flag given once per URN (--target a --target b), as the
// pulumi CLI takes it.
type urns []string

func (u *urns) String() string { return strings.Join(*u, ",") }
func (u *urns) Set(v string) error {
	*u = append(*u, v)
	return nil
}

// engineFlags are the pulumi CLI's options the driver passes to the engine;
// each command registers those that apply to it.
type engineFlags struct {
	diff, targetDependents, refresh, expectNoChanges bool
	yes, skipPreview, remove, clearPendingCreates    bool
	parallel                                         int
	message                                          string
	target, replace                                  urns
}

type flagSet struct {
	*flag.FlagSet
	engine engineFlags
}

// newFlags is a command's own flag set: only the flags registered here show
// in its --help (the Pulumi SDK's and glog's flags live on the process's
// default set, which the driver never parses).
func newFlags(name, usage string, out io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: go run ./cmd/local %s\n\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

func (fs *flagSet) bool(p *bool, long, short, help string) {
	fs.BoolVar(p, long, false, help)
	if short != "" {
		fs.BoolVar(p, short, false, "short for --"+long)
	}
}

func (fs *flagSet) diff() {
	fs.bool(&fs.engine.diff, "diff", "", "show the full diff of every change, every property (the default is the compact tree)")
}
func (fs *flagSet) target() {
	fs.Var(&fs.engine.target, "target", "operate on this resource URN only (repeatable), as pulumi --target")
	fs.bool(&fs.engine.targetDependents, "target-dependents", "", "also the resources that depend on the targets")
}
func (fs *flagSet) replace() {
	fs.Var(&fs.engine.replace, "replace", "replace this resource URN even without a change (repeatable): the manual token rotation")
}
func (fs *flagSet) parallel() {
	fs.IntVar(&fs.engine.parallel, "parallel", 0, "the most resource operations at once (default: the engine's)")
	fs.IntVar(&fs.engine.parallel, "p", 0, "short for --parallel")
}
func (fs *flagSet) message() {
	fs.StringVar(&fs.engine.message, "message", "", "the update's message in the stack's history")
	fs.StringVar(&fs.engine.message, "m", "", "short for --message")
}
func (fs *flagSet) confirm() {
	fs.bool(&fs.engine.yes, "yes", "y", "go ahead without asking after the preview")
	fs.bool(&fs.engine.skipPreview, "skip-preview", "f", "do not preview first (with --yes, or when asked)")
}
