#!/usr/bin/env bash
# Compares render.Build with the kustomize CLI on the same builds, in one run:
#   apps:     a generated repository of 300 apps x 5 objects, one build per app
#   overlays: render's golden repository, overlays dev, staging and prod
# and prints "in-process X s, CLI Y s, ratio Z" for each (goal: ratio <= 0.5).
# Usage: hack/render-bench.sh [benchtime]   (default 3x: three in-process runs per case)
set -euo pipefail
cd "$(dirname "$0")/.."

benchtime="${1:-3x}"
KUSTOMIZE_BIN="$(hack/kustomize.sh)"
export KUSTOMIZE_BIN

# kustomize prints deprecation warnings to stderr; keep them out of the figures.
go test ./render/ -run '^$' -bench '^BenchmarkBuild(Apps|Overlays)$' -benchtime "$benchtime" -count 1 2>/dev/null |
	awk '
	/^BenchmarkBuild/ {
		name = $1; sub(/^BenchmarkBuild/, "", name); sub(/-[0-9]+$/, "", name)
		for (i = 2; i <= NF; i++) {
			if ($i == "sec/tree") inproc = $(i-1)
			if ($i == "cli-sec/tree") cli = $(i-1)
			if ($i == "ratio") ratio = $(i-1)
		}
		printf "%-9s in-process %.3f s, CLI %.3f s, ratio %.3f\n", tolower(name) ":", inproc, cli, ratio
		found++
	}
	END { if (found != 2) { print "render-bench: benchmark output missing" > "/dev/stderr"; exit 1 } }'
