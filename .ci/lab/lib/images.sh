# Sourced by ../build: Debian userlands and the container images made from the
# lab's binaries (nothing is pulled: `docker import` of a folder, or a container
# of the Debian userland with a binary copied in, then `docker commit`).

# ------------------------------------------------------------- Debian rootfs
# debian_names SUITE PACKAGES: REPLY=the userland's image name; its tar is $CACHE/rootfs/NAME.tar
debian_names() {
  local key; key=$(printf '%s %s' "$1" "$2" | tr -s ' \n' ' ' | sha256sum | cut -c1-12)
  REPLY=debian-$1-$key
}

debian_rootfs() { # SUITE PACKAGES: the network-bound part, started early in the background
  local suite=$1 packages=$2 name dir
  debian_names "$suite" "$packages"; name=$REPLY; dir=$work/rootfs-$name-$BASHPID
  rm -rf "$dir"; mkdir -p "$CACHE/rootfs"
  quiet nice -n 10 debootstrap --variant=minbase --include="$(tr -s ' \n' ',' <<<"$packages" | sed 's/^,//; s/,$//')" \
    "$suite" "$dir" http://deb.debian.org/debian
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -cf "$CACHE/rootfs/$name.tar.part" . && mv "$CACHE/rootfs/$name.tar.part" "$CACHE/rootfs/$name.tar"
  rm -rf "$dir"
}

declare -A rootfs_jobs=()  # tar -> pid of its debootstrap in the background
stop_rootfs_jobs() { # on a failure: none is left behind (debootstrap ignores SIGTERM)
  local pid
  tree() { local child; for child in $(pgrep -P "$1"); do tree "$child"; done; echo "$1"; }
  for pid in "${rootfs_jobs[@]}"; do kill -9 $(tree "$pid") 2>/dev/null || true; done
  rm -rf "$work"/rootfs-*
}
debian_rootfs_start() { # SUITE PACKAGES: starts debootstrap in the background unless cached
  debian_names "$1" "$2"
  local tar=$CACHE/rootfs/$REPLY.tar
  docker image inspect "hello-world-lab/debian:${REPLY#debian-}" >/dev/null 2>&1 && return
  [ -e "$tar" ] || [ -n "${rootfs_jobs[$tar]:-}" ] && return
  say "Debian $1 userland: debootstrap in the background"
  debian_rootfs "$1" "$2" & rootfs_jobs[$tar]=$!
}

debian_image() { # SUITE PACKAGES: REPLY=the image of that userland (built from the tar, waiting for it)
  debian_names "$1" "$2"
  local image=hello-world-lab/debian:${REPLY#debian-} tar=$CACHE/rootfs/$REPLY.tar
  REPLY=$image
  docker image inspect "$image" >/dev/null 2>&1 && return
  if [ -n "${rootfs_jobs[$tar]:-}" ]; then
    say "Debian $1 userland: waiting for debootstrap"
    wait "${rootfs_jobs[$tar]}" || die "debootstrap of Debian $1 failed (output above)"
    unset "rootfs_jobs[$tar]"
  elif [ ! -e "$tar" ]; then
    say "Debian $1 userland: debootstrap (a few minutes)"
    debian_rootfs "$1" "$2"
  fi
  say "Debian $1 userland: docker import"
  quiet docker import "$tar" "$image"
  REPLY=$image
}

debian_prune() { # KEY...: removes userlands (tars, images, images based on them) of other package lists
  local keep=" $* " f image
  for f in "$CACHE"/rootfs/debian-*.tar "$images"/components/*-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f].tar; do
    [ -e "$f" ] || continue
    f=${f%.tar}; [[ "$keep" == *" ${f##*-} "* ]] || { say "removing ${f##*/}.tar (an older package list)"; rm -f "$f.tar"; }
  done
  for image in $(docker images --format '{{.Repository}}:{{.Tag}}' hello-world-lab/debian); do
    [[ "$keep" == *" ${image##*-} "* ]] || docker rmi "$image" >/dev/null 2>&1 || true
  done
}

# ------------------------------------------------------------------- images
# Saved as tars in $images/components, which a node's containerd imports.
image_tar() { # NAME [KEY]: REPLY=the tar's path
  REPLY=$images/components/$(tr '/:' '__' <<<"$1")${2:+-$2}.tar
}

