//! The committed metadata, runtime version, genesis and vectors must equal what the
//! runtime generates now. Regenerate with `write_artifacts` below, through `pallet_cargo`
//! (scripts/build-wasm-toolchain.sh), which builds pallet-spec at the fixed path the blob needs.

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
		"generated artifacts are stale ({}); after a change to the pallet or the runtime, regenerate them with \
		 `pallet_cargo test --locked -p decentralml-runtime --test artifacts_current -- --ignored write_artifacts` \
		 (scripts/build-wasm-toolchain.sh). If only the blob and what contains it differ, check that it was built \
		 through `pallet_cargo`: its bytes depend on the absolute path of pallet-spec/, which pallet_cargo fixes",
		stale.join(", ")
	);
}

/// Rewrites the committed artifacts from this test build:
/// `cargo test -p decentralml-runtime --test artifacts_current -- --ignored write_artifacts`.
/// The same as the `generate-artifacts` binary, without a second build: `cargo run` resolves
/// other features than `cargo test` (no dev-dependencies) and recompiles most of the graph,
/// binaryen included.
#[test]
#[ignore = "writes pallet-spec/; run on purpose to regenerate"]
fn write_artifacts() {
	let root = decentralml_runtime::artifacts::spec_dir();
	for (rel, bytes) in decentralml_runtime::artifacts::generate_all() {
		let path = root.join(&rel);
		std::fs::create_dir_all(path.parent().expect("a file under pallet-spec/")).expect("create the directory");
		std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
	}
}
