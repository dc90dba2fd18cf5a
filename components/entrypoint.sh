#!/bin/sh
# Entrypoint of a GitLab runner manager pod (POSIX sh).
#
# 1. Write a deterministic .runner_system_id derived from the pod's stable
#    StatefulSet name, so a restarted pod keeps its manager identity in GitLab
#    instead of piling up a new manager on every restart.
# 2. Verify the runner authentication token (glrt-...) with
#    `gitlab-runner register --token`, which only verifies an existing runner
#    and merges the [[runners]] template into config.toml. Transient failures
#    (GitLab down, network not ready) are retried.
# 3. exec `gitlab-runner run`, so the runner is PID 1 and receives signals. The
#    pod's preStop hook sends it SIGQUIT (graceful: finish running jobs) before
#    Kubernetes sends SIGTERM (which the runner treats as forceful).
#
# There is no unregister on stop: the runner belongs to the Pulumi stack.
set -eu

config_dir="${CONFIG_DIR:-/etc/gitlab-runner}"
template_dir="${TEMPLATE_DIR:-/configmaps}"
token_file="${RUNNER_TOKEN_FILE:-/secrets/runner-token}"
attempts="${REGISTER_ATTEMPTS:-30}"
: "${CI_SERVER_URL:?must be set to the GitLab URL}"
: "${POD_NAME:?must be set from the downward API}"
: "${POD_NAMESPACE:?must be set from the downward API}"

log() {
	printf '%s entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
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

n=1
while :; do
	# Start from the global settings each time: a failed register may leave a
	# half-written config.toml behind.
	cp "$template_dir/config.toml" "$config_dir/config.toml"
	if gitlab-runner register --non-interactive \
		--url "$CI_SERVER_URL" \
		--token "$token" \
		--executor kubernetes \
		--name "$POD_NAME" \
		--config "$config_dir/config.toml" \
		--template-config "$template_dir/runner-template.toml"; then
		break
	fi
	if [ "$n" -ge "$attempts" ]; then
		log "could not verify the runner token after $n attempts; giving up"
		exit 1
	fi
	delay=$((n < 6 ? n * 5 : 30))
	log "verifying the runner token failed (attempt $n of $attempts); retrying in ${delay}s"
	sleep "$delay"
	n=$((n + 1))
done
unset token

log "token verified; starting the runner"
exec gitlab-runner run --config "$config_dir/config.toml"
