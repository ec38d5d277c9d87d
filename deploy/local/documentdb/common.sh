# shellcheck shell=bash
# Shared by install.sh and store.sh (sourced, not run): pinned sources, cache layout, helpers.
#
# The store is Debian's PostgreSQL 15 with Microsoft's DocumentDB extension and DocumentDB's own
# Rust gateway (pg_documentdb_gw) as the MongoDB wire front end. See docs/store.md.

DOCDB_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DOCDB_ROOT="$(cd "$DOCDB_HERE/../../.." && pwd)"

PG_MAJOR=15
PG_BINDIR="/usr/lib/postgresql/$PG_MAJOR/bin"
PG_CONFIG="$PG_BINDIR/pg_config"

# Pinned source archives: name, archive file, upstream URL, SHA-256 (the same bytes as
# ../shared/vendor/SHA256SUMS; GitHub's archive of a commit or tag is a `git archive`).
DOCDB_SOURCES=(
  "pgvector|pgvector-0.8.0.tar.gz|https://github.com/pgvector/pgvector/archive/refs/tags/v0.8.0.tar.gz|93df40ccdaaaa267d1275c1e6e773004a0e5ff8e14227934a4ec7e8205d0f608"
  "pg_cron|pg_cron-1.6.3.tar.gz|https://github.com/citusdata/pg_cron/archive/refs/tags/v1.6.3.tar.gz|3580f4034021e62e459f9f7ab1f625774bfc534a9256844545da85d6f99c2f5b"
  "documentdb|documentdb-b2e220c4.tar.gz|https://github.com/microsoft/documentdb/archive/b2e220c4.tar.gz|65bc74c46a3ad178d2119fc2daecde36aaf8feda352af34fccd60b0d6e28e8f6"
)
# documentdb commit b2e220c47d85ec6fed1651f03968da2317f71c10 (2025-08-25, extension 0.108-0)

# Where the archives are found first (relative to the repository; override with SIPUMA_VENDOR_DIR),
# else downloaded into the cache and checked against the same checksums.
# shellcheck disable=SC2034 # used by install.sh
VENDOR_DIR="${SIPUMA_VENDOR_DIR:-$DOCDB_ROOT/../shared/vendor}"
CACHE="${SIPUMA_CACHE_DIR:-$HOME/.cache/sipuma}"
STORE_CACHE="$CACHE/store"

# Debian packages the build and the server need.
# shellcheck disable=SC2034 # used by install.sh
DOCDB_APT_PACKAGES=(
  "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" "postgresql-$PG_MAJOR-rum"
  "postgresql-$PG_MAJOR-postgis-3" libbson-dev libpcre2-dev libintelrdfpmath-dev pkg-config
  libicu-dev libkrb5-dev libpq-dev libssl-dev build-essential openssl
  systemtap-sdt-dev  # sys/sdt.h, which PostgreSQL's headers include for DocumentDB's RUM fork
)

log() { printf '[infra] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

source_field() { # name field(1=file 2=url 3=sha256)
  local entry name rest
  for entry in "${DOCDB_SOURCES[@]}"; do
    name="${entry%%|*}"
    rest="${entry#*|}"
    if [[ "$name" == "$1" ]]; then
      IFS='|' read -r -a parts <<<"$rest"
      printf '%s\n' "${parts[$(($2 - 1))]}"
      return 0
    fi
  done
  die "unknown source $1"
}

source_key() { local sha; sha="$(source_field "$1" 3)"; printf '%s-%s\n' "$1" "${sha:0:12}"; }

gateway_binary() { printf '%s/bin/pg_documentdb_gw-%s\n' "$STORE_CACHE" "$(source_field documentdb 3 | cut -c1-12)"; }

pg_sharedir() { "$PG_CONFIG" --sharedir; }
pg_pkglibdir() { "$PG_CONFIG" --pkglibdir; }

# The marker `install.sh` leaves in PostgreSQL's tree once an extension from a given archive is in.
install_marker() { printf '%s/extension/sipuma-%s.sha256\n' "$(pg_sharedir)" "$1"; }

extension_installed() { # name library...
  local name="$1" lib; shift
  [[ -x "$PG_CONFIG" ]] || return 1
  [[ "$(cat "$(install_marker "$name")" 2>/dev/null)" == "$(source_field "$name" 3)" ]] || return 1
  for lib in "$@"; do [[ -f "$(pg_pkglibdir)/$lib" ]] || return 1; done
}

store_artefacts_missing() { # prints what is missing, returns 0 when something is
  local missing=()
  [[ -x "$PG_BINDIR/postgres" ]] || missing+=("PostgreSQL $PG_MAJOR server ($PG_BINDIR)")
  [[ -x "$PG_CONFIG" && -f "$(pg_pkglibdir)/rum.so" ]] || missing+=("rum extension (Debian)")
  [[ -x "$PG_CONFIG" && -f "$(pg_pkglibdir)/postgis-3.so" ]] || missing+=("PostGIS (Debian)")
  extension_installed pgvector vector.so || missing+=("pgvector extension")
  extension_installed pg_cron pg_cron.so || missing+=("pg_cron extension")
  extension_installed documentdb pg_documentdb_core.so pg_documentdb.so pg_documentdb_extended_rum.so \
    || missing+=("DocumentDB extension (with its RUM fork)")
  [[ -x "$(gateway_binary)" ]] || missing+=("gateway binary $(gateway_binary)")
  ((${#missing[@]})) || return 1
  printf '%s\n' "${missing[@]}"
}

# Runs a command as root: directly, through sudo, or not at all (with the reason).
as_root() {
  if ((EUID == 0)); then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "root is needed for: $* (no sudo found; run this as root)"
  fi
}
