//! Writes the generated artifacts (metadata, runtime version, genesis, vectors) into
//! `pallet-spec/`. Usage: `cargo run -p decentralml-runtime --bin generate-artifacts`.

fn main() {
	let root = decentralml_runtime::artifacts::spec_dir();
	for (rel, bytes) in decentralml_runtime::artifacts::generate_all() {
		let path = root.join(&rel);
		if let Some(dir) = path.parent() {
			std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
		}
		std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
		println!("wrote {rel} ({} bytes)", bytes.len());
	}
}
