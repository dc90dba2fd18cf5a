// Command gitlab-standin serves the offline GitLab REST API stand-in of
// package gitlab (the runner and job endpoints) so that the fleet program, the
// stand-in pulumi-gitlab plugin and runner pods can be exercised without a
// GitLab instance.
//
//	gitlab-standin --listen 127.0.0.1:18080 --state .local/gitlab/state.json \
//	    --token-file .local/gitlab/admin-token [--seed seed.json] \
//	    [--token NAME=TOKEN:scope1,scope2[@username]]... [--addr-file FILE] \
//	    [--long-poll-timeout 50s] [--trace-update-interval 30s]
//
// With --listen 127.0.0.1:0 the kernel picks a free port as the stand-in
// binds it, so no other program can take it in between; --addr-file names a
// file the stand-in writes the address it listens on to (host:port, written
// whole or not at all) once it accepts connections.
//
// --token-file names a file holding the administrator's (root's) token
// (scopes api, create_runner, manage_runner); it is generated (mode 0600)
// when missing. --seed replaces the default users, groups and projects (see
// gitlab.DefaultSeed and gitlab.Seed for the JSON shape). Tokens of other
// users are minted with POST /api/v4/users/:id/personal_access_tokens as the
// administrator, or given with --token ...@username. Each request is logged
// to stderr without any token.
//
// --long-poll-timeout is how long a runner's job request is held while no
// job arrives for it (Workhorse's apiCiLongPollingDuration; 50s is what the
// GitLab Omnibus package sets, 0 answers at once). --trace-update-interval
// is the X-GitLab-Trace-Update-Interval runners are told: how often they
// send a running job's log and learn that it was canceled (GitLab: 30s, 3s
// while someone watches the log). Job logs are kept in a traces directory
// beside the --state file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
)

// tokenFlags collects repeated --token flags.
type tokenFlags []gitlab.PersonalAccessToken

func (t *tokenFlags) String() string {
	names := make([]string, len(*t))
	for i, tok := range *t {
		names[i] = tok.Name
	}
	return strings.Join(names, ",")
}

func (t *tokenFlags) Set(v string) error {
	tok, err := gitlab.ParseTokenFlag(v)
	if err != nil {
		return err
	}
	*t = append(*t, tok)
	return nil
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Args[1:]); err != nil {
		log.Error("gitlab-standin failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("gitlab-standin", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:18080", "address to listen on (port 0 picks a free port)")
	statePath := fs.String("state", "", "JSON file runners are saved to and loaded from (empty: memory only)")
	tokenFile := fs.String("token-file", "", "file with the administrator token; generated (0600) when missing")
	externalURL := fs.String("external-url", "", "URL used in web_url fields (default http://LISTEN)")
	seedPath := fs.String("seed", "", "JSON file with the users, groups, projects and tokens (default: the built-in seed)")
	addrFile := fs.String("addr-file", "", "file to write the address listened on to (host:port), once listening")
	longPoll := fs.Duration("long-poll-timeout", 50*time.Second,
		"how long a job request is held while no job arrives (Workhorse's long polling; 0 answers at once)")
	traceInterval := fs.Duration("trace-update-interval", gitlab.DefaultTraceUpdateInterval,
		"how often runners are told to send a running job's log (X-GitLab-Trace-Update-Interval)")
	var tokens tokenFlags
	fs.Var(&tokens, "token", "extra personal access token NAME=TOKEN:scope1,scope2[@username] (repeatable; default user root)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *longPoll < 0 {
		return fmt.Errorf("--long-poll-timeout %v is negative: give a duration such as 50s, or 0 to answer at once", *longPoll)
	}
	if *traceInterval < time.Second {
		return fmt.Errorf("--trace-update-interval %v is under a second: GitLab sends whole seconds; give e.g. 3s or 30s", *traceInterval)
	}

	if *tokenFile != "" {
		tok, created, err := gitlab.LoadOrCreateTokenFile(*tokenFile)
		if err != nil {
			return err
		}
		tokens = append(tokens, gitlab.PersonalAccessToken{Name: "admin", Token: tok, Scopes: gitlab.AdminScopes})
		log.Info("administrator token", "file", *tokenFile, "generated", created, "scopes", strings.Join(gitlab.AdminScopes, ","))
	}
	var seed *gitlab.Seed
	if *seedPath != "" {
		var err error
		if seed, err = gitlab.LoadSeed(*seedPath); err != nil {
			return err
		}
	}
	if len(tokens) == 0 && (seed == nil || len(seed.Tokens) == 0) {
		return errors.New("no token configured: pass --token-file or --token, or a seed with tokens")
	}
	if *statePath == "" {
		log.Warn("no --state file: runners are kept in memory only")
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if *externalURL == "" {
		*externalURL = "http://" + ln.Addr().String()
	}
	srv, err := gitlab.New(gitlab.Config{StatePath: *statePath, Seed: seed, Tokens: tokens, ExternalURL: *externalURL,
		Logger: log, LongPollTimeout: *longPoll, TraceUpdateInterval: *traceInterval})
	if err != nil {
		_ = ln.Close()
		return err
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	// Held job requests end (204) when the server shuts down, rather than
	// holding the shutdown up to the long polling duration.
	httpSrv.RegisterOnShutdown(srv.Close)
	if *addrFile != "" {
		// The listener already queues connections: the address is usable
		// as soon as a reader finds the file.
		if err := writeFileAtomic(*addrFile, []byte(ln.Addr().String()+"\n")); err != nil {
			_ = ln.Close()
			return fmt.Errorf("writing --addr-file: %w", err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	log.Info("gitlab stand-in listening", "addr", ln.Addr().String(), "api", *externalURL+"/api/v4/",
		"state", *statePath, "runners", srv.RunnerCount(), "version", gitlab.Version,
		"long_poll_timeout", *longPoll, "trace_update_interval", *traceInterval)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder and a rename, so a reader sees the whole file or none.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
