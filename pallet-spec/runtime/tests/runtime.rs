//! Runtime-level checks of the spec: metadata framing, runtime APIs, escrow account,
//! and the fee formula against the signed-block vector.

use codec::Decode;
use decentralml_runtime::{
	artifacts, Block, Runtime, TransactionPayment, UncheckedExtrinsic, METADATA_VERSIONS,
};
use serde_json::Value;
use sp_runtime::StateVersion;

fn unhex(s: &str) -> Vec<u8> {
	hex::decode(s.trim_start_matches("0x")).expect("hex")
}

#[test]
fn metadata_files_start_with_magic_and_version() {
	for v in METADATA_VERSIONS {
		let bytes = artifacts::metadata_bytes(v);
		assert_eq!(&bytes[..4], b"meta");
		assert_eq!(bytes[4] as u32, v);
	}
	use sp_api::runtime_decl_for_metadata::MetadataV2;
	assert_eq!(<Runtime as MetadataV2<Block>>::metadata_versions(), vec![14, 15]);
	assert!(<Runtime as MetadataV2<Block>>::metadata_at_version(16).is_none());
	assert_eq!(
		<Runtime as MetadataV2<Block>>::metadata().to_vec(),
		artifacts::metadata_bytes(14),
		"state_getMetadata serves V14"
	);
}

#[test]
fn runtime_version_lists_the_expected_apis() {
	let v = artifacts::runtime_version_json();
	let apis: Vec<(String, u64)> = v["apis"]
		.as_array()
		.unwrap()
		.iter()
		.map(|a| (a[0].as_str().unwrap().to_string(), a[1].as_u64().unwrap()))
		.collect();
	let want = [
		("0xdf6acb689907609b", 5),
		("0x37e397fc7c91f5e4", 2),
		("0x40fe3ad401f8959a", 6),
		("0xd2bc9897eed08f15", 3),
		("0xf78b278be53f454c", 2),
		("0xab3c0572291feb8b", 2),
		("0xbc9d89904f5b923f", 1),
		("0x37c8bb1350a9a2a8", 4),
		("0xf3ff14d5ab527059", 3),
		("0xfbc577b9d747efd6", 1),
	];
	assert_eq!(apis, want.iter().map(|(i, n)| (i.to_string(), *n)).collect::<Vec<_>>());
	assert_eq!(v["specName"], "decentralml");
	assert_eq!(v["specVersion"], 100);
	assert_eq!(v["transactionVersion"], 1);
	assert_eq!(v["stateVersion"], 1);
}

#[test]
fn escrow_account_matches_spec_bytes() {
	let a = pallet_decentralml::Pallet::<Runtime>::escrow_account(1);
	let raw: &[u8] = a.as_ref();
	assert_eq!(hex::encode(raw), "6d6f646c646563656e746d6c0100000000000000000000000000000000000000");
}

#[test]
fn genesis_root_matches_header() {
	let mut ext = artifacts::genesis_ext();
	let root = ext.execute_with(|| sp_io::storage::root(StateVersion::V1));
	assert_eq!(root, artifacts::genesis_header().state_root.as_bytes().to_vec());
	let g = artifacts::genesis_json();
	// 22 pairs of the development preset and `:code`, named by the blob's file and hash.
	assert_eq!(g["storage"].as_object().unwrap().len(), 23);
	let code = &g["storage"]["0x3a636f6465"];
	assert_eq!(code["length"].as_u64().unwrap() as usize, artifacts::wasm_blob().len(), ":code is the blob");
}

/// fee = 125_000_000 + 1_000_000 x len + call weight + tip, and query_info agrees.
#[test]
fn fees_follow_the_spec_formula() {
	let v = artifacts::signed_blocks_vector();
	let mut ext = artifacts::genesis_ext();
	let mut checked = 0;
	for block in v["blocks"].as_array().unwrap() {
		for x in block["extrinsics"].as_array().unwrap() {
			if x["signer"].is_null() {
				continue;
			}
			let len = x["length"].as_u64().unwrap() as u128;
			let w = x["call_weight"]["ref_time"].as_u64().unwrap() as u128;
			let tip: u128 = x["extension"]["tip"].as_str().unwrap().parse().unwrap();
			let fee: u128 = x["fee"]["actual_fee"].as_str().unwrap().parse().unwrap();
			assert_eq!(fee, 125_000_000 + 1_000_000 * len + w + tip, "{}", x["label"]);
			let xt =
				UncheckedExtrinsic::decode(&mut &unhex(x["extrinsic_hex"].as_str().unwrap())[..]).unwrap();
			let info = ext.execute_with(|| TransactionPayment::query_info(xt, len as u32));
			assert_eq!(info.partial_fee, fee - tip);
			assert_eq!(info.weight.ref_time() as u128, w);
			checked += 1;
		}
		// Block events: each signed extrinsic burns exactly its fee.
		let burned: u128 = block["events"]
			.as_array()
			.unwrap()
			.iter()
			.filter(|e| e["name"] == "BurnedDebt")
			.map(|e| {
				let d = e["debug"].as_str().unwrap();
				d.split("amount: ")
					.nth(1)
					.unwrap()
					.trim_end_matches(|c: char| !c.is_ascii_digit())
					.parse::<u128>()
					.unwrap()
			})
			.sum();
		let fees: u128 = block["extrinsics"]
			.as_array()
			.unwrap()
			.iter()
			.filter(|x| !x["fee"].is_null())
			.map(|x| x["fee"]["actual_fee"].as_str().unwrap().parse::<u128>().unwrap())
			.sum();
		assert_eq!(burned, fees);
	}
	assert_eq!(checked, 8);
}

