//! The WebAssembly blob against the native runtime, in a real executor: sc-executor's
//! `WasmExecutor` (wasmtime, the executor of a Substrate node) runs the blob over the states
//! the native runtime recorded in the vectors.
//! - Every block of the block vectors (`signed_blocks`, `sudo_block`) goes through
//!   `Core_execute_block` (which checks the header's state root and extrinsics root inside
//!   the runtime); the resulting storage, events included, must equal the native run's.
//! - Every runtime API call of `runtime_api.json` must give the native output, byte for byte
//!   (the metadata calls by length and blake2-256).
//! - `Metadata_metadata_at_version(14|15)` from the blob must be the committed metadata files.

use codec::{Compact, Decode, Encode};
use decentralml_runtime::artifacts;
use sc_executor::WasmExecutor;
use serde_json::Value;
use sp_core::{
	storage::{well_known_keys::CODE, Storage},
	traits::{CallContext, CodeExecutor, RuntimeCode, WrappedRuntimeCode},
};
use sp_io::hashing::blake2_256;
use sp_runtime::StateVersion;
use std::collections::BTreeMap;

type Executor = WasmExecutor<sp_io::SubstrateHostFunctions>;

fn unhex(s: &str) -> Vec<u8> {
	hex::decode(s.trim_start_matches("0x")).expect("hex")
}

fn vector(name: &str) -> Value {
	let path = artifacts::spec_dir().join("vectors").join(format!("{name}.json"));
	serde_json::from_slice(&std::fs::read(&path).expect("vector file")).expect("vector JSON")
}

/// A storage dump of the vectors: hex values, `:code` named by file (the blob).
fn state_of(dump: &Value, blob: &[u8]) -> BTreeMap<Vec<u8>, Vec<u8>> {
	dump.as_object()
		.expect("state object")
		.iter()
		.map(|(k, v)| {
			let value = match v {
				Value::String(h) => unhex(h),
				Value::Object(code) => {
					assert_eq!(code["blake2_256"].as_str().unwrap(), format!("0x{}", hex::encode(blake2_256(blob))));
					blob.to_vec()
				},
				other => panic!("unexpected state value {other}"),
			};
			(unhex(k), value)
		})
		.collect()
}

fn externalities(state: &BTreeMap<Vec<u8>, Vec<u8>>) -> sp_io::TestExternalities {
	let storage = Storage { top: state.clone(), children_default: Default::default() };
	let mut ext = sp_io::TestExternalities::new_with_state_version(storage, StateVersion::V1);
	// TestExternalities replaces `:code` with an empty value: put the recorded one back.
	let code = state.get(CODE).cloned().unwrap_or_default();
	ext.execute_with(|| sp_io::storage::set(CODE, &code));
	ext.commit_all().expect("commit");
	ext
}

fn all_pairs(ext: &mut sp_io::TestExternalities) -> BTreeMap<Vec<u8>, Vec<u8>> {
	ext.execute_with(|| {
		let mut out = BTreeMap::new();
		let mut key = Vec::new();
		if let Some(v) = sp_io::storage::get(&key) {
			out.insert(key.clone(), v.to_vec());
		}
		while let Some(next) = sp_io::storage::next_key(&key) {
			out.insert(next.clone(), sp_io::storage::get(&next).expect("key exists").to_vec());
			key = next;
		}
		out
	})
}

/// Calls `method` of the blob on `ext`'s state; the state changes stay in `ext`.
fn call(executor: &Executor, blob: &[u8], ext: &mut sp_io::TestExternalities, method: &str, data: &[u8]) -> Vec<u8> {
	let fetcher = WrappedRuntimeCode(blob.into());
	let code = RuntimeCode { code_fetcher: &fetcher, heap_pages: None, hash: blake2_256(blob).to_vec() };
	// As a node calls it: on chain, and as part of block import for `Core_execute_block`.
	let context = CallContext::Onchain { import: method == "Core_execute_block" };
	let (result, _) = executor.call(&mut ext.ext(), &code, method, data, context);
	result.unwrap_or_else(|e| panic!("{method} failed in the WebAssembly runtime: {e}"))
}

