#!/usr/bin/env bash
# Starts and stops the local GitLab API stand-in (tools/cmd/gitlab-standin) in
# the background, with its state and admin token under .local/gitlab.
# Usage: tools/local-gitlab.sh start|stop|status
#
# The dev fleet's managers run the real GitLab Runner and poll this GitLab for
# jobs. It holds a job request for GLRF_GITLAB_LONG_POLL_TIMEOUT (10s here;
# GitLab's default is 50s) when there is no job: a manager told to stop
# finishes its held request first, so a shorter hold makes `make up` changes
# and `make destroy` roll idle managers that much faster. Jobs are handed out
# at once either way.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${GLRF_GITLAB_DIR:-$root/.local/gitlab}"
listen="${GLRF_GITLAB_LISTEN:-127.0.0.1:18080}"
long_poll="${GLRF_GITLAB_LONG_POLL_TIMEOUT:-10s}"
bin="$root/.local/bin/gitlab-standin"
pidfile="$dir/gitlab-standin.pid"
argsfile="$dir/gitlab-standin.args"
seed="${GLRF_GITLAB_SEED:-}" # optional JSON seed (users, groups, projects); default: the built-in one

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

stop() {
	if running; then
		kill "$(cat "$pidfile")"
		for _ in $(seq 1 50); do running || break; sleep 0.1; done
		running && kill -9 "$(cat "$pidfile")"
	fi
	rm -f "$pidfile"
}

case "${1:-}" in
start)
	args=(--listen "$listen" --state "$dir/state.json" --token-file "$dir/admin-token" --long-poll-timeout "$long_poll")
	[ -n "$seed" ] && args+=(--seed "$seed")
	if running; then
		if [ "$(cat "$argsfile" 2>/dev/null)" = "${args[*]}" ]; then
			echo "local GitLab already running (pid $(cat "$pidfile")) on http://$listen/"
			exit 0
		fi
		echo "local GitLab runs with other settings: restarting it (its state is kept)"
		stop
	fi
	[ -x "$bin" ] || { echo "missing $bin: run tools/toolchain.sh (make tools) first" >&2; exit 1; }
	mkdir -p "$dir"
	setsid "$bin" "${args[@]}" >>"$dir/gitlab-standin.log" 2>&1 </dev/null &
	echo $! >"$pidfile"
	echo "${args[*]}" >"$argsfile"
	for _ in $(seq 1 50); do
		if curl -fsS "http://$listen/-/health" >/dev/null 2>&1; then
			echo "local GitLab stand-in up on http://$listen/api/v4/ (token in $dir/admin-token; job requests held up to $long_poll)"
			exit 0
		fi
		sleep 0.2
	done
	echo "local GitLab stand-in did not start; last log lines:" >&2
	tail -n 20 "$dir/gitlab-standin.log" >&2
	exit 1
	;;
stop)
	stop
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
