# Sourced by scripts/test.sh (with $CACHE set): builds the servers the storage
# integration tests run against, once, into $CACHE/services/<name>-<version>/,
# and exports where they are:
#   DECENTRALML_MINIO_BIN   MinIO server binary (go install from the Go module proxy)
#   DECENTRALML_S3_SERVER   "minio", or "moto" when MinIO could not be built
#                           (tests then run moto's server from the venv)
#   DECENTRALML_IPFS_BIN    Kubo (go-ipfs) binary
# Go's caches live under $CACHE/go. Quick when already built. Never exits the
# calling shell; a failed build prints why and leaves the variable unset, so
# the tests that need it fail with a message pointing here.
# Standalone use: CACHE=~/.cache/decentralml-build . scripts/build-services.sh

DECENTRALML_MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"  # MinIO master of 2026-02-12
DECENTRALML_KUBO_VERSION="v0.39.0"

_dml_go_install() {
  # _dml_go_install <module@version> <binary name> <dest dir>; returns non-zero on failure.
  local target="$1" name="$2" dest="$3"
  [ -x "$dest/$name" ] && return 0
  if ! command -v go >/dev/null 2>&1; then
    echo "build-services: 'go' is not on PATH: cannot build $name (install Go >= 1.25)." >&2
    return 1
  fi
  mkdir -p "$CACHE/go" "$CACHE/services"
  (
    # One build at a time per cache, even when several test runs start together.
    exec 9>"$CACHE/services/.build.lock"
    flock 9
    [ -x "$dest/$name" ] && exit 0
    echo "build-services: building $target (first run only; several minutes)..." >&2
    tmp="$(mktemp -d "$CACHE/services/.tmp-$name-XXXXXX")"
    if GOPATH="$CACHE/go" GOCACHE="$CACHE/go/build-cache" GOMODCACHE="$CACHE/go/pkg/mod" \
        GOBIN="$tmp" GOFLAGS="-buildvcs=false -mod=mod" GOTOOLCHAIN=local CGO_ENABLED=0 \
        nice -n 10 go install -trimpath -ldflags="-s -w" "$target" >"$tmp.log" 2>&1 \
        && [ -x "$tmp/$name" ]; then
      mkdir -p "$dest" && mv "$tmp/$name" "$dest/$name" && rm -rf "$tmp" "$tmp.log"
    else
      echo "build-services: 'go install $target' failed; last lines of $tmp.log:" >&2
      tail -n 5 "$tmp.log" >&2
      rm -rf "$tmp"
      exit 1
    fi
  )
}

_dml_minio_dir="$CACHE/services/minio-$DECENTRALML_MINIO_VERSION"
if _dml_go_install "github.com/minio/minio@$DECENTRALML_MINIO_VERSION" minio "$_dml_minio_dir"; then
  export DECENTRALML_MINIO_BIN="$_dml_minio_dir/minio"
  export DECENTRALML_S3_SERVER="minio"
else
  echo "build-services: falling back to moto's S3 server for the S3 tests." >&2
  unset DECENTRALML_MINIO_BIN
  export DECENTRALML_S3_SERVER="moto"
fi

_dml_kubo_dir="$CACHE/services/kubo-$DECENTRALML_KUBO_VERSION"
if _dml_go_install "github.com/ipfs/kubo/cmd/ipfs@$DECENTRALML_KUBO_VERSION" ipfs "$_dml_kubo_dir"; then
  export DECENTRALML_IPFS_BIN="$_dml_kubo_dir/ipfs"
else
  unset DECENTRALML_IPFS_BIN
fi
unset _dml_minio_dir _dml_kubo_dir
unset -f _dml_go_install
