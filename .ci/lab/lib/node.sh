# Sourced by ../build: one kind node image, assembled the way `kind build node-image`
# does it (which cannot run here: it always pulls its images). node_pins sets the
# versions of the node in hand; every other function here works on that node.

# node_pins KUBE_VERSION KIND_VERSION [VAR=VALUE...]: what kind's base image of that
# release (images/base/Dockerfile: Debian suite, packages, containerd, runc, CNI
# plugins, crictl) and kubeadm of that version (etcd, CoreDNS, pause) use; the
# VAR=VALUE words override, for a version the Go proxy does not serve.
node_pins() {
  KUBE_VERSION=$1 KIND_VERSION=$2
  local dockerfile consts override
  dockerfile=$(moddir "sigs.k8s.io/kind@$KIND_VERSION")/images/base/Dockerfile
  consts=$(moddir "k8s.io/kubernetes@$KUBE_VERSION")/cmd/kubeadm/app/constants/constants.go
  [ -e "$dockerfile" ] && [ -e "$consts" ] || die "kind $KIND_VERSION or Kubernetes $KUBE_VERSION is not on the Go module proxy"
  arg() { sed -n "s/^ARG $1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$dockerfile"; }
  const() { sed -n "s/^[[:space:]]*$1 = \"\(.*\)\"\$/\1/p" "$consts"; }
  DEBIAN_SUITE=$(arg BASE_IMAGE); DEBIAN_SUITE=${DEBIAN_SUITE#debian:}; DEBIAN_SUITE=${DEBIAN_SUITE%-slim}
  CONTAINERD_VERSION=$(arg CONTAINERD_VERSION) RUNC_VERSION=$(arg RUNC_VERSION)
  CNI_PLUGINS_VERSION=$(arg CNI_PLUGINS_VERSION) CRICTL_VERSION=$(arg CRICTL_VERSION)
  ETCD_TAG=$(const DefaultEtcdVersion) COREDNS_VERSION=$(const CoreDNSVersion) PAUSE_TAG=$(const PauseVersion)
  ETCD_VERSION=v${ETCD_TAG%-*}
  # kind's `clean-install` list, and ipset for kube-router (whose image shares the userland)
  NODE_PACKAGES="$(awk '/clean-install \\$/ {on = 1; next} on && /^ *&&/ {exit} on {gsub(/\\/, ""); printf "%s ", $0}' "$dockerfile" | tr -s ' ')ipset"
  for override in "${@:3}"; do declare -g "$override"; done
  local v
  for v in DEBIAN_SUITE CONTAINERD_VERSION RUNC_VERSION CNI_PLUGINS_VERSION CRICTL_VERSION ETCD_TAG COREDNS_VERSION PAUSE_TAG; do
    [ -n "${!v}" ] || die "could not read $v for node $KUBE_VERSION from kind $KIND_VERSION's Dockerfile or kubeadm's constants"
  done
  [[ "$NODE_PACKAGES" == *systemd* ]] || die "could not read the package list from kind $KIND_VERSION's images/base/Dockerfile"
  debian_names "$DEBIAN_SUITE" "$NODE_PACKAGES"; DEBIAN_KEY=${REPLY##*-}
  NODE_IMAGE=hello-world-lab/node:$KUBE_VERSION
  NODE_REV=$( { cat "$here/build" "$here"/lib/*.sh "$here/pause.c" "$here/default-cni.yaml" "$here/default-storage.yaml"
    echo "$KUBE_VERSION $KIND_VERSION $DEBIAN_KEY $CONTAINERD_VERSION $RUNC_VERSION $CNI_PLUGINS_VERSION $CRICTL_VERSION"
    echo "$ETCD_VERSION $COREDNS_VERSION $PAUSE_TAG $KUBE_ROUTER_VERSION $TRAEFIK_VERSION"; } | sha256sum | cut -c1-12)
  NODE_TAR=$images/node-$KUBE_VERSION-$NODE_REV.tar
}

node_go_jobs() { # the node's binaries, for `parallel` (an estimate of cold minutes first, to start the longest first)
  echo "4 go_kubernetes $KUBE_VERSION"
  echo "3 go_coredns $COREDNS_VERSION"
  echo "3 go_etcd $ETCD_VERSION"
  echo "3 go_containerd $CONTAINERD_VERSION"
  echo "1 go_runc $RUNC_VERSION"
  echo "1 go_cni_plugins $CNI_PLUGINS_VERSION"
  echo "1 go_crictl $CRICTL_VERSION"
  echo "0 c_pause $PAUSE_TAG"
}

node_image_present() {
  [ "$(docker image inspect -f '{{index .Config.Labels "lab.rev"}}' "$NODE_IMAGE" 2>/dev/null)" = "$NODE_REV" ]
}

# Control-plane and add-on images, named exactly as kubeadm, the CNI manifest and
# manifests/ingress ask for.
component_images() {
  local v=$KUBE_VERSION k=$bin/kubernetes-$KUBE_VERSION want have base
  want=$("$k/kubeadm" config images list --kubernetes-version "$v" 2>/dev/null | sort)
  have=$(printf '%s\n' "registry.k8s.io/kube-"{apiserver,controller-manager,scheduler,proxy}":$v" "registry.k8s.io/etcd:$ETCD_TAG" \
    "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "registry.k8s.io/pause:$PAUSE_TAG" | sort)
  [ "$want" = "$have" ] || die "kubeadm $v asks for other images than this script builds:
$want"
  static_image "registry.k8s.io/kube-apiserver:$v" "$k/kube-apiserver"
  static_image "registry.k8s.io/kube-controller-manager:$v" "$k/kube-controller-manager"
  static_image "registry.k8s.io/kube-scheduler:$v" "$k/kube-scheduler"
  static_image "registry.k8s.io/etcd:$ETCD_TAG" "$bin/etcd-$ETCD_VERSION/etcd"
  static_image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$bin/coredns-$COREDNS_VERSION/coredns" '["/usr/local/bin/coredns"]'
  static_image "registry.k8s.io/pause:$PAUSE_TAG" "$bin/pause-$PAUSE_TAG/pause" '["/usr/local/bin/pause"]'
  static_image "docker.io/library/traefik:$TRAEFIK_VERSION" "$bin/traefik-$TRAEFIK_VERSION/traefik" '["/usr/local/bin/traefik"]'
  debian_image "$DEBIAN_SUITE" "$NODE_PACKAGES"; base=$REPLY
  debian_based_image "registry.k8s.io/kube-proxy:$v" "$k/kube-proxy" "$base" "$DEBIAN_KEY"
  debian_based_image "docker.io/cloudnativelabs/kube-router:$KUBE_ROUTER_VERSION" \
    "$bin/kube-router-$KUBE_ROUTER_VERSION/kube-router" "$base" "$DEBIAN_KEY"
  COMPONENT_TARS=()
  for name in "registry.k8s.io/kube-"{apiserver,controller-manager,scheduler}":$v" "registry.k8s.io/etcd:$ETCD_TAG" \
    "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "registry.k8s.io/pause:$PAUSE_TAG" "docker.io/library/traefik:$TRAEFIK_VERSION"; do
    image_tar "$name"; COMPONENT_TARS+=("$(basename "$REPLY")")
  done
  for name in "registry.k8s.io/kube-proxy:$v" "docker.io/cloudnativelabs/kube-router:$KUBE_ROUTER_VERSION"; do
    image_tar "$name" "$DEBIAN_KEY"; COMPONENT_TARS+=("$(basename "$REPLY")")
  done
}

node_image() {
  if node_image_present; then say "node image $NODE_IMAGE: cached (lab.rev $NODE_REV)"; return; fi
  if [ -e "$NODE_TAR" ]; then
    say "node image $NODE_IMAGE: docker load from the cache"
    quiet docker load -i "$NODE_TAR"; return
  fi
  component_images
  local t=$SECONDS ctx=$work/node-files-$KUBE_VERSION k=$bin/kubernetes-$KUBE_VERSION cid base
  say "node image $NODE_IMAGE: assembling (kind $KIND_VERSION's base: Debian $DEBIAN_SUITE, containerd $CONTAINERD_VERSION, runc $RUNC_VERSION, CNI plugins $CNI_PLUGINS_VERSION, crictl $CRICTL_VERSION)"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp -r "$(moddir "sigs.k8s.io/kind@$KIND_VERSION")/images/base/files/." "$ctx/" && chmod -R u+w,go-w "$ctx"
  find "$ctx" -type f -exec chmod 0644 {} + && chmod 0755 "$ctx"/usr/local/bin/* "$ctx"/kind/bin/*
  mkdir -p "$ctx/usr/bin" "$ctx/usr/local/sbin" "$ctx/opt/cni/bin" "$ctx/etc/cni/net.d" "$ctx/kind/manifests"
  cp "$k/kubeadm" "$k/kubelet" "$k/kubectl" "$ctx/usr/bin/"
  cp "$bin/containerd-$CONTAINERD_VERSION"/{containerd,ctr,containerd-shim-runc-v2} "$bin/crictl-$CRICTL_VERSION/crictl" "$ctx/usr/local/bin/"
  cp "$bin/runc-$RUNC_VERSION/runc" "$ctx/usr/local/sbin/"
  cp "$bin/cni-plugins-$CNI_PLUGINS_VERSION"/{host-local,loopback,ptp,portmap,bridge} "$ctx/opt/cni/bin/"
  cp "$here/default-cni.yaml" "$here/default-storage.yaml" "$ctx/kind/manifests/"
  echo "$KUBE_VERSION" >"$ctx/kind/version"
  grep -q "kube-router:$KUBE_ROUTER_VERSION" "$ctx/kind/manifests/default-cni.yaml" ||
    die "default-cni.yaml does not name kube-router:$KUBE_ROUTER_VERSION: update it with KUBE_ROUTER_VERSION"

  debian_image "$DEBIAN_SUITE" "$NODE_PACKAGES"; base=$REPLY
  cid=hello-world-lab-node-build-$KUBE_VERSION
  docker rm -f "$cid" >/dev/null 2>&1 || true
  cleanups=("docker rm -f $cid >/dev/null 2>&1 || true")
  quiet docker run -d --name "$cid" --privileged --entrypoint sleep -v "$images/components:/lab-images:ro" "$base" infinity
  docker cp "$ctx/." "$cid:/"
  quiet docker exec -e PAUSE="registry.k8s.io/pause:$PAUSE_TAG" -e TARS="${COMPONENT_TARS[*]}" "$cid" bash -euc '
    # What kind'"'"'s base Dockerfile does after installing packages.
    find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
    rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
      /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
      /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
    echo "ReadKMsg=no" >>/etc/systemd/journald.conf
    ln -sf /lib/systemd/systemd /sbin/init
    systemctl enable kubelet.service containerd.service undo-mount-hacks.service
    systemctl mask systemd-binfmt.service
    mkdir -p /etc/kubernetes/manifests
    ctr oci spec | jq ".hooks.createContainer[.hooks.createContainer | length] |= . + {\"path\": \"/kind/bin/mount-product-files.sh\"}" |
      jq "del(.process.rlimits)" >/etc/containerd/cri-base.json
    # What `kind build node-image` does: the sandbox image is the one preloaded.
    sed -i "s|sandbox_image = .*|sandbox_image = \"$PAUSE\"|" /etc/containerd/config.toml
    # The lab'"'"'s own changes, for this CI host rather than for kind:
    # - its sandbox withholds CAP_SYS_RESOURCE, so no container may lower its OOM score
    #   below containerd'"'"'s (runc fails: "can'"'"'t get final child'"'"'s PID"). kind does the same when rootless.
    sed -i "s/restrict_oom_score_adj = false/restrict_oom_score_adj = true/" /etc/containerd/config.toml
    grep -q "^ *restrict_oom_score_adj = true" /etc/containerd/config.toml
    # - it runs cgroup v1, which the kubelet refuses from 1.35 unless told otherwise
    #   (a flag: it overrides the KubeletConfiguration kubeadm writes).
    grep -q "^KUBELET_EXTRA_ARGS=" /etc/default/kubelet
    sed -i "s/^KUBELET_EXTRA_ARGS=.*/& --fail-cgroupv1=false/" /etc/default/kubelet
    containerd >/tmp/containerd.log 2>&1 &
    for i in $(seq 50); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
    for tar in $TARS; do
      ctr -n k8s.io images import --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests "/lab-images/$tar"
    done
    ctr -n k8s.io images ls -q | grep -v "^sha256:" | sort >/kind/lab-images
    kill %1; wait
    rm -rf /tmp/* /var/log/*.log
  '
  say "node image $NODE_IMAGE: images in containerd: $(docker exec "$cid" cat /kind/lab-images | tr '\n' ' ')"
  quiet docker commit -c 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' -c 'CMD []' -c 'ENV container=docker' \
    "$cid" "$NODE_IMAGE-unfinished"
  docker rm -f "$cid" >/dev/null; cleanups=(); rm -rf "$ctx"
  # systemd stops on SIGRTMIN+3 (SIGTERM re-executes it); commit cannot set STOPSIGNAL.
  printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\nLABEL lab.rev=%s\n' "$NODE_IMAGE-unfinished" "$NODE_REV" | quiet docker build -t "$NODE_IMAGE" -
  docker rmi "$NODE_IMAGE-unfinished" >/dev/null
  docker images -q -f dangling=true -f label=lab.rev | xargs -r docker rmi >/dev/null 2>&1 || true  # earlier lab node images
  say "node image $NODE_IMAGE: docker save to the cache"
  rm -f "$images/node-$KUBE_VERSION"-*.tar
  docker save "$NODE_IMAGE" >"$NODE_TAR.part" && mv "$NODE_TAR.part" "$NODE_TAR"
  say "node image $NODE_IMAGE: done in $((SECONDS - t))s"
}