# static_rootfs DIR BINARY...: the binaries in DIR/usr/local/bin (on PATH), users root
# and nonroot (65532), CA certificates, /tmp.
static_rootfs() {
  local dir=$1; shift
  rm -rf "$dir"; mkdir -p "$dir/usr/local/bin" "$dir/etc/ssl/certs" "$dir/tmp"
  chmod 1777 "$dir/tmp"
  cp "$@" "$dir/usr/local/bin/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$dir/etc/group"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/"
}

static_image() { # NAME BINARY [ENTRYPOINT_JSON]: a tar in $images/components
  local name=$1 binary=$2 entry=${3:-} tar rootfs=$work/image-$RANDOM
  image_tar "$name"; tar=$REPLY
  if [ -e "$tar" ]; then say "image $name: cached"; return; fi
  static_rootfs "$rootfs" "$binary"
  local changes=(-c 'ENV PATH=/usr/local/bin:/usr/bin:/bin')
  if [ -n "$entry" ]; then changes+=(-c "ENTRYPOINT $entry"); else changes+=(-c "CMD [\"/usr/local/bin/$(basename "$binary")\"]"); fi
  mkdir -p "$(dirname "$tar")"
  tar -C "$rootfs" -c . | quiet docker import "${changes[@]}" - "$name"
  docker save "$name" >"$tar.part" && mv "$tar.part" "$tar"
  rm -rf "$rootfs"
  say "image $name: built"
}

debian_based_image() { # NAME BINARY DEBIAN_IMAGE KEY: the binary on that Debian userland (iptables, ipset...)
  local name=$1 binary=$2 base=$3 tar cid
  image_tar "$name" "$4"; tar=$REPLY
  if [ -e "$tar" ]; then say "image $name ($4): cached"; return; fi
  cid=$(docker create "$base" /bin/true)
  docker cp "$binary" "$cid:/usr/local/bin/"
  quiet docker commit -c 'ENTRYPOINT []' -c 'CMD []' "$cid" "$name"
  docker rm "$cid" >/dev/null
  mkdir -p "$(dirname "$tar")"
  docker save "$name" >"$tar.part" && mv "$tar.part" "$tar"
  say "image $name ($4): built"
}

# ----------------------------------------------------------------- registry
# registry:3 (docker.io/library/registry:3) as the official image runs it: the
# config at /etc/distribution/config.yml, storage in the volume /var/lib/registry,
# plain HTTP on :5000; REGISTRY_* variables override the config (REGISTRY_AUTH=htpasswd...).
REGISTRY_IMAGE=registry:3
registry_image() {
  local rev tar rootfs=$work/registry-rootfs
  rev=$(cat "$here/registry.yml" "$here/lib/images.sh" | sha256sum | cut -c1-12)
  tar=$images/registry-$REGISTRY_VERSION-$rev.tar
  if [ "$(docker image inspect -f '{{index .Config.Labels "lab.rev"}}' "$REGISTRY_IMAGE" 2>/dev/null)" = "$rev" ]; then
    say "image $REGISTRY_IMAGE: cached"; return
  fi
  if [ -e "$tar" ]; then say "image $REGISTRY_IMAGE: docker load from the cache"; quiet docker load -i "$tar"; return; fi
  static_rootfs "$rootfs" "$bin/registry-$REGISTRY_VERSION/registry"
  mkdir -p "$rootfs/etc/distribution" "$rootfs/var/lib/registry"
  cp "$here/registry.yml" "$rootfs/etc/distribution/config.yml"
  tar -C "$rootfs" -c . | quiet docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' -c 'ENV OTEL_TRACES_EXPORTER=none' \
    -c 'VOLUME ["/var/lib/registry"]' -c 'EXPOSE 5000' -c 'ENTRYPOINT ["registry"]' \
    -c 'CMD ["serve", "/etc/distribution/config.yml"]' -c "LABEL lab.rev=$rev" \
    -c "LABEL org.opencontainers.image.version=${REGISTRY_VERSION#v}" - "$REGISTRY_IMAGE"
  rm -rf "$rootfs" "$images"/registry-*.tar
  docker save "$REGISTRY_IMAGE" >"$tar.part" && mv "$tar.part" "$tar"
  say "image $REGISTRY_IMAGE: built (distribution $REGISTRY_VERSION)"
}
