# The two commands a fresh machine needs (see README):
#   make up     build or reuse the toolchain, start the local cluster and the
#               local GitLab stand-in, then preview and deploy the dev stack
#   make test   vet, staticcheck and every test, end-to-end ones included
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
STACK ?= dev
STATICCHECK := go run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Builds what is missing (cached by version outside the repo) and exports the
# tool locations: GLRF_PULUMI, GLRF_KUBE_BIN, GLRF_KWOK_BIN, PULUMI_HOME...
TOOLCHAIN := eval "$$(tools/toolchain.sh --env)"
KUBECTL := kubectl --kubeconfig .local/cluster/kubeconfig
# The local driver: `up --yes` previews, then deploys without asking (as
# `pulumi up --yes`); `destroy --yes` likewise.
LOCAL := go run ./cmd/local --stack $(STACK)

.PHONY: up preview destroy down tools cluster cluster-down gitlab gitlab-down test lint unit e2e bench

up: cluster gitlab
	$(TOOLCHAIN) && $(LOCAL) up --yes
	$(KUBECTL) get statefulsets,pods -A -l app.kubernetes.io/part-of=gitlab-runner-fleet -o wide

preview: cluster gitlab
	$(TOOLCHAIN) && $(LOCAL) preview

destroy: cluster gitlab
	$(TOOLCHAIN) && $(LOCAL) destroy --yes

# Destroys the dev stack, then stops everything local.
down: destroy cluster-down gitlab-down

tools:
	tools/toolchain.sh

cluster: tools
	$(TOOLCHAIN) && .local/bin/cluster start

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

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...
	cd tools && go vet ./...
	cd $(RUNNER_BUILD) && go vet ./... $$($(RUNNER_STANDINS))
	$(STATICCHECK) ./...
	cd tools && $(STATICCHECK) ./...
	cd $(RUNNER_BUILD) && $(STATICCHECK) ./... $$($(RUNNER_STANDINS))
	cd tools/runnerlab && go vet ./... && $(STATICCHECK) ./...
	for m in $(COMPONENT_MODULES); do (cd $$m && go vet ./... && $(STATICCHECK) ./...); done

# Unit and mock tests: no toolchain needed.
unit:
	go test ./components/... ./program/... ./localengine/... ./cmd/... ./tests/ ./tests/mocks/...
	cd tools && go test ./gitlab/... ./gitlabprovider/... ./cmd/...
	for m in $(COMPONENT_MODULES); do (cd $$m && go test $$(go list ./... | grep -v /sdkcheck)); done

# Everything that needs the built toolchain: the control plane's own tests,
# the runner build's (stand-ins and the built binaries) and the end-to-end
# suite through the real engine; then the package's TypeScript and Python
# SDKs compiled (npm and python3).
e2e: tools
	$(TOOLCHAIN) && cd tools && go test -count=1 ./cluster/...
	$(TOOLCHAIN) && cd $(RUNNER_BUILD) && go test -count=1 ./...
	$(TOOLCHAIN) && cd tools/runnerlab && go test -count=1 ./...
	$(TOOLCHAIN) && go test -count=1 -timeout 45m ./tests/e2e/...
	cd provider && go test -count=1 ./sdkcheck/...

test: lint unit e2e

# Benchmarks, separate from the tests: program evaluation under mocks for 1,
# 10 and 50 fleets; on the local cluster, the real engine against kubectl for
# one fleet, and the program against the engine's floor (the same objects with
# no program logic) for 1, 10, 50 and 100 fleets (GLRF_BENCH_FLEETS=10,50 to
# choose; GLRF_BENCH_DESTROY=1 to time destroy too; GLRF_BENCH_PREVIEW_ONLY=1 or
# GLRF_BENCH_NOOP_ONLY=1 for a shorter run). About two hours with 100 fleets.
bench: tools
	go test -run '^$$' -bench . -benchtime 20x ./program/
	$(TOOLCHAIN) && go test -run '^$$' -v -bench . -benchtime 1x -timeout 180m ./tests/e2e/
