#!/usr/bin/env bash
# Builds (or reuses) the local toolchain from Go modules, pinned by version:
# the pulumi CLI and its YAML language host, the Kubernetes provider plugin,
# etcd and the Kubernetes control plane, kwok, and GitLab Runner (gitlab-runner
# and gitlab-runner-helper). Nothing here can be downloaded as a binary, so each
# tool is compiled once into a cache outside the repository, keyed by version,
# and reused by every clone (see the README for how long a cold build takes).
#
# Then it builds the repository's own stand-ins (GitLab API and gitlab provider
# plugin) and installs both plugins into the project-local PULUMI_HOME.
#
# Usage: tools/toolchain.sh            build what is missing, install plugins
#        tools/toolchain.sh --env      also print the environment to use them
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${GLRF_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/glrf-tools}"
local_dir="$root/.local"

# Pinned versions. The Kubernetes provider module is only served as a
# pseudo-version (commit f47bc2d6, 2026-01-15); its nearest release is v4.25.0,
# tagged the next day, which is also the SDK version the program uses. The
# plugin reports 4.25.0+f47bc2d6f199: Pulumi ignores build metadata when it
# matches plugin versions, and the suffix keeps the real origin visible.
PULUMI_VERSION=v3.274.1
K8S_PROVIDER_VERSION=4.25.0+f47bc2d6f199
KUBE_VERSION=v1.34.4
KWOK_VERSION=v0.8.0
GITLAB_PLUGIN_VERSION=8.11.0+offline.standin
# The newest pulumi-yaml release the module proxy serves (the proxy refuses
# its version list; exact versions were tried).
PULUMI_YAML_VERSION=v1.38.3
# GitLab Runner is built from the module version tools/build/gitlab-runner's
# go.mod pins (a pseudo-version: see the README on which source the lab runs).
GITLAB_RUNNER_VERSION="$(awk '{ sub(/^require[ \t]+/, "") } $1 == "gitlab.com/gitlab-org/gitlab-runner" { print $2 }' \
	"$root/tools/build/gitlab-runner/go.mod")"
[ -n "$GITLAB_RUNNER_VERSION" ] || { echo "tools/build/gitlab-runner/go.mod pins no gitlab.com/gitlab-org/gitlab-runner" >&2; exit 1; }

pulumi_dir="$cache/pulumi-$PULUMI_VERSION"
provider_dir="$cache/kubernetes-provider-$K8S_PROVIDER_VERSION"
kube_dir="$cache/kube-$KUBE_VERSION"
kwok_dir="$cache/kwok-$KWOK_VERSION"
pulumi_yaml_dir="$cache/pulumi-yaml-$PULUMI_YAML_VERSION"
runner_dir="$cache/gitlab-runner-$GITLAB_RUNNER_VERSION"

log() { printf '[toolchain] %s\n' "$*" >&2; }

# Every build here and every `go vet` and `go test` of make (which exports the
# same) compile with cgo off: Go's build cache shares a compiled package only
# between builds with the same setting, and cgo changes net and os/user, so
# nearly everything above them. The runner's own Makefile builds with it off
# too. With cgo off and the modules on one version of each shared dependency
# (tools/modversions), a cold machine compiles most packages once.
export CGO_ENABLED=0

