#!/usr/bin/env bash
# kube-assets.sh - build a KUBEBUILDER_ASSETS folder (kube-apiserver, etcd, kubectl)
# from the Go module proxy only: no Docker, no downloads of prebuilt binaries.
#
#   export KUBEBUILDER_ASSETS="$(hack/kube-assets.sh)"    # last stdout line = the folder
#   go test ./deploy/...      # deploy/deploytest starts them through envtest
#
# stagegate's copy of ../shared/tools/get-kube-binaries.sh: the project reads nothing outside its
# own tree at build or test time. First run on an empty Go cache: about 5-12 min on 2 cores.
#
# Idempotent: if the folder already holds binaries that report the wanted versions it only
# prints the path (~0.1 s). Cacheable: compiles with the normal Go caches (GOCACHE,
# GOMODCACHE), so a CI cache of those two dirs (or of the output folder) makes reruns cheap.
# Builds run one after another (never in parallel) and are serialized with flock.
#
# Knobs (environment):
#   KUBE_VERSION   Kubernetes version of kube-apiserver/kubectl   (default 1.37.2)
#   ETCD_VERSION   etcd server version built from go.etcd.io        (default 3.7.3)
#   ETCD_SOURCE    go  = build etcd from the module proxy (default)
#                  apt = copy Debian's /usr/bin/etcd (etcd-server 3.4.23 on bookworm; apt-get installs it if missing)
#   WITH_KUBECTL   1 = also build a version-matched kubectl (default 1; +~20 s warm)
#   KUBE_ASSETS_ROOT  where the script keeps its output + throwaway build modules
#                  (default: ${XDG_CACHE_HOME:-$HOME/.cache}/stagegate/kube-assets)
#   DEST           output folder (default $KUBE_ASSETS_ROOT/bin/k8s/$KUBE_VERSION-$GOOS-$GOARCH)
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-1.37.2}; KUBE_VERSION=${KUBE_VERSION#v}
ETCD_VERSION=${ETCD_VERSION:-3.7.3};  ETCD_VERSION=${ETCD_VERSION#v}
ETCD_SOURCE=${ETCD_SOURCE:-go}
WITH_KUBECTL=${WITH_KUBECTL:-1}
ROOT=${KUBE_ASSETS_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/stagegate/kube-assets}

log() { printf '[kube-assets] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

command -v go >/dev/null || export PATH=/usr/local/go/bin:$PATH
command -v go >/dev/null || die "go not found (expected /usr/local/go/bin/go)"

# Hermetic, reproducible Go settings for the throwaway build modules.
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}   # never fetch another toolchain behind our back
export GOFLAGS="-mod=mod -buildvcs=false"  # throwaway modules: let go fill go.sum
export CGO_ENABLED=0                       # static, as the upstream release builds are
export GOWORK=off
GOOS=$(go env GOOS); GOARCH=$(go env GOARCH)
DEST=${DEST:-$ROOT/bin/k8s/$KUBE_VERSION-$GOOS-$GOARCH}
WORK=$ROOT/work
mkdir -p "$DEST" "$WORK"

# ---- fast path: everything already there with the right versions ----------------------
# (outputs are captured, never piped into grep -q/head: with pipefail an early-exiting reader
#  turns the writer's SIGPIPE into a spurious failure)
first_line() { local v; v=$("$@" 2>/dev/null) || true; printf '%s' "${v%%$'\n'*}"; }
etcd_ver() { local l; l=$(first_line "$1" --version); l=${l#etcd Version: }; printf '%s' "$l"; }
have_kas()     { [ -x "$DEST/kube-apiserver" ] && [ "$(first_line "$DEST/kube-apiserver" --version)" = "Kubernetes v$KUBE_VERSION" ]; }
have_kubectl() { [ "$WITH_KUBECTL" != 1 ] || { [ -x "$DEST/kubectl" ] && [ "$(first_line "$DEST/kubectl" version --client)" = "Client Version: v$KUBE_VERSION" ]; }; }
want_etcd()    { if [ "$ETCD_SOURCE" = apt ]; then [ -x /usr/bin/etcd ] && etcd_ver /usr/bin/etcd; else echo "$ETCD_VERSION"; fi; }
have_etcd()    { local w; w=$(want_etcd) || true; [ -x "$DEST/etcd" ] && [ -n "$w" ] && [ "$(etcd_ver "$DEST/etcd")" = "$w" ]; }
if have_kas && have_etcd && have_kubectl; then echo "$DEST"; exit 0; fi

# ---- one builder at a time (parallel test packages, CI steps) --------------------------
exec 9>"$WORK/.lock"
flock 9
if have_kas && have_etcd && have_kubectl; then echo "$DEST"; exit 0; fi

T0=$(now)
log "go: $(go version | awk '{print $3}'), GOCACHE=$(go env GOCACHE), GOMODCACHE=$(go env GOMODCACHE)"

json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p"; }

# go mod download -json MOD@VER -> prints the value of field $2 (GoMod, Dir, Info)
moddl() {
  local out
  out=$(cd "$WORK" && go mod download -json "$1" 2>&1) || die "go mod download $1 failed: $out"
  printf '%s\n' "$out" | json_field "$2"
}

run_logged() { # logfile cmd... : run in $M, keep output, show it only on failure
  local lf=$1; shift
  (cd "$M" && "$@") >"$lf" 2>&1 || { cat "$lf" >&2; die "failed: $* (in $M)"; }
}

install_bin() { # src dst [cp] : atomic replace (moves the build output unless "cp")
  if [ "${3:-mv}" = cp ]; then cp "$1" "$2.tmp.$$"; else mv -f "$1" "$2.tmp.$$"; fi
  chmod 0755 "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"
}

# ---- etcd -------------------------------------------------------------------------------
if ! have_etcd; then
  t=$(now)
  if [ "$ETCD_SOURCE" = apt ]; then
    if [ ! -x /usr/bin/etcd ]; then
      log "installing Debian etcd-server"
      [ -n "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ] || apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >&2
    fi
    install_bin /usr/bin/etcd "$DEST/etcd" cp
  else
    # go install go.etcd.io/etcd/server/v3@vX fails ("go.mod ... contains one or more replace
    # directives"): its replaces only point at sibling modules of the same release, which the
    # proxy serves, so a throwaway main module that just requires server/v3 resolves the same graph.
    M=$WORK/etcd-v$ETCD_VERSION
    mkdir -p "$M"
    if [ ! -f "$M/.resolved" ]; then
      printf 'module kubeassets.local/etcd\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' \
        "$(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1.0/')" "$ETCD_VERSION" > "$M/go.mod"
      rm -f "$M/go.sum"
      log "resolving go.etcd.io/etcd/server/v3 v$ETCD_VERSION"
      run_logged "$M/get.log" go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
      touch "$M/.resolved"
    fi
    log "building etcd v$ETCD_VERSION"
    run_logged "$M/build.log" go build -trimpath -ldflags "-s -w" -o "$M/etcd" go.etcd.io/etcd/server/v3
    install_bin "$M/etcd" "$DEST/etcd"
  fi
  log "etcd $(etcd_ver "$DEST/etcd") ready in $(since "$t")s"
fi

# ---- kube-apiserver (+ kubectl) ---------------------------------------------------------
if ! have_kas || ! have_kubectl; then
  t=$(now)
  M=$WORK/kube-v$KUBE_VERSION
  mkdir -p "$M"
  pkgs=(k8s.io/kubernetes/cmd/kube-apiserver)
  [ "$WITH_KUBECTL" = 1 ] && pkgs+=(k8s.io/kubernetes/cmd/kubectl)
  if [ ! -f "$M/.resolved-1" ] && [ ! -f "$M/.resolved-$WITH_KUBECTL" ]; then
    # k8s.io/kubernetes replaces every staging module with ./staging/src/...; re-point each of
    # them at the published k8s.io/<name> v0.<minor>.<patch> tag, read from its real go.mod.
    kmod=$(moddl "k8s.io/kubernetes@v$KUBE_VERSION" GoMod)
    [ -f "$kmod" ] || die "could not fetch k8s.io/kubernetes@v$KUBE_VERSION from the module proxy"
    staging_v="v0.${KUBE_VERSION#1.}"
    kgo=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$kmod")
    {
      printf 'module kubeassets.local/kube\n\ngo %s\n\n' "$kgo"
      grep '^godebug' "$kmod" || true           # same GODEBUG defaults as upstream builds
      printf '\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$KUBE_VERSION"
      sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$kmod" |
        while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_v"; done
      printf ')\n'
    } > "$M/go.mod.new"
    n=$(grep -c '=> k8s.io/' "$M/go.mod.new" || true)
    [ "$n" -gt 10 ] || die "found only $n staging modules in $kmod"
    mv "$M/go.mod.new" "$M/go.mod"; rm -f "$M/go.sum" "$M"/.resolved-*
    log "resolving k8s.io/kubernetes v$KUBE_VERSION ($n staging modules -> $staging_v)"
    run_logged "$M/get.log" go get "${pkgs[@]/%/@v$KUBE_VERSION}"
    touch "$M/.resolved-$WITH_KUBECTL"
  fi
  # Same version stamping as hack/lib/version.sh, minus the git commit.
  btime=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$(moddl "k8s.io/kubernetes@v$KUBE_VERSION" Info)")
  minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=v$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=${btime:-1970-01-01T00:00:00Z}"
  done
  for p in "${pkgs[@]}"; do
    b=${p##*/}
    if [ "$b" = kube-apiserver ] && have_kas; then continue; fi
    if [ "$b" = kubectl ] && have_kubectl; then continue; fi
    tb=$(now)
    log "building $b v$KUBE_VERSION"
    run_logged "$M/build-$b.log" go build -trimpath -ldflags "$ld" -o "$M/$b" "$p"
    install_bin "$M/$b" "$DEST/$b"
    log "$b built in $(since "$tb")s ($(du -m "$DEST/$b" | cut -f1) MiB)"
  done
  log "kubernetes binaries ready in $(since "$t")s"
fi

have_kas && have_etcd && have_kubectl || die "version check failed after build"
{
  echo "kube-apiserver: $(first_line "$DEST/kube-apiserver" --version)"
  echo "etcd: $(etcd_ver "$DEST/etcd") ($ETCD_SOURCE)"
  if [ "$WITH_KUBECTL" = 1 ]; then echo "kubectl: $(first_line "$DEST/kubectl" version --client)"; fi
  echo "built with: $(go version)"
} > "$DEST/VERSIONS"
log "done in $(since "$T0")s -> $DEST"
echo "$DEST"
