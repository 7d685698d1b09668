# Sourced by scripts/test.sh (with $ROOT and $CACHE set): builds subxt-cli (the `subxt`
# command, crates.io, pinned below) once into a cache dir outside the clone keyed on its
# version, and exports DECENTRALML_SUBXT (the binary). tests/devnode/test_subxt.py runs its
# `metadata`, `codegen` and `chain-spec` against `decentralml devnode`.
# Built with rustup's cargo (subxt-cli needs rustc >= 1.88; Debian's cargo, which
# build-wasm-toolchain.sh puts first on PATH, is for pallet-spec), `--locked` (subxt-cli's
# own Cargo.lock), under `nice -n 10`, one build at a time per cache (flock). The first build
# takes 7 min on an otherwise idle machine, 27 min at load 12 (README). Never exits the calling shell: on
# failure it warns, keeps the log, and leaves the variable unset (the test then fails with
# the reason). Standalone use: . scripts/build-subxt.sh
DECENTRALML_SUBXT_VERSION="${DECENTRALML_SUBXT_VERSION:-0.51.1}"
CACHE="${CACHE:-${DECENTRALML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/decentralml-build}}"
_dml_subxt_root="$CACHE/subxt-cli-$DECENTRALML_SUBXT_VERSION"
_dml_subxt_build() {
  local cargo
  cargo="${CARGO_HOME:-$HOME/.cargo}/bin/cargo"
  [ -x "$cargo" ] || cargo="$(command -v cargo || true)"
  if [ -z "$cargo" ]; then
    echo "build-subxt: no cargo found (install rustup: https://rustup.rs); cannot build subxt-cli." >&2
    return 1
  fi
  mkdir -p "$CACHE"
  (
    exec 9>"$CACHE/.subxt-cli.build.lock"
    flock 9
    [ -x "$_dml_subxt_root/bin/subxt" ] && exit 0
    local tmp log
    tmp="$CACHE/.tmp-subxt-cli-$DECENTRALML_SUBXT_VERSION"
    log="$CACHE/subxt-cli-$DECENTRALML_SUBXT_VERSION.build.log"
    rm -rf "$tmp"
    echo "build-subxt: building subxt-cli $DECENTRALML_SUBXT_VERSION with $("$cargo" --version) (first run only; 7 to 30 min; log: $log)..." >&2
    # The target dir is kept between tries, so an interrupted build resumes.
    if CARGO_TARGET_DIR="$CACHE/cargo-target-subxt" nice -n 10 "$cargo" install subxt-cli \
        --locked --version "=$DECENTRALML_SUBXT_VERSION" --root "$tmp" >"$log" 2>&1 \
        && [ -x "$tmp/bin/subxt" ]; then
      rm -rf "$_dml_subxt_root" && mv "$tmp" "$_dml_subxt_root"
      rm -rf "$CACHE/cargo-target-subxt"
    else
      echo "build-subxt: could not build subxt-cli $DECENTRALML_SUBXT_VERSION; last lines of $log:" >&2
      tail -n 5 "$log" >&2
      rm -rf "$tmp"
      exit 1
    fi
  )
}
if _dml_subxt_build && [ -x "$_dml_subxt_root/bin/subxt" ]; then
  export DECENTRALML_SUBXT="$_dml_subxt_root/bin/subxt"
fi
unset -f _dml_subxt_build
unset _dml_subxt_root
