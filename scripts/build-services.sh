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
# Standalone use: . scripts/build-services.sh   (CACHE defaults as in scripts/_env.sh)

CACHE="${CACHE:-${DECENTRALML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/decentralml-build}}"
DECENTRALML_MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"  # MinIO master of 2026-02-12
DECENTRALML_KUBO_VERSION="v0.40.1"  # v0.39 does not build with Go 1.26 (cockroachdb/swiss)

_dml_go_install() {
  # _dml_go_install <module> <version> <package dir in module, "" for its root> <binary name> <dest dir>
  # Tries `go install <module>/<package>@<version>`; when that fails (a proxy
  # that refuses the module's version list, which go install reads to check
  # deprecation), downloads that exact module version and builds the package
  # inside it with its own go.mod and go.sum. Returns non-zero on failure.
  local module="$1" version="$2" pkg="$3" name="$4" dest="$5"
  local target="$module${pkg:+/$pkg}"
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
    export GOPATH="$CACHE/go" GOCACHE="$CACHE/go/build-cache" GOMODCACHE="$CACHE/go/pkg/mod" \
      GOFLAGS="-buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0
    echo "build-services: building $target@$version (first run only; several minutes)..." >&2
    tmp="$(mktemp -d "$CACHE/services/.tmp-$name-XXXXXX")"
    log="$tmp.log"
    if GOBIN="$tmp" nice -n 10 go install -trimpath -ldflags="-s -w" "$target@$version" >"$log" 2>&1 \
        && [ -x "$tmp/$name" ]; then
      :
    else
      echo "build-services: go install failed ($(tail -n 1 "$log")); building inside the downloaded module." >&2
      dir="$(go mod download -json "$module@$version" 2>>"$log" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
      if [ -z "$dir" ] || ! (cd "$dir" && nice -n 10 go build -trimpath -ldflags="-s -w" -o "$tmp/$name" "./$pkg") >>"$log" 2>&1; then
        echo "build-services: could not build $name; last lines of $log:" >&2
        tail -n 5 "$log" >&2
        rm -rf "$tmp"
        exit 1
      fi
    fi
    mkdir -p "$dest" && mv "$tmp/$name" "$dest/$name" && rm -rf "$tmp" "$log"
  )
}

_dml_minio_dir="$CACHE/services/minio-$DECENTRALML_MINIO_VERSION"
if _dml_go_install github.com/minio/minio "$DECENTRALML_MINIO_VERSION" "" minio "$_dml_minio_dir"; then
  export DECENTRALML_MINIO_BIN="$_dml_minio_dir/minio"
  export DECENTRALML_S3_SERVER="minio"
else
  echo "build-services: falling back to moto's S3 server for the S3 tests." >&2
  unset DECENTRALML_MINIO_BIN
  export DECENTRALML_S3_SERVER="moto"
fi

_dml_kubo_dir="$CACHE/services/kubo-$DECENTRALML_KUBO_VERSION"
if _dml_go_install github.com/ipfs/kubo "$DECENTRALML_KUBO_VERSION" cmd/ipfs ipfs "$_dml_kubo_dir"; then
  export DECENTRALML_IPFS_BIN="$_dml_kubo_dir/ipfs"
else
  unset DECENTRALML_IPFS_BIN
fi
unset _dml_minio_dir _dml_kubo_dir
unset -f _dml_go_install
