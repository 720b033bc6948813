#!/usr/bin/env bash
# Prints "KUBECONFORM_BIN=… KUBECONFORM_SCHEMAS=…" for gates' kubeconform benchmark and test, after
# making both when missing: the CLI built through the Go module proxy, and its JSON Schemas made
# locally (no schema download) from the OpenAPI description in the k8s.io/kubernetes module by
# hack/kubeconform-schemas. Both live in a cache outside the work tree, so later runs cost nothing.
# Usage: env $(hack/kubeconform.sh) go test -run '^$' -bench 'StaticGates|Kubeconform' ./gates/
set -euo pipefail

version=v0.8.0 # the first release whose go.mod asks for Go 1.26
k8s=v1.37.2    # the k8s.io/* version stagegate builds with
cache="${XDG_CACHE_HOME:-$HOME/.cache}/stagegate"
bindir="$cache/bin"
bin="$bindir/kubeconform-$version"
schemas="$cache/kubeconform-schemas/$k8s"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [[ ! -x "$bin" ]]; then
	mkdir -p "$bindir"
	tmp=$(mktemp -d "$bindir/.install.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# Outside the module, so stagegate's go.mod neither constrains nor records the CLI's deps.
	(cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/yannh/kubeconform/cmd/kubeconform@$version") >&2
	mv "$tmp/kubeconform" "$bin"
	rm -rf "$tmp"
	trap - EXIT
fi

# The schemas are complete only once the directory has its final name; they are made again when
# the converter changed since.
if [[ ! -f "$schemas/deployment-apps-v1.json" || "$root/hack/kubeconform-schemas/main.go" -nt "$schemas" ]]; then
	mkdir -p "$(dirname "$schemas")"
	tmp=$(mktemp -d "$(dirname "$schemas")/.gen.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# k8s.io/kubernetes is not a dependency of stagegate: download it from a throwaway directory
	# (the module cache keeps it) and read the OpenAPI v2 description it ships.
	moddir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$k8s" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	swagger="$moddir/api/openapi-spec/swagger.json"
	[[ -f "$swagger" ]] || { echo "kubeconform.sh: no $swagger" >&2; exit 1; }
	(cd "$root" && go run ./hack/kubeconform-schemas -swagger "$swagger" -o "$tmp/out") >&2
	rm -rf "$schemas"
	mv "$tmp/out" "$schemas"
	rm -rf "$tmp"
	trap - EXIT
fi
echo "KUBECONFORM_BIN=$bin KUBECONFORM_SCHEMAS=$schemas"
