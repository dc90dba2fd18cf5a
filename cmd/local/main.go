// Command local runs the program through the real Pulumi engine on this
// machine, with the pulumi CLI's commands and options:
//
//	go run ./cmd/local [--stack dev] preview [--diff] [--target URN] [--replace URN] ...
//	go run ./cmd/local [--stack dev] up [--yes] [--skip-preview] [--target URN] [--replace URN] ...
//	go run ./cmd/local [--stack dev] refresh|destroy [--yes] ...
//	go run ./cmd/local [--stack dev] config set [--secret] KEY [VALUE]
//	go run ./cmd/local [--stack dev] stack [--show-urns] | stack output [NAME] [--json] | stack rm [--force]
//	go run ./cmd/local [--stack dev] recover | outputs
//
// `go run ./cmd/local help` lists them; `COMMAND --help` shows a command's
// flags. It is what `make up`, `make preview` and `make destroy` call; see
// localengine for where state, plugins and secrets live (a file backend in
// .local/state).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := &driver{out: os.Stdout, errOut: os.Stderr, confirm: terminalConfirmer()}
	err := d.run(ctx, os.Args[1:])
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case errors.Is(err, errEngineFailed):
		// The engine printed its own error, once, above.
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// errUsage is a command line the driver cannot read; its usage was printed.
var errUsage = errors.New("usage")

// commands are the driver's commands, each with what it does, in the
// order `help` lists them.
var commands = []struct {
	name, summary string
}{
	{"preview", "show what up would change (--diff for every property)"},
	{"up", "preview, ask, then create or update the stack's resources"},
	{"refresh", "read the resources' real state into the stack's state"},
	{"destroy", "delete every resource of the stack"},
	{"config", "read and write the stack's settings (Pulumi.<stack>.yaml)"},
	{"stack", "the stack's resources (--show-urns: the URNs --target and --replace take); stack output; stack rm"},
	{"outputs", "the stack's outputs as JSON, secrets masked (stack output --json)"},
	{"recover", "make a stack usable again after its engine was killed mid-update"},
}

func (d *driver) usage() {
	fmt.Fprint(d.errOut, `usage: go run ./cmd/local [--stack NAME] [--secrets-provider URL] COMMAND [flags] [args]

The program through the real Pulumi engine (Automation API, inline program), with a file
backend in .local/state. Commands take the pulumi CLI's flags; COMMAND --help lists them.

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(d.errOut, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(d.errOut, "\nFlags:\n")
}

// driver runs one command line.
type driver struct {
	out, errOut io.Writer
	confirm     confirmer
	// stackName and secretsProvider are the global flags.
	stackName, secretsProvider string
}

func (d *driver) run(ctx context.Context, args []string) error {
	global := newFlags("local", "[--stack NAME] COMMAND [flags]", d.errOut)
	global.StringVar(&d.stackName, "stack", "dev", "the stack to operate on (Pulumi.<stack>.yaml)")
	global.StringVar(&d.stackName, "s", "dev", "short for --stack")
	global.StringVar(&d.secretsProvider, "secrets-provider", "", "the secrets provider of a new stack other than dev (default: passphrase, from PULUMI_CONFIG_PASSPHRASE)")
	global.Usage = func() { d.usage(); global.PrintDefaults() }
	if err := global.Parse(args); err != nil {
		return usageError(err)
	}
	if global.NArg() == 0 || global.Arg(0) == "help" {
		global.Usage()
		if global.NArg() == 0 {
			return errUsage
		}
		return nil
	}
	command, rest := global.Arg(0), global.Args()[1:]
	switch command {
	case "preview", "up", "refresh", "destroy":
		return d.engineCommand(ctx, command, rest)
	case "config":
		return d.configCommand(ctx, rest)
	case "stack":
		return d.stackCommand(ctx, rest)
	case "outputs":
		return d.outputsCommand(ctx, rest)
	case "recover":
		return d.recoverCommand(ctx, rest)
	}
	d.usage()
	global.PrintDefaults()
	return fmt.Errorf("%w: unknown command %q", errUsage, command)
}

// usageError is errHelp for --help, else errUsage (the flag package has
// printed the problem and the usage).
func usageError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}

// stackFlags lets a command take --stack after its name too, as pulumi's
// commands take -s.
func (d *driver) stackFlags(fs *flagSet) {
	fs.StringVar(&d.stackName, "stack", d.stackName, "the stack to operate on (Pulumi.<stack>.yaml)")
	fs.StringVar(&d.stackName, "s", d.stackName, "short for --stack")
}

// parse parses a command's flags, before, between or after its arguments
// as the pulumi CLI takes them, and checks the number of arguments ("--"
// ends the flags).
func parse(fs *flagSet, args []string, minArgs, maxArgs int) ([]string, error) {
	var positional []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, usageError(err)
		}
		consumed := len(args) - fs.NArg()
		if consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, fs.Args()...)
			break
		}
		args = fs.Args()
		if len(args) > 0 {
			positional = append(positional, args[0])
			args = args[1:]
		}
	}
	if n := len(positional); n < minArgs || n > maxArgs {
		fs.Usage()
		return nil, fmt.Errorf("%w: takes %d to %d arguments, got %d", errUsage, minArgs, maxArgs, n)
	}
	return positional, nil
}
