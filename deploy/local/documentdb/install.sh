#!/usr/bin/env bash
# Builds and installs the local MongoDB-wire store (docs/store.md):
#   - Debian packages (PostgreSQL 15, its dev headers, rum, PostGIS, libbson, ...) through apt;
#   - pgvector 0.8.0, pg_cron 1.6.3 and DocumentDB (pg_documentdb_core + pg_documentdb) from the
#     pinned source archives, installed into Debian's PostgreSQL tree;
#   - DocumentDB's gateway pg_documentdb_gw (`cargo build --release --locked`, crates.io).
#
#   deploy/local/documentdb/install.sh
#
# Idempotent and cached by source checksum under ${SIPUMA_CACHE_DIR:-~/.cache/sipuma}/store:
# when everything is in place it only checks markers and returns in well under a second.
# Root (or sudo) is needed for apt and for writing into PostgreSQL's tree, nothing else.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

JOBS="$(nproc 2>/dev/null || echo 2)"
# libbson 1.23 (bookworm) lacks BSON_SUBTYPE_SENSITIVE, which DocumentDB (built for 1.28) uses;
# the bitcode step ignores COPT, hence with_llvm=no.
DOCDB_COPT="-DBSON_SUBTYPE_SENSITIVE=0x08 -Wno-error=switch"