# The builds run in two lanes in the background (lane_add, lane_start): one
# after another within a lane, so that each reuses what the one before it
# compiled (Go's build cache keeps a package compiled once for every build with
# the same dependencies and flags; the Pulumi CLI and the YAML host share most
# of theirs), and the two lanes side by side. No -trimpath, for the same
# reason: lint and the tests compile many of these packages without it first.
pids=()
names=()
lane=()
# lane_add NAME OUTPUT_DIR COMMAND BUILD_DIR: queues a build into the
# current lane, unless OUTPUT_DIR holds a complete one built from the same
# BUILD_DIR (a digest of its files: go.mod and go.sum change when
# dependencies are aligned, the runner build's stand-ins when they are
# edited). COMMAND gets a temporary folder, moved into place only when it
# succeeds.
lane_add() {
	if [ -e "$2/.complete" ] && [ "$(cat "$2/sources.sha256" 2>/dev/null)" = "$(sources "$4")" ]; then
		log "$1: cached in $2"
		return
	fi
	[ ! -e "$2/.complete" ] || log "$1: $4 changed since $2 was built; rebuilding"
	lane+=("$1" "$2" "$3" "$4")
}
# sources DIR: a digest of the build folder's files, tests aside.
sources() {
	(cd "$1" && find . -type f ! -name '*_test.go' ! -path './testdata/*' ! -name schema.json ! -name terraform-mapping.json -print0 |
		LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}
# build_one NAME OUTPUT_DIR COMMAND BUILD_DIR
build_one() {
	local name=$1 out=$2 fn=$3 dir=$4 started=$SECONDS
	log "$name: building (log: $cache/$name.log)"
	# The build runs as a process of its own (this script with --build):
	# inside an `if` bash ignores set -e, so a build function whose
	# `go build` failed would go on, and its folder would be marked complete
	# without the binary (it happened: a provider that did not compile).
	rm -rf "$out.partial" && mkdir -p "$out.partial"
	if ! "$root/tools/toolchain.sh" --build "$fn" "$out.partial" >"$cache/$name.log" 2>&1; then
		log "$name: build FAILED; last lines of $cache/$name.log:"
		tail -n 30 "$cache/$name.log" >&2
		return 1
	fi
	sources "$dir" >"$out.partial/sources.sha256"
	touch "$out.partial/.complete"
	rm -rf "$out" && mv "$out.partial" "$out"
	log "$name: built in $(((SECONDS - started) / 60)) min"
}
# lane_start: runs the queued builds one after another in the background,
# stopping at the first that fails, and starts a new lane.
lane_start() {
	[ ${#lane[@]} -gt 0 ] || return 0
	local queued=("${lane[@]}") i label=${lane[0]}
	for ((i = 4; i < ${#queued[@]}; i += 4)); do label+=" then ${queued[i]}"; done
	mkdir -p "$cache"
	(
		for ((i = 0; i < ${#queued[@]}; i += 4)); do
			build_one "${queued[i]}" "${queued[i + 1]}" "${queued[i + 2]}" "${queued[i + 3]}" || exit 1
		done
	) &
	pids+=($!)
	names+=("($label)")
	lane=()
}

build_pulumi() {
	cd "$root/tools/build/pulumi"
	go build -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
		-o "$1/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_provider() {
	cd "$root/tools/build/kubernetes-provider"
	local module
	# go list -m only names the folder of a module already downloaded.
	go mod download github.com/pulumi/pulumi-kubernetes/provider/v4
	module="$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)"
	[ -n "$module" ] || { echo "cannot find the provider module's folder" >&2; return 1; }
	install -m 0644 "$module/cmd/pulumi-resource-kubernetes/schema.json" "$module/cmd/pulumi-resource-kubernetes/terraform-mapping.json" .
	go build -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" \
		-o "$1/pulumi-resource-kubernetes" .
}

build_kube() {
	cd "$root/tools/build/kube"
	local ld="-s -w" pkg
	# Without these the servers report v0.0.0-master+$Format:%H$, which clients cannot parse.
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld="$ld -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=34"
		ld="$ld -X $pkg.gitTreeState=clean -X $pkg.buildDate=2026-02-10T00:00:00Z"
	done
	go build -ldflags "$ld" -o "$1/" k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler ./etcd
}

build_kwok() {
	cd "$root/tools/build/kwok"
	go build -ldflags "-s -w" -o "$1/kwok" sigs.k8s.io/kwok/cmd/kwok
	# kwok refuses to start without Stage configs; they ship in its module.
	go mod download sigs.k8s.io/kwok
	local module
	module="$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
	[ -n "$module" ] || { echo "cannot find kwok's module folder" >&2; return 1; }
	cp -r "$module/kustomize/stage" "$1/stages"
	chmod -R u+w "$1/stages"
}

# The language host of Pulumi YAML programs (examples/yaml); a normal Pulumi
# install ships it next to the CLI.
build_pulumi_yaml() {
	cd "$root/tools/build/pulumi-yaml"
	go build -ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$PULUMI_YAML_VERSION" \
		-o "$1/pulumi-language-yaml" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
}

# The runner build also compiles the stand-ins in tools/build/gitlab-runner,
# which live in this repository (part of its folder's digest).
build_gitlab_runner() {
	"$root/tools/build/gitlab-runner/build.sh" "$1"
}

# --build FUNCTION OUT: one build, called by build_one; set -e holds here.
if [ "${1:-}" = --build ]; then
	"$2" "$3"
	exit
fi

# One build at a time per cache: a second run (another clone, `make e2e`
# next to `make up`, the e2e suite calling this script) waits for the first
# and then reuses what it built, instead of building into the same folders.
# The builds inherit the lock, so it holds until they end even if this script
# is killed.
mkdir -p "$cache"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/.build.lock"
	if ! flock -n 9; then
		log "another toolchain.sh is building into $cache; waiting for it to finish"
		flock 9
	fi
else
	log "flock not found: nothing stops a second toolchain.sh from building into $cache at the same time"
fi

# Lane one: the Pulumi family (the YAML host shares most of the CLI's
# packages, the Kubernetes provider some).
if command -v pulumi >/dev/null 2>&1 && [ -z "${GLRF_BUILD_PULUMI:-}" ]; then
	pulumi_bin="$(command -v pulumi)"
	log "pulumi: using $pulumi_bin ($(pulumi version))"
else
	lane_add pulumi "$pulumi_dir" build_pulumi "$root/tools/build/pulumi"
	pulumi_bin="$pulumi_dir/bin/pulumi"
fi
lane_add pulumi-yaml "$pulumi_yaml_dir" build_pulumi_yaml "$root/tools/build/pulumi-yaml"
lane_add kubernetes-provider "$provider_dir" build_provider "$root/tools/build/kubernetes-provider"
lane_start
# Lane two: the runner first (lint compiles about a third of its packages
# as the runner builds them, CGO off), then the control plane and kwok.
lane_add gitlab-runner "$runner_dir" build_gitlab_runner "$root/tools/build/gitlab-runner"
lane_add kube "$kube_dir" build_kube "$root/tools/build/kube"
lane_add kwok "$kwok_dir" build_kwok "$root/tools/build/kwok"
lane_start

# Progress while the background builds run.
start=$SECONDS
running() {
	local i out=()
	for i in "${!pids[@]}"; do
		kill -0 "${pids[$i]}" 2>/dev/null && out+=("${names[$i]}")
	done
	echo "${out[*]}"
}
last_report=$SECONDS
for i in "${!pids[@]}"; do
	# Checked every 2 s, so that the script goes on as soon as a build ends;
	# reported every 30 s.
	while kill -0 "${pids[$i]}" 2>/dev/null; do
		sleep 2
		if kill -0 "${pids[$i]}" 2>/dev/null && [ $((SECONDS - last_report)) -ge 30 ]; then
			log "still building $(running) ($(((SECONDS - start) / 60)) min so far)"
			last_report=$SECONDS
		fi
	done
	# build_one has said which build failed and shown its log.
	wait "${pids[$i]}" || exit 1
done
[ ${#pids[@]} -eq 0 ] || log "toolchain built in $(((SECONDS - start) / 60)) min"
exec 9>&- # the cache is complete: release the lock

# The repository's own stand-ins build in seconds; always rebuild them so they
# match the checked-out source.
mkdir -p "$local_dir/bin"
(cd "$root/tools" && go build -o "$local_dir/bin/" ./cmd/gitlab-standin ./cmd/pulumi-resource-gitlab ./cmd/cluster ./cmd/fleet-managers)

# Plugins go into the project-local PULUMI_HOME only: the user's ~/.pulumi is
# never touched. The engine looks plugins up as <kind>-<name>-v<version>.
plugins="$local_dir/pulumi-home/plugins"
install_plugin() {
	local dir="$plugins/resource-$1-v$2"
	mkdir -p "$dir"
	ln -sf "$3" "$dir/pulumi-resource-$1"
}
install_plugin kubernetes "$K8S_PROVIDER_VERSION" "$provider_dir/pulumi-resource-kubernetes"
install_plugin gitlab "$GITLAB_PLUGIN_VERSION" "$local_dir/bin/pulumi-resource-gitlab"
# The CLI finds a language host on PATH, next to itself, or here (the newest
# language-yaml-v* when the project names no version).
mkdir -p "$plugins/language-yaml-$PULUMI_YAML_VERSION"
ln -sf "$pulumi_yaml_dir/pulumi-language-yaml" "$plugins/language-yaml-$PULUMI_YAML_VERSION/pulumi-language-yaml"
log "plugins installed in $plugins"

if [ "${1:-}" = "--env" ]; then
	cat <<EOF
export GLRF_PULUMI=$pulumi_bin
export GLRF_KUBE_BIN=$kube_dir
export GLRF_KWOK_BIN=$kwok_dir/kwok
export GLRF_KWOK_STAGES=$kwok_dir/stages
export GLRF_RUNNER_BIN=$runner_dir/bin
export PULUMI_HOME=$local_dir/pulumi-home
EOF
fi
