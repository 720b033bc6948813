# stagegate - make help lists the targets.
SHELL := /usr/bin/env bash
export GOTOOLCHAIN := local
GO ?= go
PKGS := ./...
# Tools the tests compare against are built from the Go module proxy into a cache outside the
# work tree (hack/kustomize.sh), so later runs on the same machine cost nothing.
KUSTOMIZE_BIN = $(shell hack/kustomize.sh)
# kube-apiserver, etcd and kubectl built from the module proxy (hack/kube-assets.sh; about 5 min
# the first time on a machine, cached outside the tree after). Tests that need a real API server
# fail rather than skip when STAGEGATE_REQUIRE_KUBE=1.
KUBEBUILDER_ASSETS = $(shell hack/kube-assets.sh | tail -1)
TEST_ENV = KUSTOMIZE_BIN=$(KUSTOMIZE_BIN) KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) STAGEGATE_REQUIRE_KUBE=1

.PHONY: help build test test-short bench bench-render bench-gates bench-apply vet fmt verify demo fuzz parity clean

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-z-]+:.*## /{printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/stagegate
	$(GO) build -o bin/stagegate ./cmd/stagegate

demo: ## the README's first command, stagegate quickstart, in a temp dir
	@hack/demo.sh

test: ## all tests with the race detector, against real Git, GitHub-emulator and kube-apiserver servers
	$(TEST_ENV) $(GO) test -race -count=1 -timeout 20m $(PKGS)

test-short: ## the tests without the race detector, parity or network-like servers
	$(GO) test -short -count=1 $(PKGS)

bench: ## benchmarks, each side by side with its peer (kustomize CLI, kubeconform), ratios in one run
	env $$(hack/kubeconform.sh) $(TEST_ENV) $(GO) test -run '^$$' -bench . -benchmem -timeout 30m $(PKGS)

bench-render: ## in-process rendering vs the kustomize CLI, same builds, one run
	hack/render-bench.sh

bench-gates: ## static gates vs kubeconform on the same objects, one run
	env $$(hack/kubeconform.sh) $(GO) test -run '^$$' -bench 'StaticGates|Kubeconform' -benchmem -timeout 30m ./gates/

bench-apply: ## deploy.Apply vs kubectl apply --server-side, 1,000 objects, same API server, one run
	$(TEST_ENV) $(GO) test -run '^$$' -bench 'BenchmarkApply$$' -benchtime 3x -timeout 30m ./deploy/

parity: ## render output equals the kustomize CLI's, object for object
	KUSTOMIZE_BIN=$(KUSTOMIZE_BIN) $(GO) test -count=1 -run Parity -v ./render/

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@for t in $$(grep -rhoE '^func (Fuzz[A-Za-z0-9_]+)' --include='*_test.go' . | sed 's/func //' | sort -u); do \
	  pkg=$$(grep -rlE "^func $$t\(" --include='*_test.go' . | head -1 | xargs dirname); \
	  echo "== $$t ($$pkg)"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $${FUZZTIME:-30s} $$pkg || exit 1; \
	done

vet: ## go vet
	$(GO) vet $(PKGS)

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

verify: ## what CI checks besides tests: formatting, vet, tidy modules
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed: $$out"; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff

clean: ## remove build output (caches outside the tree stay)
	rm -rf bin