#[test]
fn blob_executes_the_block_vectors_as_the_native_runtime_recorded_them() {
	let blob = artifacts::wasm_blob();
	let executor = Executor::builder().build();
	for name in ["signed_blocks", "sudo_block"] {
		let v = vector(name);
		let mut ext = externalities(&state_of(&v["setup"]["state"], &blob));
		for block in v["blocks"].as_array().expect("blocks") {
			let where_ = format!("{name} block {}", block["number"]);
			let xts = block["extrinsics"].as_array().expect("extrinsics");
			let mut encoded = unhex(block["header"]["encoded"].as_str().unwrap());
			Compact(xts.len() as u32).encode_to(&mut encoded);
			for x in xts {
				encoded.extend(unhex(x["extrinsic_hex"].as_str().unwrap()));
			}
			// Core_execute_block panics (a failed call) unless the header's roots match.
			let out = call(&executor, &blob, &mut ext, "Core_execute_block", &encoded);
			assert!(out.is_empty(), "{where_}: execute_block returns ()");
			ext.commit_all().expect("commit");
			let want = state_of(&block["state"], &blob);
			let got = all_pairs(&mut ext);
			let differ: Vec<String> = want
				.keys()
				.chain(got.keys())
				.filter(|k| want.get(*k) != got.get(*k))
				.map(|k| format!("0x{}", hex::encode(k)))
				.collect();
			assert!(differ.is_empty(), "{where_}: storage differs from the native run at {differ:?}");
			let events_key = [sp_io::hashing::twox_128(b"System"), sp_io::hashing::twox_128(b"Events")].concat();
			assert_eq!(
				got.get(&events_key).cloned().unwrap_or_default(),
				unhex(block["events_raw"].as_str().unwrap()),
				"{where_}: events"
			);
			let root = ext.as_backend().root().to_owned();
			assert_eq!(format!("0x{}", hex::encode(root)), block["storage_root"].as_str().unwrap(), "{where_}");
		}
	}
}

#[test]
fn blob_answers_the_runtime_api_vector_as_the_native_runtime() {
	let blob = artifacts::wasm_blob();
	let executor = Executor::builder().build();
	let blocks = vector("signed_blocks");
	let v = vector("runtime_api");
	let state = state_of(&blocks["blocks"][0]["state"], &blob);
	for c in v["calls"].as_array().expect("calls") {
		let method = c["method"].as_str().unwrap();
		let mut ext = externalities(&state);
		let out = call(&executor, &blob, &mut ext, method, &unhex(c["input_hex"].as_str().unwrap()));
		match c.get("output_hex").and_then(Value::as_str) {
			Some(want) => assert_eq!(format!("0x{}", hex::encode(&out)), want, "{method}"),
			None => {
				assert_eq!(out.len() as u64, c["output_len"].as_u64().unwrap(), "{method}");
				assert_eq!(
					format!("0x{}", hex::encode(blake2_256(&out))),
					c["output_blake2_256"].as_str().unwrap(),
					"{method}"
				);
			},
		}
	}
}

#[test]
fn blob_serves_the_committed_metadata() {
	let blob = artifacts::wasm_blob();
	let executor = Executor::builder().build();
	let mut ext = externalities(&artifacts::genesis_storage().top);
	for version in [14u32, 15] {
		let out = call(&executor, &blob, &mut ext, "Metadata_metadata_at_version", &version.encode());
		let opaque = Option::<Vec<u8>>::decode(&mut &out[..]).expect("Option<OpaqueMetadata>").expect("served");
		let committed = std::fs::read(artifacts::spec_dir().join(format!("metadata/metadata_v{version}.scale")))
			.expect("committed metadata");
		assert!(opaque == committed, "metadata V{version} from the blob differs from metadata/metadata_v{version}.scale");
	}
	let out = call(&executor, &blob, &mut ext, "Metadata_metadata_versions", &[]);
	assert_eq!(Vec::<u32>::decode(&mut &out[..]).unwrap(), vec![14, 15]);
	let out = call(&executor, &blob, &mut ext, "Core_version", &[]);
	assert_eq!(out, decentralml_runtime::VERSION.encode(), "Core_version");
}
