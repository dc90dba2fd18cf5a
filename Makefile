# The two commands a fresh machine needs (see README):
#   make up     build or reuse the toolchain, start the local cluster and the
#               local GitLab stand-in, then preview and deploy the dev stack
#   make test   vet, staticcheck and every test, end-to-end ones included
# `go test ./...` (in any module: the root, tools/, provider/...) runs the
# fast layers only: the end-to-end suite, the control plane's and the pod
# runner's integration tests, the runner build's binary tests and the SDK
# checks carry the build tag e2e, which `make e2e` sets.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
# cgo off for every vet, test and tool build (tools/toolchain.sh sets the
# same): Go's build cache shares compiled packages only between builds with
# one setting, so lint's compiles serve the tests and the tool builds.
export CGO_ENABLED := 0
STACK ?= dev
STATICCHECK := go run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Builds what is missing (cached by version outside the repo) and exports the
# tool locations: GLRF_PULUMI, GLRF_KUBE_BIN, GLRF_KWOK_BIN, PULUMI_HOME...
TOOLCHAIN := eval "$$(tools/toolchain.sh --env)"
KUBECTL := kubectl --kubeconfig .local/cluster/kubeconfig
# The local driver: `up --yes` previews, then deploys without asking (as
# `pulumi up --yes`); `destroy --yes` likewise.
LOCAL := go run ./cmd/local --stack $(STACK)
# The local GitLab's address (tools/local-gitlab.sh), which the dev stack names
# and the cluster forwards into the manager pods; extra `cluster start` flags
# (other ports, say) go in CLUSTER_FLAGS.
export GLRF_GITLAB_LISTEN ?= 127.0.0.1:18080
CLUSTER_FLAGS ?=

.PHONY: up preview destroy down tools cluster cluster-down gitlab gitlab-down test lint unit e2e bench

# Ends once every manager of the stack runs the real runner and polls the
# local GitLab for jobs (.local/bin/fleet-managers reads them from GitLab).
up: cluster gitlab
	$(TOOLCHAIN) && $(LOCAL) up --yes
	$(KUBECTL) get statefulsets,pods -A -l app.kubernetes.io/part-of=gitlab-runner-fleet -o wide
	$(TOOLCHAIN) && $(LOCAL) outputs | .local/bin/fleet-managers --gitlab http://$(GLRF_GITLAB_LISTEN)/ \
		--token-file .local/gitlab/admin-token --kubeconfig .local/cluster/kubeconfig

preview: cluster gitlab
	$(TOOLCHAIN) && $(LOCAL) preview

destroy: cluster gitlab
	$(TOOLCHAIN) && $(LOCAL) destroy --yes

# Destroys the dev stack, then stops everything local.
down: destroy cluster-down gitlab-down

tools:
	tools/toolchain.sh

# The pod runner runs the fleets' manager pods for real (GitLab Runner from
# the toolchain's GLRF_RUNNER_BIN) and forwards the local GitLab into them.
cluster: tools
	$(TOOLCHAIN) && .local/bin/cluster start --run-pods app.kubernetes.io/component=runner-manager \
		--pod-forward $(GLRF_GITLAB_LISTEN) $(CLUSTER_FLAGS)

cluster-down:
	if [ -x .local/bin/cluster ]; then .local/bin/cluster stop; fi

gitlab: tools
	tools/local-gitlab.sh start

gitlab-down:
	tools/local-gitlab.sh stop

# The runner build's stand-ins are modules of their own, replaced in its
# go.mod: they are checked by their module paths from there.
RUNNER_BUILD := tools/build/gitlab-runner
RUNNER_STANDINS := go list -m -f '{{if .Replace}}{{.Path}}/...{{end}}' all

# The component's other modules: the multi-language provider and the
# example Go program that uses the component (each replaces this module).
COMPONENT_MODULES := provider examples/go-component
# The runner's own code in process, on what the fleet renders: a test-only
# module (its go.mod says why), run with the toolchain's runner.
RUNNER_LAB := tools/runnerlab

# Vet and staticcheck with the e2e tag: no file is excluded by it, so every
# file is checked.
lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet -tags e2e ./...
	cd tools && go vet -tags e2e ./...
	cd $(RUNNER_BUILD) && go vet -tags e2e ./... $$($(RUNNER_STANDINS))
	$(STATICCHECK) -tags e2e ./...
	cd tools && $(STATICCHECK) -tags e2e ./...
	cd $(RUNNER_BUILD) && $(STATICCHECK) -tags e2e ./... $$($(RUNNER_STANDINS))
	for m in $(COMPONENT_MODULES) $(RUNNER_LAB); do (cd $$m && go vet -tags e2e ./... && $(STATICCHECK) -tags e2e ./...); done

# Unit and mock tests: no toolchain needed; what `go test ./...` runs.
unit:
	go test ./...
	cd tools && go test ./...
	for m in $(COMPONENT_MODULES); do (cd $$m && go test ./...); done

# Everything that needs the built toolchain (build tag e2e): the control
# plane's and the pod runner's integration tests, the runner build's (its
# stand-ins, the built binaries, the runner's own client against the GitLab
# stand-in), the runner's own code in process (tools/runnerlab), the
# end-to-end suite through the real engine and the real
# runner (root is needed for the pod runner), then the package's TypeScript
# and Python SDKs compiled (npm and python3).
e2e: tools
	$(TOOLCHAIN) && cd tools && go test -tags e2e -count=1 ./cluster/...
	$(TOOLCHAIN) && cd $(RUNNER_BUILD) && go test -tags e2e -count=1 ./...
	$(TOOLCHAIN) && cd $(RUNNER_LAB) && go test -tags e2e -count=1 ./...
	$(TOOLCHAIN) && go test -tags e2e -count=1 -timeout 60m ./tests/e2e/...
	cd provider && go test -tags e2e -count=1 ./sdkcheck/...

test: lint unit e2e

# Benchmarks, separate from the tests: program evaluation under mocks for 1,
# 10 and 50 fleets; on the local cluster, the real engine against kubectl for
# one fleet, and the program against the engine's floor (the same objects with
# no program logic) for 1, 10, 50 and 100 fleets (GLRF_BENCH_FLEETS=10,50 to
# choose; GLRF_BENCH_DESTROY=1 to time destroy too; GLRF_BENCH_PREVIEW_ONLY=1 or
# GLRF_BENCH_NOOP_ONLY=1 for a shorter run). About two hours with 100 fleets.
bench: tools
	go test -run '^$$' -bench . -benchtime 20x ./program/
	$(TOOLCHAIN) && go test -tags e2e -run '^$$' -v -bench . -benchtime 1x -timeout 180m ./tests/e2e/
