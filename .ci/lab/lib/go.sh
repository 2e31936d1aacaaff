# Sourced by ../build: the lab's binaries, compiled from the Go module proxy.
# Each lands in $bin/NAME-VERSION/ and is built once: a `.done` file marks it.

moddir() { go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }

# wrapper DIR MODULE VERSION [TWIN]: a module requiring MODULE@VERSION that repeats
# its replace and exclude lines (Go ignores a dependency's). Local replaces point
# into the module's repository: they are dropped (its requirements name published
# versions), or with TWIN (Kubernetes, which requires its staging modules at
# v0.0.0) they become the published module at version TWIN.
wrapper() {
  local dir=$1 mod=$2 ver=$3 twin=${4:-} src
  src=$(moddir "$mod@$ver")
  [ -n "$src" ] || die "the Go module proxy does not serve $mod@$ver"
  rm -rf "$dir"; mkdir -p "$dir"
  {
    echo "module lab.local/wrapper"
    grep -E '^(go|godebug) ' "$src/go.mod"
    echo "require $mod $ver"
    awk -v twin="$twin" '
      /^\)/ { block = ""; next }
      /^(replace|exclude) \($/ { block = $1; next }
      /^exclude / { print; next }
      block == "exclude" && NF && $1 !~ /^\/\// { print "exclude " $0; next }
      /^replace / || (block == "replace" && /=>/) {
        sub(/^replace /, ""); split($0, side, "=>"); gsub(/^[ \t]+|[ \t]+$/, "", side[1]); gsub(/^[ \t]+|[ \t]+$/, "", side[2])
        if (side[2] ~ /^\.\.?\//) {
          if (twin != "") print "replace " side[1] " => " side[1] " " twin
        } else print "replace " side[1] " => " side[2]
      }' "$src/go.mod"
  } >"$dir/go.mod"
}

# cpu_now: REPLY=CPU seconds used so far by this shell's finished children. With
# the wall time it makes "built in" comparable across runs on a shared machine.
cpu_now() {
  local f=$work/.times.$BASHPID
  times >"$f"
  REPLY=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$f")
  rm -f "$f"
}

# gobuild NAME VERSION MODULE GO_BUILD_ARGS...: `go build` in a wrapper of MODULE@VERSION.
gobuild() {
  local name=$1 ver=$2 mod=$3 out=$bin/$1-$2 dir=$work/go/$1-$2 t=$SECONDS cpu; shift 3
  if [ -e "$out/.done" ]; then say "$name $ver: cached"; return; fi
  say "$name $ver: building"
  cpu_now; cpu=$REPLY
  wrapper "$dir" "$mod" "$ver" "${TWIN:-}"
  rm -rf "$out"; mkdir -p "$out"
  (cd "$dir" && quiet nice -n 10 go build -p 2 -trimpath -o "$out/" "$@")
  rm -rf "$dir"; touch "$out/.done"
  cpu_now; say "$name $ver: built in $((SECONDS - t))s (CPU $((REPLY - cpu))s)"
}

go_kind() { # kind's main package is its module root: plain go install works
  local ver=$1 out=$bin/kind-$1 t=$SECONDS cpu
  if [ -e "$out/.done" ]; then say "kind $ver: cached"; return; fi
  say "kind $ver: building"
  cpu_now; cpu=$REPLY
  mkdir -p "$out"
  GOBIN=$out GOFLAGS= quiet nice -n 10 go install -ldflags "-s -w" "sigs.k8s.io/kind@$ver"
  touch "$out/.done"
  cpu_now; say "kind $ver: built in $((SECONDS - t))s (CPU $((REPLY - cpu))s)"
}

