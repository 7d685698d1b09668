# Sourced by scripts/test.sh (after _env.sh): the toolchain that builds pallet-spec and
# its WebAssembly runtime blob, from Debian's package registry.
#   - rustc/cargo 1.96 (`rustc-web`, `cargo-web`, LLVM 22 with the WebAssembly backend),
#     the standard library sources (`rust-web-src`) and `lld-22`, installed with apt-get
#     when missing;
#   - the `wasm32v1-none` sysroot (core, alloc, compiler_builtins), which no Debian package
#     ships: built once with -Zbuild-std and cached under $CACHE keyed on the rustc version,
#     then copied into `$(rustc --print sysroot)/lib/rustlib/wasm32v1-none/lib`, where
#     substrate-wasm-builder looks for an installed target.
# Exports CARGO, RUSTC, RUSTDOC (Debian's, by full path), CARGO_TARGET_DIR
# ($CACHE/cargo-target-debian, native and wasm alike) and the substrate-wasm-builder settings,
# and defines `pallet_cargo`, which runs cargo on pallet-spec at fixed paths (see below).
# Usage: . scripts/_env.sh && . scripts/build-wasm-toolchain.sh && pallet_cargo test --workspace --locked
# The steps run under `set -euo pipefail` in a function whose shell options are local: a failed
# step ends the shell that sources this (as a script under `set -e` expects), and the options of
# that shell are left as they were.
_dml_wasm_toolchain() {
local -
set -euo pipefail
local _wasm_packages _installed _tool _rustc_version _sysroot_lib _key _cached _work _registry_src crate

_wasm_packages="rustc-web cargo-web rust-web-src libstd-rust-web-dev rust-web-llvm lld-22"
_installed="$(dpkg-query -W -f='${db:Status-Status}\n' $_wasm_packages 2>/dev/null | grep -c '^installed$' || true)"
if [ "$_installed" -ne 6 ]; then
  echo "Installing the Rust toolchain from Debian ($_wasm_packages)..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $_wasm_packages >&2
fi

# Debian's binaries, by full path and first on PATH: rustup's proxies (~/.cargo/bin) may come
# first otherwise, and substrate-wasm-builder probes the target with a plain `cargo rustc`
# with RUSTC removed from its environment, so the `rustc` it finds on PATH must be Debian's.
# Only cargo, rustc and rustdoc are shadowed (symlinks in $CACHE/debian-rust-bin).
export CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
mkdir -p "$CACHE/debian-rust-bin"
for _tool in cargo rustc rustdoc; do
  ln -sfn "/usr/bin/$_tool" "$CACHE/debian-rust-bin/$_tool"
done
case ":$PATH:" in
  *":$CACHE/debian-rust-bin:"*) ;;
  *) export PATH="$CACHE/debian-rust-bin:$PATH" ;;
esac
_rustc_version="$(/usr/bin/rustc --version)"
_sysroot_lib="$(/usr/bin/rustc --print sysroot)/lib/rustlib/wasm32v1-none/lib"
_key="$(printf '%s' "$_rustc_version" | sha256sum | cut -c1-16)"
_cached="$CACHE/wasm32v1-none-sysroot-$_key"

if [ ! -f "$_cached/.complete" ]; then
  echo "Building the wasm32v1-none standard library for $_rustc_version (first run only)..." >&2
  _work="$(mktemp -d)"
  mkdir -p "$_work/src"
  cat > "$_work/Cargo.toml" <<'TOML'
[package]
name = "wasm-sysroot"
version = "0.0.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]
path = "src/lib.rs"

[profile.release]
panic = "abort"
TOML
  cat > "$_work/src/lib.rs" <<'RS'
#![no_std]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
	loop {}
}
RS
  (cd "$_work" && RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C embed-bitcode=yes" CARGO_TARGET_DIR="$_work/target" \
     /usr/bin/cargo build --quiet --release --target wasm32v1-none -Zbuild-std=core,alloc)
  rm -rf "$_cached.tmp" && mkdir -p "$_cached.tmp"
  for crate in core alloc compiler_builtins; do
    cp "$_work"/target/wasm32v1-none/release/deps/lib${crate}-*.rlib "$_cached.tmp/"
  done
  printf '%s\n' "$_rustc_version" > "$_cached.tmp/.complete"
  rm -rf "$_cached" && mv "$_cached.tmp" "$_cached"
  rm -rf "$_work"
fi

# The rlibs belong to this rustc; install (or refresh) them into its sysroot.
if ! cmp -s "$_cached/.complete" "$_sysroot_lib/.decentralml" 2>/dev/null \
   || [ "$(ls "$_sysroot_lib"/*.rlib 2>/dev/null | wc -l)" -ne 3 ]; then
  mkdir -p "$_sysroot_lib"
  rm -f "$_sysroot_lib"/*.rlib
  cp "$_cached"/*.rlib "$_sysroot_lib/"
  cp "$_cached/.complete" "$_sysroot_lib/.decentralml"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/cargo-target-debian}"

# The blob's bytes depend on the absolute path of pallet-spec/: cargo derives the crates'
# `-C metadata` (and so every symbol hash, which orders the code and data in the module) from
# the absolute path of a path dependency outside the workspace, and the blob's workspace is
# generated in the target directory. Remapping source paths cannot undo that, so pallet-spec
# is built at fixed paths on every checkout and machine: `pallet_cargo ARGS...` runs
# "$CARGO" ARGS... in a mount namespace (bubblewrap) where the checkout is /mnt/decentralml,
# the target directory /mnt/decentralml-target and CARGO_HOME /mnt/cargo-home. The flags below,
# which cargo fingerprints, are then the same everywhere: a new checkout does not rebuild the
# blob's dependencies.
_registry_src=/mnt/cargo-home/registry/src
export WASM_BUILD_RUSTFLAGS="--remap-path-prefix=$_registry_src=/cargo/registry/src --remap-path-prefix=/mnt/decentralml/pallet-spec=/decentralml/pallet-spec --remap-path-prefix=/mnt/decentralml-target=/decentralml/target"
# The blob resolves its dependencies from pallet-spec's Cargo.lock, not afresh.
export WASM_BUILD_WORKSPACE_HINT=/mnt/decentralml/pallet-spec
# The blob is always the release build, whatever the profile of the outer build (cargo test).
export WASM_BUILD_TYPE=release
}
_dml_wasm_toolchain
unset -f _dml_wasm_toolchain

pallet_cargo() {
  if ! command -v bwrap >/dev/null 2>&1; then
    echo "pallet_cargo needs bubblewrap: apt-get install bubblewrap (scripts/test.sh installs it)" >&2
    return 1
  fi
  mkdir -p "$CARGO_TARGET_DIR"
  bwrap --dev-bind / / --tmpfs /mnt \
    --bind "$ROOT" /mnt/decentralml \
    --bind "$CARGO_TARGET_DIR" /mnt/decentralml-target \
    --bind "${CARGO_HOME:-$HOME/.cargo}" /mnt/cargo-home \
    --setenv CARGO_TARGET_DIR /mnt/decentralml-target --setenv CARGO_HOME /mnt/cargo-home \
    --chdir /mnt/decentralml/pallet-spec \
    "$CARGO" "$@"
}
