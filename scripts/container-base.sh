#!/usr/bin/env bash
# Makes localhost/talk2me-node-base:bookworm, the stand-in for docker.io/library/node:20-bookworm-slim
# on machines that reach a Debian mirror and the npm registry but no container registry (CI here).
# Debian bookworm (debootstrap --variant=minbase) plus this machine's Node 20, laid out where the
# public node image has it (/usr/local/bin/node, npm under /usr/local/lib/node_modules), then
# `podman import`. The Dockerfiles build on it with --build-arg BASE=localhost/talk2me-node-base:bookworm.
#
# Skipped when the image exists; FORCE=1 makes it again. Needs root (debootstrap), podman and
# debootstrap. The mirror is the one apt on this machine uses, unless MIRROR is set.
set -euo pipefail

IMAGE="${IMAGE:-localhost/talk2me-node-base:bookworm}"
PODMAN="${PODMAN:-podman}"

if [ "${FORCE:-0}" != 1 ] && $PODMAN image exists "$IMAGE"; then
  echo "container-base: $IMAGE exists"
  exit 0
fi

for tool in debootstrap node tar; do
  command -v "$tool" >/dev/null || { echo "container-base: $tool is not on PATH" >&2; exit 1; }
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" != 20 ]; then
  # The public base is Node 20; a different major here would test another runtime than users get.
  echo "container-base: this machine's Node is $(node --version), the image wants Node 20" >&2
  exit 1
fi

# The first deb822 source whose URI serves the main archive (not -security), else a sources.list line.
mirror_of_this_machine() {
  local uri
  uri="$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | grep '/debian/\?$' | head -n 1 || true)"
  if [ -z "$uri" ]; then
    uri="$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep '/debian/\?$' | head -n 1 || true)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR="${MIRROR:-$(mirror_of_this_machine)}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
started=$SECONDS
echo "container-base: debootstrap bookworm from $MIRROR"
if ! debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
fi

# apt inside the image uses the same sources as this machine (main archive, updates, security), as
# the public image does with deb.debian.org; debootstrap only wrote the main suite.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/debian.sources"
  rm -f "$rootfs/etc/apt/sources.list"
fi
# Keep the image small, as the public slim image does: no package lists or downloaded .debs.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb

# Node where the public image has it.
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$node_bin")")/lib/node_modules/npm"
[ -d "$npm_dir" ] || { echo "container-base: npm not found at $npm_dir" >&2; exit 1; }
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# This machine's own trust additions (e.g. a TLS-inspecting egress proxy's CA): without them npm
# inside a build cannot reach the registry from here. Kept where update-ca-certificates finds them,
# and handed to Node by NODE_EXTRA_CA_CERTS (Node keeps its bundled roots and adds these). The
# public base needs none of this.
changes=()
extra_cas=(/usr/local/share/ca-certificates/*.crt)
if [ -e "${extra_cas[0]}" ]; then
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cp "${extra_cas[@]}" "$rootfs/usr/local/share/ca-certificates/"
  cat "${extra_cas[@]}" >"$rootfs/usr/local/share/ca-certificates/extra-bundle.pem"
  changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/extra-bundle.pem')
fi

tar -C "$rootfs" --numeric-owner -cf "$work/rootfs.tar" .
$PODMAN import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "${changes[@]}" \
  "$work/rootfs.tar" "$IMAGE" >/dev/null
echo "container-base: made $IMAGE (Node $(node --version), $((SECONDS - started)) s)"
