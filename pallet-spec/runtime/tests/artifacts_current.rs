//! The committed metadata, runtime version, genesis and vectors must equal what the
//! runtime generates now. Regenerate with
//! `cargo run -p decentralml-runtime --bin generate-artifacts`.

#[test]
fn committed_artifacts_are_current() {
	let root = decentralml_runtime::artifacts::spec_dir();
	let mut stale = Vec::new();
	for (rel, bytes) in decentralml_runtime::artifacts::generate_all() {
		match std::fs::read(root.join(&rel)) {
			Ok(committed) if committed == bytes => {}
			Ok(_) => stale.push(format!("{rel} differs")),
			Err(e) => stale.push(format!("{rel} unreadable: {e}")),
		}
	}
	assert!(
		stale.is_empty(),
		"generated artifacts are stale ({}); run `cargo run -p decentralml-runtime --bin generate-artifacts` in pallet-spec/",
		stale.join(", ")
	);
}