/// In every dispatch vector, money is conserved: the sum of the named balances never
/// changes (no fees in direct dispatch) and every step's storage root is recorded.
#[test]
fn dispatch_vectors_conserve_money() {
	for (name, doc) in artifacts::vectors() {
		if doc["kind"] != "dispatch" {
			continue;
		}
		let total = |step: &Value| -> u128 {
			step["balances"]
				.as_object()
				.unwrap()
				.values()
				.map(|b| b["free"].as_str().unwrap().parse::<u128>().unwrap())
				.sum()
		};
		let steps = doc["steps"].as_array().unwrap();
		let first = total(&steps[0]);
		assert_eq!(first, 6 * (1u128 << 60), "{name}");
		for s in steps {
			assert_eq!(total(s), first, "{name}: step {}", s["label"]);
			assert_eq!(s["storage_root"].as_str().unwrap().len(), 66);
		}
	}
}

/// The runtime API vector answers like the runtime: version, nonces, fee queries.
#[test]
fn runtime_api_vector_is_consistent() {
	let v = artifacts::runtime_api_vector();
	let call = |m: &str, what_prefix: &str| -> Vec<u8> {
		let c = v["calls"]
			.as_array()
			.unwrap()
			.iter()
			.find(|c| c["method"] == m && c["what"].as_str().unwrap().starts_with(what_prefix))
			.unwrap_or_else(|| panic!("{m} recorded"));
		unhex(c["output_hex"].as_str().unwrap())
	};
	let version = sp_version::RuntimeVersion::decode(&mut &call("Core_version", "")[..]).unwrap();
	assert_eq!(version, decentralml_runtime::VERSION);
	assert_eq!(u32::decode(&mut &call("AccountNonceApi_account_nonce", "alice_ed25519")[..]).unwrap(), 2);
	let info = pallet_transaction_payment::RuntimeDispatchInfo::<u128>::decode(
		&mut &call("TransactionPaymentApi_query_info", "zero-signature")[..],
	)
	.unwrap();
	assert_eq!(info.weight.ref_time(), 120_000_000);
	let zero_sig_len = {
		let c = v["calls"]
			.as_array()
			.unwrap()
			.iter()
			.find(|c| c["what"].as_str().unwrap().starts_with("zero-signature"))
			.unwrap();
		(unhex(c["input_hex"].as_str().unwrap()).len() - 4) as u128
	};
	assert_eq!(info.partial_fee, 125_000_000 + 1_000_000 * zero_sig_len + 120_000_000);
	assert_eq!(call("Metadata_metadata_at_version", "Option<OpaqueMetadata> for 16"), vec![0u8]);
}

#[test]
fn decentralml_proof_sizes_are_those_of_the_runtime_storage() {
	use pallet_decentralml::weights::*;
	assert_eq!(
		proof_sizes::<Runtime>(),
		[
			CREATE_TASK_PROOF,
			ASSIGN_TASK_PROOF,
			PROOF_PER_SUBMISSION,
			SEND_TASK_RESULT_PROOF,
			VALIDATE_TASK_RESULT_PROOF,
			REJECT_TASK_RESULT_PROOF,
			CLOSE_TASK_PROOF,
		],
		"weights.rs proof sizes must follow the storage items' MaxEncodedLen"
	);
}

#[test]
fn chain_spec_genesis_is_the_recorded_genesis() {
	let spec = artifacts::chain_spec_raw_json();
	let genesis = artifacts::genesis_json();
	let top = spec["genesis"]["raw"]["top"].as_object().expect("raw top");
	let pairs: Vec<(Vec<u8>, Vec<u8>)> =
		top.iter().map(|(k, v)| (unhex(k), unhex(v.as_str().expect("hex value")))).collect();
	let code = pairs.iter().find(|(k, _)| k == b":code").expect(":code in the chain spec");
	assert_eq!(code.1, artifacts::wasm_blob(), ":code is the runtime blob");
	assert_eq!(pairs.len(), genesis["storage"].as_object().unwrap().len());
	let root = <sp_runtime::traits::BlakeTwo256 as sp_runtime::traits::Hash>::trie_root(pairs, StateVersion::V1);
	assert_eq!(format!("0x{}", hex::encode(root)), genesis["state_root"].as_str().unwrap());
	assert_eq!(spec["properties"]["ss58Format"], 42);
	assert_eq!(spec["properties"]["tokenDecimals"], 12);
	assert_eq!(spec["chainType"], "Development");
}

#[test]
fn wasm_blob_is_a_compressed_webassembly_module() {
	// The blob built by build.rs, or the committed one under SKIP_WASM_BUILD.
	let blob = artifacts::wasm_blob();
	let code = sp_maybe_compressed_blob::decompress(&blob, 50 * 1024 * 1024).expect("zstd blob");
	assert_eq!(&code[..4], b"\0asm", "a WebAssembly module");
}
