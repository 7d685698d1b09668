//! Builds the runtime's WebAssembly blob (`WASM_BINARY`) with substrate-wasm-builder when the
//! `std` feature is on. `SKIP_WASM_BUILD=1` skips it (then `WASM_BINARY` is `None`).

fn main() {
	#[cfg(feature = "std")]
	substrate_wasm_builder::WasmBuilder::build_using_defaults();
}