go_kubernetes() { # kubeadm, kubelet, kubectl and the control-plane binaries
  local v=$1 ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    # Without these kubeadm reports v0.0.0 and asks for the wrong images.
    ld+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$(cut -d. -f2 <<<"$v")"
    ld+=" -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.gitTreeState=clean -X $p.buildDate=2026-01-01T00:00:00Z"
  done
  p=k8s.io/kubernetes/cmd
  TWIN="v0${v#v1}" gobuild kubernetes "$v" k8s.io/kubernetes -tags selinux,notest,grpcnotrace -ldflags "$ld" \
    $p/kubeadm $p/kubelet $p/kubectl $p/kube-apiserver $p/kube-controller-manager $p/kube-scheduler $p/kube-proxy
}

go_etcd() {
  gobuild etcd "$1" go.etcd.io/etcd/server/v3 -ldflags "-s -w" go.etcd.io/etcd/server/v3
  [ -e "$bin/etcd-$1/etcd" ] || mv "$bin/etcd-$1/server" "$bin/etcd-$1/etcd"
}

go_coredns() {
  gobuild coredns "$1" github.com/coredns/coredns -ldflags "-s -w" github.com/coredns/coredns
}

go_crictl() {
  gobuild crictl "$1" sigs.k8s.io/cri-tools -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${1#v}" \
    sigs.k8s.io/cri-tools/cmd/crictl
}

go_containerd() { # static (no cgo), without the snapshotters kind leaves out too
  local m=github.com/containerd/containerd/v2
  gobuild containerd "$1" $m -tags "no_aufs no_zfs no_btrfs no_devmapper urfave_cli_no_docs" \
    -ldflags "-s -w -X $m/version.Version=$1 -X $m/version.Package=github.com/containerd/containerd" \
    $m/cmd/containerd $m/cmd/ctr $m/cmd/containerd-shim-runc-v2
}

go_runc() { # cgo with libseccomp, linked statically so one binary suits every node's Debian
  CGO_ENABLED=1 gobuild runc "$1" github.com/opencontainers/runc -tags "seccomp urfave_cli_no_docs netgo osusergo" \
    -ldflags "-s -w -extldflags -static" github.com/opencontainers/runc
}

go_cni_plugins() { # kind's four, and the bridge that kube-router's CNI configuration uses
  local p=github.com/containernetworking/plugins/plugins
  gobuild cni-plugins "$1" github.com/containernetworking/plugins \
    -ldflags "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$1" \
    $p/ipam/host-local $p/main/loopback $p/main/ptp $p/meta/portmap $p/main/bridge
}

go_kube_router() {
  gobuild kube-router "$1" github.com/cloudnativelabs/kube-router/v2 -ldflags "-s -w" \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
}

go_traefik() { # the web UI is optional: the module ships a placeholder that the embed compiles against
  gobuild traefik "$1" github.com/traefik/traefik/v3 \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${1#v}" github.com/traefik/traefik/v3/cmd/traefik
}

go_registry() {
  local m=github.com/distribution/distribution/v3
  gobuild registry "$1" $m -ldflags "-s -w -X $m/version.version=${1#v} -X $m/version.mainpkg=$m" $m/cmd/registry
}

c_pause() { # pause.c beside this script: our own few lines, not Kubernetes' (which is not on the proxy)
  local out=$bin/pause-$1
  if [ -e "$out/.done" ]; then say "pause $1: cached"; return; fi
  mkdir -p "$out" && gcc -static -Os -Wall -o "$out/pause" "$here/pause.c" && touch "$out/.done"
  say "pause $1: built"
}

# parallel: runs each line of stdin ("function args") as a background job, at most
# $LAB_JOBS at a time; waits for all, and fails when one did (after the rest finished).
parallel() {
  local -A running=() ; local line pid failed=0
  while IFS= read -r line; do
    while [ "${#running[@]}" -ge "$LAB_JOBS" ]; do
      wait -n -p pid "${!running[@]}" || failed=1; unset "running[$pid]"
    done
    [ $failed -eq 0 ] || break
    $line & running[$!]=$line
  done
  while [ "${#running[@]}" -gt 0 ]; do
    wait -n -p pid "${!running[@]}" || failed=1; unset "running[$pid]"
  done
  [ $failed -eq 0 ] || die "a build step failed (its output is above)"
}
