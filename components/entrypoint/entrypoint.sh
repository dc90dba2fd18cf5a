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
# 2. Run the pre-entrypoint script when PRE_ENTRYPOINT_SCRIPT names one (the
#    stack's manager.pod.preEntrypointScript): its failure stops the start,
#    and its time counts against the registration budget below.
# 3. Verify the runner authentication token (glrt-...) with
#    `gitlab-runner register`, which only verifies an existing runner and
#    merges the [[runners]] template into config.toml. The token goes through
#    the environment (CI_SERVER_TOKEN), never the command line. Transient
#    failures (GitLab down, network not ready) are retried until a deadline
#    REGISTER_BUDGET_SECONDS after the start, by the clock: one attempt may take
#    minutes (a 30 s dial, a second plain try, a 10-minute wait for response
#    headers), so the attempts count, not only the sleeps between them, and an
#    attempt still running at the deadline is stopped. The startup probe's
#    window covers the budget. The global settings are copied with
#    @POD_NAME@ replaced by the pod's name: the session server advertises each
#    manager's own address.
# 4. With TOKEN_CHECK_SECONDS (the fleet's token-check capability), start the
#    token watch in the background (watch_token): a dead token stops the
#    runner, so the pod turns not ready instead of polling on unnoticed.
# 5. exec `gitlab-runner run`, so the runner is PID 1 and receives signals.
#
# Until the exec this shell is PID 1, and PID 1 ignores every signal it has
# no handler for: SIGTERM, SIGQUIT and SIGINT are trapped so that a pod stuck
# retrying registration stops at once. Commands run in the background and are
# waited for, so a signal is handled immediately, not when they end.
#
# Stop (the kubelet runs preStop, then sends SIGTERM, all within
# terminationGracePeriodSeconds): preStop sends SIGQUIT to PID 1, the runner's
# graceful stop (finish running jobs, take no new ones), and waits for it to
# exit, but at most DRAIN_SECONDS by the clock (a loop that counted its
# iterations would overrun by whatever each `sleep 1` takes beyond a second on
# a busy node, and eat the forceful stop's time). Then the kubelet's SIGTERM,
# the runner's forceful stop, aborts what is left and cleans up job pods
# within shutdown_timeout, which the rest of the grace period leaves it.
#
# There is no unregister on stop: the runner belongs to the Pulumi stack.
set -eu

