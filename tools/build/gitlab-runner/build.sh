#!/usr/bin/env bash
# Builds gitlab-runner and gitlab-runner-helper from the GitLab Runner module
# pinned in go.mod, into OUT/bin, with the version stamps the runner's own
# Makefile sets (common.NAME, VERSION, REVISION, BUILT), so that
# `gitlab-runner --version` names the source it was built from.
#
# The runner's release builds run from a git checkout: VERSION comes from its
# ci/version script (the VERSION file, plus ~pre.<commits>.g<revision> between
# releases), REVISION and BUILT from Go's VCS stamps. A build of the module
# from the Go proxy has no git checkout and no VCS stamps, so this script
# derives them from the pseudo-version instead: VERSION is the module's VERSION
# file with ~pre.g<revision> (the commit count since the last tag is not in the
# module), REVISION the commit's first 8 hex digits, BUILT the commit time.
#
# Usage: tools/build/gitlab-runner/build.sh OUT
set -euo pipefail

out="${1:?usage: $0 OUT}"
cd "$(dirname "${BASH_SOURCE[0]}")"

module=gitlab.com/gitlab-org/gitlab-runner
# go list -m only names the folder of a module already downloaded.
go mod download "$module"
pseudo="$(go list -m -f '{{.Version}}' "$module")"
dir="$(go list -m -f '{{.Dir}}' "$module")"

# vX.Y.Z-0.YYYYMMDDhhmmss-abcdefabcdef
if [[ ! "$pseudo" =~ [-.]([0-9]{14})-([0-9a-f]{12})$ ]]; then
	echo "$module@$pseudo is not a pseudo-version: set VERSION, REVISION and BUILT by hand for a release" >&2
	exit 1
fi
stamp="${BASH_REMATCH[1]}"
revision="${BASH_REMATCH[2]:0:8}"
built="${stamp:0:4}-${stamp:4:2}-${stamp:6:2}T${stamp:8:2}:${stamp:10:2}:${stamp:12:2}Z"
release="$(tr -d '[:space:]' <"$dir/VERSION")"
version="$release~pre.g$revision"

common="$module/common"
ldflags() {
	echo "-w -X $common.NAME=$1 -X $common.VERSION=$version -X $common.REVISION=$revision -X $common.BUILT=$built"
}

mkdir -p "$out/bin"
# CGO_ENABLED=0 as in the runner's Makefile: static binaries, like the image's.
export CGO_ENABLED=0
go build -ldflags "$(ldflags gitlab-runner)" -o "$out/bin/gitlab-runner" "$module"
go build -ldflags "$(ldflags gitlab-runner-helper)" -o "$out/bin/gitlab-runner-helper" "$module/apps/gitlab-runner-helper"
echo "built gitlab-runner $version ($revision, $built) from $module@$pseudo into $out/bin"
