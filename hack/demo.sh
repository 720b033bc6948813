#!/usr/bin/env bash
# demo.sh - the README's first command: build stagegate, seed the sample repository from
# examples/ in a temporary directory and show what promoting dev → staging → prod would change.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d "${TMPDIR:-/tmp}/stagegate-demo.XXXXXX")
echo "# building stagegate into $dir"
go build -o "$dir/stagegate" ./cmd/stagegate
go run ./hack/seed "$dir"
echo
echo "# \$ stagegate validate --config $dir/stagegate.yaml"
"$dir/stagegate" validate --config "$dir/stagegate.yaml"
echo
echo "# \$ stagegate plan --config $dir/stagegate.yaml"
rc=0
"$dir/stagegate" plan --config "$dir/stagegate.yaml" --cache-dir "$dir/cache" || rc=$?
echo
case $rc in
  0) echo "# plan exit 0: nothing to promote" ;;
  2) echo "# plan exit 2: something to promote (the diffs above)" ;;
  *) echo "# plan failed (exit $rc)"; exit "$rc" ;;
esac
cat <<MORE
# go on by hand:
#   $dir/stagegate render --config $dir/stagegate.yaml --env prod --cache-dir $dir/cache
#   $dir/stagegate plan   --config $dir/stagegate.yaml --cache-dir $dir/cache -o json
#   git -C $dir/shop.git log --oneline --graph --all
MORE
