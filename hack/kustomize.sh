#!/usr/bin/env bash
# Prints the path of the kustomize CLI that render's parity tests and benchmarks compare with,
# installing it first (through the Go module proxy) when the cached binary is missing or is
# another version. Usage: KUSTOMIZE_BIN=$(hack/kustomize.sh) go test ./render/...
set -euo pipefail

version=v5.8.1
bindir="${XDG_CACHE_HOME:-$HOME/.cache}/stagegate/bin"
bin="$bindir/kustomize-$version"

if [[ ! -x "$bin" ]]; then
	mkdir -p "$bindir"
	tmp=$(mktemp -d "$bindir/.install.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# Outside the module, so stagegate's go.mod neither constrains nor records the CLI's deps.
	(cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$version") >&2
	mv "$tmp/kustomize" "$bin"
fi
echo "$bin"