log() {
	printf '%s entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

# now is the wall clock in seconds: every deadline here is counted on it.
now() {
	date +%s
}

prestop() {
	drain="${DRAIN_SECONDS:?must be set to the seconds a stopping manager may drain}"
	started=$(now)
	deadline=$((started + drain))
	log "preStop: asking the runner to finish its jobs (SIGQUIT), for at most ${drain}s"
	kill -QUIT 1 2>/dev/null || exit 0
	while kill -0 1 2>/dev/null; do
		if [ "$(now)" -ge "$deadline" ]; then
			log "preStop: jobs still running after $(($(now) - started))s (drain time ${drain}s); SIGTERM follows, which aborts them"
			exit 0
		fi
		sleep 1
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
watchdog=
on_signal() {
	log "received SIG$1 while $phase; stopping"
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || :
	fi
	if [ -n "$watchdog" ]; then
		kill -USR1 "$watchdog" 2>/dev/null || :
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

# wait_until DEADLINE CMD...: wait_for CMD, but a watchdog stops CMD (SIGTERM)
# if it still runs when the clock reaches DEADLINE.
wait_until() {
	stop_at="$1"
	shift
	"$@" &
	child=$!
	watchdog_for "$stop_at" "$child" &
	watchdog=$!
	status=0
	wait "$child" || status=$?
	child=
	kill -USR1 "$watchdog" 2>/dev/null || :
	wait "$watchdog" 2>/dev/null || :
	watchdog=
	return "$status"
}

# watchdog_for DEADLINE PID (in the background): SIGTERM to PID once the clock
# reaches DEADLINE. SIGUSR1 ends it with its sleep. Not SIGTERM: this shell
# traps SIGTERM, and a subshell keeps the shell's handler for a moment after
# the fork, so a SIGTERM sent then (when CMD ends at once) is lost and
# wait_until waits for the watchdog until DEADLINE. Nothing traps SIGUSR1
# before the watchdog does: until then it kills the watchdog.
watchdog_for() {
	nap=
	trap 'if [ -n "$nap" ]; then kill -TERM "$nap" 2>/dev/null; fi; exit 0' USR1
	while left=$(($1 - $(now))) && [ "$left" -gt 0 ]; do
		sleep "$left" &
		nap=$!
		wait "$nap" || :
		nap=
	done
	kill -TERM "$2" 2>/dev/null || :
}

# s_ followed by 12 characters of [0-9a-f], the format the runner accepts.
system_id="s_$(printf '%s/%s' "$POD_NAMESPACE" "$POD_NAME" | sha256sum | cut -c1-12)"
printf '%s\n' "$system_id" >"$config_dir/.runner_system_id"
log "runner manager $POD_NAME uses system id $system_id"

# The budget covers the pre-entrypoint script and the registration: both
# must end inside the startup probe's window.
started=$(now)
deadline=$((started + budget))

if [ -n "${PRE_ENTRYPOINT_SCRIPT:-}" ]; then
	phase="running the pre-entrypoint script"
	log "running the pre-entrypoint script $PRE_ENTRYPOINT_SCRIPT"
	if ! wait_until "$deadline" /bin/sh "$PRE_ENTRYPOINT_SCRIPT"; then
		log "the pre-entrypoint script $PRE_ENTRYPOINT_SCRIPT failed, or still ran when the ${budget}s budget ran out; stopping (the pod restarts)"
		exit 1
	fi
fi

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
while :; do
	# Start from the global settings each time: a failed register may leave a
	# half-written config.toml behind.
	sed "s/@POD_NAME@/$POD_NAME/g" "$template_dir/config.toml" >"$config_dir/config.toml"
	if wait_until "$deadline" register; then
		break
	fi
	used=$(($(now) - started))
	if [ "$used" -ge "$budget" ]; then
		log "could not verify the runner token: attempt $n was still running or failed when the ${budget}s budget ran out (${used}s used); giving up"
		exit 1
	fi
	delay=$((n < 6 ? n * 5 : 30))
	if [ $((used + delay)) -ge "$budget" ]; then
		log "could not verify the runner token after $n attempts (${used}s of ${budget}s used, no time left for another); giving up"
		exit 1
	fi
	log "verifying the runner token failed (attempt $n, ${used}s of ${budget}s used); retrying in ${delay}s"
	phase="waiting to retry"
	wait_for sleep "$delay"
	phase="verifying the runner token"
	n=$((n + 1))
done
unset token

# watch_token SECONDS FAILURES RUNNER_PID (in the background, a child of the
# runner once it is exec'd): every SECONDS, `gitlab-runner verify` asks GitLab
# about the runner's token in config.toml (POST /api/v4/runners/verify, the
# runner's own client and system id). It fails only when GitLab answers 403,
# i.e. the runner was deleted or its token expired (a GitLab that cannot be
# reached, or answers 5xx, is not a token problem: it passes). Such a manager
# can never take a job again, and the runner would go on polling (each 403 a
# health-check failure, then an hour's pause) while /metrics, and so the
# probes, keep answering. After FAILURES refusals in a row the watch sends the
# runner SIGQUIT, its graceful stop: running jobs finish (they report with
# their own job tokens), no new one starts, the runner exits, the container
# ends and the pod is not ready; a restart cannot verify the token and stays
# not ready until a new token rolls the pods. The watch ends with the runner.
watch_token() {
	failures=0
	while sleep "$1" && kill -0 "$3" 2>/dev/null; do
		if out=$(gitlab-runner verify --config "$config_dir/config.toml" 2>&1); then
			failures=0
			continue
		fi
		failures=$((failures + 1))
		log "GitLab refuses the runner token ($failures of $2 checks in a row): $(printf '%s' "$out" | tr '\n' ' ')"
		if [ "$failures" -ge "$2" ]; then
			log "the runner was deleted in GitLab or its token expired: stopping the runner (SIGQUIT; running jobs finish), the pod turns not ready"
			kill -QUIT "$3" 2>/dev/null || :
			return 0
		fi
	done
}

if [ -n "${TOKEN_CHECK_SECONDS:-}" ]; then
	watch_token "$TOKEN_CHECK_SECONDS" "${TOKEN_CHECK_FAILURES:-2}" "$$" &
fi

log "token verified; starting the runner"
exec gitlab-runner run --config "$config_dir/config.toml"
