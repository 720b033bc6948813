#!/usr/bin/env bash
# demo.sh - make demo: the README's first command, `stagegate quickstart`, in a temporary
# directory so that it can run again and again. It writes a sample repository and config and
# walks one promotion through dev → staging → prod (see docs/quickstart.md).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d "${TMPDIR:-/tmp}/stagegate-demo.XXXXXX")
go run ./cmd/stagegate quickstart --dir "$dir/quickstart" "$@"
