#!/usr/bin/env bash
# Starts and stops the local GitLab API stand-in (tools/cmd/gitlab-standin) in
# the background, with its state and admin token under .local/gitlab.
# Usage: tools/local-gitlab.sh start|stop|status
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${GLRF_GITLAB_DIR:-$root/.local/gitlab}"
listen="${GLRF_GITLAB_LISTEN:-127.0.0.1:18080}"
bin="$root/.local/bin/gitlab-standin"
pidfile="$dir/gitlab-standin.pid"
seed="${GLRF_GITLAB_SEED:-}" # optional JSON seed (users, groups, projects); default: the built-in one

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
start)
	if running; then
		echo "local GitLab already running (pid $(cat "$pidfile")) on http://$listen/"
		exit 0
	fi
	[ -x "$bin" ] || { echo "missing $bin: run tools/toolchain.sh (make tools) first" >&2; exit 1; }
	mkdir -p "$dir"
	seed_args=()
	[ -n "$seed" ] && seed_args=(--seed "$seed")
	setsid "$bin" --listen "$listen" --state "$dir/state.json" --token-file "$dir/admin-token" "${seed_args[@]}" \
		>>"$dir/gitlab-standin.log" 2>&1 </dev/null &
	echo $! >"$pidfile"
	for _ in $(seq 1 50); do
		if curl -fsS "http://$listen/-/health" >/dev/null 2>&1; then
			echo "local GitLab stand-in up on http://$listen/api/v4/ (token in $dir/admin-token)"
			exit 0
		fi
		sleep 0.2
	done
	echo "local GitLab stand-in did not start; last log lines:" >&2
	tail -n 20 "$dir/gitlab-standin.log" >&2
	exit 1
	;;
stop)
	if running; then
		kill "$(cat "$pidfile")"
		for _ in $(seq 1 50); do running || break; sleep 0.1; done
		running && kill -9 "$(cat "$pidfile")"
	fi
	rm -f "$pidfile"
	echo "local GitLab stand-in stopped"
	;;
status)
	if running; then echo "local GitLab running (pid $(cat "$pidfile"))"; else echo "local GitLab not running"; exit 1; fi
	;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
