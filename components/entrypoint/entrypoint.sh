#!/bin/sh
# Entrypoint of a GitLab runner manager pod (POSIX sh).
#
#   entrypoint.sh            start the manager (the container's command)
#   entrypoint.sh prestop    the pod's preStop hook
#
# Start:
# 1. Write a deterministic .runner_system_id derived from the pod's stable
#    StatefulSet name, so a restarted pod keeps its manager identity in GitLab
#    instead of piling up a new manager on every restart.
# 2. Verify the runner authentication token (glrt-...) with
#    `gitlab-runner register`, which only verifies an existing runner and
#    merges the [[runners]] template into config.toml. The token goes through
#    the environment (CI_SERVER_TOKEN), never the command line. Transient
#    failures (GitLab down, network not ready) are retried within
#    REGISTER_BUDGET_SECONDS of sleeps, which the startup probe's window covers.
# 3. exec `gitlab-runner run`, so the runner is PID 1 and receives signals.
#
# Until the exec this shell is PID 1, and PID 1 ignores every signal it has
# no handler for: SIGTERM, SIGQUIT and SIGINT are trapped so that a pod stuck
# retrying registration stops at once. Commands run in the background and are
# waited for, so a signal is handled immediately, not when they end.
#
# Stop (the kubelet runs preStop, then sends SIGTERM, all within
# terminationGracePeriodSeconds): preStop sends SIGQUIT to PID 1, the runner's
# graceful stop (finish running jobs, take no new ones), and waits for it to
# exit, but at most DRAIN_SECONDS. Then the kubelet's SIGTERM, the runner's
# forceful stop, aborts what is left and cleans up job pods within
# shutdown_timeout, which the rest of the grace period leaves it.
#
# There is no unregister on stop: the runner belongs to the Pulumi stack.
set -eu

log() {
	printf '%s entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

prestop() {
	drain="${DRAIN_SECONDS:?must be set to the seconds a stopping manager may drain}"
	log "preStop: asking the runner to finish its jobs (SIGQUIT), for at most ${drain}s"
	kill -QUIT 1 2>/dev/null || exit 0
	# Counted in whole sleeps: never less than the drain time.
	waited=0
	while kill -0 1 2>/dev/null; do
		if [ "$waited" -ge "$drain" ]; then
			log "preStop: jobs still running after ${drain}s; SIGTERM follows, which aborts them"
			exit 0
		fi
		sleep 1
		waited=$((waited + 1))
	done
}

if [ "${1:-}" = prestop ]; then
	prestop
	exit 0
fi

config_dir="${CONFIG_DIR:-/etc/gitlab-runner}"
template_dir="${TEMPLATE_DIR:-/configmaps}"
token_file="${RUNNER_TOKEN_FILE:-/secrets/runner-token}"
budget="${REGISTER_BUDGET_SECONDS:-420}"
: "${CI_SERVER_URL:?must be set to the GitLab URL}"
: "${POD_NAME:?must be set from the downward API}"
: "${POD_NAMESPACE:?must be set from the downward API}"

phase=starting
child=
on_signal() {
	log "received SIG$1 while $phase; stopping"
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || :
	fi
	exit $((128 + $2))
}
trap 'on_signal TERM 15' TERM
trap 'on_signal QUIT 3' QUIT
trap 'on_signal INT 2' INT

# wait_for CMD...: runs CMD in the background and waits for it, so that a
# trapped signal interrupts the wait at once (and stops CMD).
wait_for() {
	"$@" &
	child=$!
	status=0
	wait "$child" || status=$?
	child=
	return "$status"
}

# s_ followed by 12 characters of [0-9a-f], the format the runner accepts.
system_id="s_$(printf '%s/%s' "$POD_NAMESPACE" "$POD_NAME" | sha256sum | cut -c1-12)"
printf '%s\n' "$system_id" >"$config_dir/.runner_system_id"
log "runner manager $POD_NAME uses system id $system_id"

token="$(cat "$token_file")"
case "$token" in
glrt-*) ;;
*)
	log "$token_file does not hold a runner authentication token (glrt-...)"
	exit 1
	;;
esac

# register runs in a background subshell (wait_for): the token is exported
# there only, and exec makes the subshell the runner, so a signal reaches it.
register() {
	export CI_SERVER_TOKEN="$token"
	exec gitlab-runner register --non-interactive \
		--url "$CI_SERVER_URL" \
		--executor kubernetes \
		--name "$POD_NAME" \
		--config "$config_dir/config.toml" \
		--template-config "$template_dir/runner-template.toml"
}

phase="verifying the runner token"
n=1
slept=0
while :; do
	# Start from the global settings each time: a failed register may leave a
	# half-written config.toml behind.
	cp "$template_dir/config.toml" "$config_dir/config.toml"
	if wait_for register; then
		break
	fi
	delay=$((n < 6 ? n * 5 : 30))
	if [ $((slept + delay)) -gt "$budget" ]; then
		log "could not verify the runner token after $n attempts (${slept}s of retries); giving up"
		exit 1
	fi
	log "verifying the runner token failed (attempt $n, ${slept}s of ${budget}s of retries used); retrying in ${delay}s"
	phase="waiting to retry"
	wait_for sleep "$delay"
	slept=$((slept + delay))
	phase="verifying the runner token"
	n=$((n + 1))
done
unset token

log "token verified; starting the runner"
exec gitlab-runner run --config "$config_dir/config.toml"
