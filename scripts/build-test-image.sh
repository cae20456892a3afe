#!/usr/bin/env bash
# Builds the local PostgreSQL image the testcontainers test backend runs
# (DBOPT_TEST_BACKEND=testcontainers), from Debian packages, without pulling from any registry.
#
#   scripts/build-test-image.sh            # builds (or keeps) dbopt-test-postgres:15
#   DBOPT_TEST_IMAGE=name:tag scripts/build-test-image.sh
#
# Steps: debootstrap a minimal Debian root file system with PostgreSQL (contrib modules such as
# pg_stat_statements, pg_buffercache, pg_trgm and btree_gin ship in postgresql-15), then
# `docker import` it with the entrypoint below. The root file system is cached outside the clone
# (DBOPT_TEST_IMAGE_CACHE, default /var/cache/dbopt-test-image), keyed by suite, architecture and
# package list; an image already built from the same key and entrypoint is kept as it is.
# The Debian mirror is the one this machine's apt already uses (DBOPT_DEBIAN_MIRROR overrides).
# Needs root, debootstrap and a running Docker engine.
set -euo pipefail

image=${DBOPT_TEST_IMAGE:-dbopt-test-postgres:15}
cache=${DBOPT_TEST_IMAGE_CACHE:-/var/cache/dbopt-test-image}
suite=bookworm
packages=postgresql-15
arch=$(dpkg --print-architecture)

# The entrypoint: what the official postgres image does, as far as testcontainers needs it.
# POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB; `postgres -c ...` arguments pass through.
read -r -d '' entrypoint <<'EOF' || true
#!/bin/sh
# dbopt test image entrypoint: initdb on first start, then run the server in the foreground.
set -eu
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi
if [ "$1" != postgres ]; then exec "$@"; fi
shift
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then echo "entrypoint: set POSTGRES_PASSWORD" >&2; exit 1; fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  # Trust on the socket (inside the container only), scram-sha-256 over TCP from anywhere;
  # UTF8 with the C locale, as the embedded test server (fast byte-wise sorts).
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    # Single-user mode: no server to start and stop just to create one database.
    q=$(printf '%s' "$db" | sed 's/"/""/g')
    echo "CREATE DATABASE \"$q\"" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp "$@"
EOF

key=$(printf '%s %s %s\n' "$suite" "$arch" "$packages" | sha256sum | cut -c1-16)
image_key=$(printf '%s\n%s\n' "$key" "$entrypoint" | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$image" 2>/dev/null |
  sed -n 's/^DBOPT_IMAGE_KEY=//p')" = "$image_key" ]; then
  echo "build-test-image: $image is up to date ($image_key)"
  exit 0
fi

rootfs=$cache/rootfs-$key
if [ ! -d "$rootfs" ]; then
  mirror=${DBOPT_DEBIAN_MIRROR:-$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 2>/dev/null |
    awk -v s="$suite" '$1 == s { print $2; exit }')}
  if [ -z "$mirror" ]; then
    echo "build-test-image: no apt source for Debian $suite on this machine; set DBOPT_DEBIAN_MIRROR" >&2
    exit 2
  fi
  echo "build-test-image: debootstrap $suite ($packages) from $mirror"
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.build-XXXXXX")
  chmod 755 "$tmp" # the image root: mktemp makes it 0700
  trap 'rm -rf "$tmp"' EXIT
  debootstrap --variant=minbase --include="$packages" "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1 ||
    { tail -20 "$tmp.log" >&2; exit 1; }
  rm -f "$tmp.log"
  # Dead weight in every container (the vfs storage driver copies the whole image per
  # container): the package's own cluster, downloaded .debs, apt lists, docs, locale sources,
  # and LLVM, which only JIT uses (the embedded PostgreSQL 18 of the default backend has no JIT
  # either; without llvmjit.so the server runs with JIT unavailable).
  rm -rf "$tmp"/var/lib/postgresql/15 "$tmp"/etc/postgresql/15 "$tmp"/var/cache/apt/* "$tmp"/var/lib/apt/lists/* \
    "$tmp"/usr/share/doc "$tmp"/usr/share/man "$tmp"/usr/share/locale "$tmp"/usr/share/i18n \
    "$tmp"/usr/lib/postgresql/15/lib/llvmjit* "$tmp"/usr/lib/postgresql/15/lib/bitcode \
    "$tmp"/usr/lib/*-linux-gnu/libLLVM-* "$tmp"/usr/lib/*-linux-gnu/libz3.so*
  mv "$tmp" "$rootfs"
  trap - EXIT
fi

printf '%s\n' "$entrypoint" >"$rootfs/usr/local/bin/dbopt-entrypoint"
chmod 755 "$rootfs/usr/local/bin/dbopt-entrypoint"
echo "build-test-image: docker import $image"
tar -C "$rootfs" -c . | docker import \
  -c 'USER postgres' \
  -c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV PGDATA=/var/lib/postgresql/data' \
  -c "ENV DBOPT_IMAGE_KEY=$image_key" \
  -c 'EXPOSE 5432' \
  -c 'ENTRYPOINT ["/usr/local/bin/dbopt-entrypoint"]' \
  -c 'CMD ["postgres"]' \
  - "$image" >/dev/null
echo "build-test-image: built $image ($image_key)"