timed() { # label command... ; logs how long the step took
  local label="$1" t0=$SECONDS; shift
  "$@"
  log "$label took $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- packages
package_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

ensure_packages() {
  command -v dpkg-query >/dev/null 2>&1 || die "this installer needs a Debian-like system (apt)"
  local wanted=("${DOCDB_APT_PACKAGES[@]}") missing=() pkg
  ((EUID == 0)) && wanted+=(acl)  # setfacl: lets the unprivileged server user reach its folders
  for pkg in "${wanted[@]}"; do package_installed "$pkg" || missing+=("$pkg"); done
  ((${#missing[@]})) || return 0
  if ((EUID != 0)) && ! command -v sudo >/dev/null 2>&1; then
    die "missing Debian packages and no root/sudo to install them; as root run:
  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ---------------------------------------------------------------- sources
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

fetch_archive() { # name -> prints the path of a verified archive
  local name="$1" file url sha found
  file="$(source_field "$name" 1)"; url="$(source_field "$name" 2)"; sha="$(source_field "$name" 3)"
  if [[ -f "$VENDOR_DIR/$file" ]]; then
    found="$VENDOR_DIR/$file"
  else
    found="$STORE_CACHE/downloads/$file"
    if [[ ! -f "$found" ]]; then
      command -v curl >/dev/null 2>&1 || die "curl is needed to download $url"
      log "downloading $url"
      mkdir -p "$STORE_CACHE/downloads"
      curl -fsSL --retry 3 -o "$found.part" "$url" || die "download failed: $url"
      mv "$found.part" "$found"
    fi
  fi
  local actual; actual="$(sha256_of "$found")"
  if [[ "$actual" != "$sha" ]]; then
    [[ "$found" == "$STORE_CACHE/downloads/"* ]] && rm -f "$found"
    die "checksum mismatch for $found: expected $sha, got $actual"
  fi
  printf '%s\n' "$found"
}

unpacked_source() { # name -> prints the folder of the unpacked, verified source
  local name="$1" dir archive
  dir="$STORE_CACHE/src/$(source_key "$name")"
  if [[ ! -f "$dir/.sipuma-unpacked" ]]; then
    archive="$(fetch_archive "$name")"
    rm -rf "$dir" && mkdir -p "$dir"
    tar -xzf "$archive" -C "$dir" --strip-components=1
    touch "$dir/.sipuma-unpacked"
  fi
  printf '%s\n' "$dir"
}

# ---------------------------------------------------------------- extensions
# Debian's Intel decimal library has no pkg-config file; DocumentDB asks pkg-config for
# `intelmathlib`. Point it at the -fPIC, call-by-value, no-global-state variant (libbidgcc000.a).
intelmathlib_pc() {
  local pcdir="$STORE_CACHE/pkgconfig" lib
  lib="$(dpkg -L libintelrdfpmath-dev | grep '/libbidgcc000\.a$' | head -n1)"
  [[ -n "$lib" ]] || die "libbidgcc000.a not found in libintelrdfpmath-dev"
  mkdir -p "$pcdir"
  cat >"$pcdir/intelmathlib.pc" <<EOF
Name: intelmathlib
Description: Intel Decimal Floating-Point Math Library (Debian libintelrdfpmath-dev)
Version: 2.0u2
Cflags: -I/usr/include
Libs: $lib
EOF
  printf '%s\n' "$pcdir"
}

build_pgvector() {
  local dir; dir="$(unpacked_source pgvector)"
  # OPTFLAGS="": no -march=native, so the cached build runs on any x86-64.
  make -s -C "$dir" -j"$JOBS" PG_CONFIG="$PG_CONFIG" with_llvm=no OPTFLAGS="" >/dev/null
  as_root make -s -C "$dir" PG_CONFIG="$PG_CONFIG" with_llvm=no OPTFLAGS="" install >/dev/null
}

build_pg_cron() { # bookworm's pg_cron 1.4 rejects DocumentDB's '2 seconds' schedules
  local dir; dir="$(unpacked_source pg_cron)"
  make -s -C "$dir" -j"$JOBS" PG_CONFIG="$PG_CONFIG" with_llvm=no >/dev/null
  as_root make -s -C "$dir" PG_CONFIG="$PG_CONFIG" with_llvm=no install >/dev/null
}

build_documentdb() {
  local dir pcdir part; dir="$(unpacked_source documentdb)"; pcdir="$(intelmathlib_pc)"
  # The RUM fork shipped with DocumentDB (same on-disk format as Debian's rum): Debian's rum
  # 1.3.13 segfaulted in rumgettuple during unique-index checks of concurrent inserts.
  for part in pg_documentdb_core pg_documentdb internal/pg_documentdb_extended_rum; do
    PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" make -s -C "$dir/$part" \
      -j"$JOBS" PG_CONFIG="$PG_CONFIG" with_llvm=no COPT="$DOCDB_COPT" >/dev/null
    as_root env PKG_CONFIG_PATH="$pcdir" make -s -C "$dir/$part" PG_CONFIG="$PG_CONFIG" \
      with_llvm=no COPT="$DOCDB_COPT" install >/dev/null
  done
}

install_extension() { # name builder library...
  local name="$1" builder="$2"; shift 2
  extension_installed "$name" "$@" && return 0
  log "building and installing $name ($(source_key "$name")) into PostgreSQL $PG_MAJOR"
  timed "$name" "$builder"
  source_field "$name" 3 | as_root tee "$(install_marker "$name")" >/dev/null
}

# ---------------------------------------------------------------- gateway
find_cargo() {
  if command -v cargo >/dev/null 2>&1; then return 0; fi
  if [[ -x "$HOME/.cargo/bin/cargo" ]]; then PATH="$HOME/.cargo/bin:$PATH"; return 0; fi
  die "cargo (Rust 1.80+) is needed to build the DocumentDB gateway: install it with rustup
  (https://rustup.rs) or Debian's cargo package, then run this again"
}

build_gateway() {
  local bin dir; bin="$(gateway_binary)"
  [[ -x "$bin" ]] && return 0
  find_cargo
  dir="$(unpacked_source documentdb)"
  log "building the DocumentDB gateway (cargo build --release --locked; about 4-5 min on 2 cores)"
  local t0=$SECONDS
  mkdir -p "$STORE_CACHE/logs"
  local buildlog="$STORE_CACHE/logs/gateway-build.log"
  if ! CARGO_TARGET_DIR="$STORE_CACHE/cargo-target" cargo build --release --locked \
    --manifest-path "$dir/pg_documentdb_gw/Cargo.toml" >"$buildlog" 2>&1; then
    tail -n 40 "$buildlog" >&2
    die "gateway build failed (log: $buildlog)"
  fi
  mkdir -p "$(dirname "$bin")"
  install -m 755 "$STORE_CACHE/cargo-target/release/documentdb_gateway" "$bin.part"
  mv "$bin.part" "$bin"
  log "gateway took $((SECONDS - t0)) s"
}

main() {
  local t0=$SECONDS
  if ! store_artefacts_missing >/dev/null; then return 0; fi
  mkdir -p "$STORE_CACHE"
  timed "apt packages check/install" ensure_packages
  install_extension pgvector build_pgvector vector.so
  install_extension pg_cron build_pg_cron pg_cron.so
  install_extension documentdb build_documentdb pg_documentdb_core.so pg_documentdb.so \
    pg_documentdb_extended_rum.so
  build_gateway
  log "store build/install took $((SECONDS - t0)) s"
}

main "$@"
