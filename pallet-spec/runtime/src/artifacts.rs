//! Generated artifacts: metadata (V14, V15), runtime version JSON, genesis storage and
//! the conformance vectors. `generate_all` returns every file (path relative to
//! `pallet-spec/`) with its exact bytes; the `generate-artifacts` binary writes them and
//! the `artifacts_current` test fails when the committed files differ.

use crate::{
	genesis, AccountId, Balance, BlockNumber, Executive, Header, Runtime, RuntimeCall, RuntimeEvent,
	RuntimeOrigin, SignedPayload, System, TxExtension, UncheckedExtrinsic, VERSION,
};
use codec::Encode;
use frame_support::{dispatch::GetDispatchInfo, traits::UnfilteredDispatchable};
use pallet_decentralml::{AssetRef, Call as DmlCall, StorageType, TaskAssets, TaskType, ValidationStrategy};
use serde_json::{json, Map, Value};
use sp_core::{crypto::Ss58Codec, Pair, H256};
use sp_io::hashing::{blake2_256, sha2_256, twox_128};
use sp_keyring::Ed25519Keyring;
use sp_runtime::{
	generic::Era,
	traits::{BlakeTwo256, Hash as HashT, Header as HeaderT},
	BuildStorage, DispatchError, MultiAddress, MultiSignature, StateVersion,
};
use sp_core::storage::well_known_keys::CODE;
use std::collections::BTreeMap;

/// Milliseconds timestamp of block 0 in the vectors (2025-11-21T00:00:00Z).
pub const VECTOR_GENESIS_TIME_MS: u64 = 1_763_683_200_000;

fn hex0x(b: &[u8]) -> String {
	format!("0x{}", hex::encode(b))
}

/// The opaque metadata bytes (starting with the magic `meta` and the version byte).
pub fn metadata_bytes(version: u32) -> Vec<u8> {
	let opaque = Runtime::metadata_at_version(version).expect("metadata version is supported");
	opaque.to_vec()
}

/// The JSON a node returns for `state_getRuntimeVersion`.
pub fn runtime_version_json() -> Value {
	serde_json::to_value(&VERSION).expect("runtime version serializes")
}

/// The runtime's WebAssembly blob as a node stores it under `:code`: compact and
/// zstd-compressed (`sp_maybe_compressed_blob`), committed at this path.
pub const WASM_FILE: &str = "metadata/decentralml_runtime.compact.compressed.wasm";

/// The blob built by `build.rs` (`WASM_BINARY`); with `SKIP_WASM_BUILD` the committed one.
pub fn wasm_blob() -> Vec<u8> {
	match crate::WASM_BINARY {
		Some(blob) => blob.to_vec(),
		None => std::fs::read(spec_dir().join(WASM_FILE)).unwrap_or_else(|e| {
			panic!("no WASM_BINARY was built (SKIP_WASM_BUILD is set) and the committed {WASM_FILE} is unreadable: {e}")
		}),
	}
}

/// The development genesis storage: the development preset and `:code`, as a node's
/// chain spec builder makes it.
pub fn genesis_storage() -> sp_core::storage::Storage {
	let mut storage = genesis::development_config().build_storage().expect("genesis builds");
	storage.top.insert(CODE.to_vec(), wasm_blob());
	storage
}

/// Trie root (state version 1) of a key/value set.
fn state_root_of(pairs: &BTreeMap<Vec<u8>, Vec<u8>>) -> H256 {
	BlakeTwo256::trie_root(pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect(), StateVersion::V1)
}

/// Genesis header: number 0, zero parent, the genesis state root, the empty extrinsics root.
pub fn genesis_header() -> Header {
	let storage = genesis_storage();
	let top: BTreeMap<Vec<u8>, Vec<u8>> = storage.top.into_iter().collect();
	let state_root = state_root_of(&top);
	let extrinsics_root = BlakeTwo256::trie_root(Vec::new(), StateVersion::V0);
	Header::new(0, extrinsics_root, state_root, H256::zero(), Default::default())
}

fn header_json(h: &Header) -> Value {
	json!({
		"parent_hash": hex0x(h.parent_hash.as_bytes()),
		"number": h.number,
		"state_root": hex0x(h.state_root.as_bytes()),
		"extrinsics_root": hex0x(h.extrinsics_root.as_bytes()),
		"digest_logs": h.digest.logs.iter().map(|l| hex0x(&l.encode())).collect::<Vec<_>>(),
		"encoded": hex0x(&h.encode()),
		"hash": hex0x(&blake2_256(&h.encode())),
	})
}

/// How the vectors and `genesis.json` name `:code` instead of spelling out its value.
fn code_json(code: &[u8]) -> Value {
	json!({
		"key": hex0x(CODE),
		"file": WASM_FILE.trim_start_matches("metadata/"),
		"length": code.len(),
		"blake2_256": hex0x(&blake2_256(code)),
	})
}

/// `genesis.json`: every genesis storage pair (`:code` named by the blob's file, length and
/// blake2-256), the state root, header and hash.
pub fn genesis_json() -> Value {
	let storage = genesis_storage();
	let top: BTreeMap<Vec<u8>, Vec<u8>> = storage.top.into_iter().collect();
	let header = genesis_header();
	json!({
		"state_version": 1,
		"state_root": hex0x(state_root_of(&top).as_bytes()),
		"header": header_json(&header),
		"genesis_hash": hex0x(&blake2_256(&header.encode())),
		"accounts": genesis::dev_accounts().iter().map(|(n, a)| json!({
			"name": n, "account_id": hex0x(a.as_ref()), "ss58": a.to_ss58check(),
			"free": genesis::DEV_BALANCE.to_string(),
		})).collect::<Vec<_>>(),
		"sudo_key": hex0x(genesis::dev_accounts()[0].1.as_ref()),
		"storage": kv_json(&top),
	})
}

/// The raw chain spec of the development chain: its genesis storage, `:code` included,
/// as `genesis.raw.top`; what `chopsticks --genesis` or a node's `--chain` takes.
pub fn chain_spec_raw_json() -> Value {
	let top: BTreeMap<Vec<u8>, Vec<u8>> = genesis_storage().top.into_iter().collect();
	let raw: Map<String, Value> = top.iter().map(|(k, v)| (hex0x(k), Value::String(hex0x(v)))).collect();
	json!({
		"name": "Development",
		"id": "dev",
		"chainType": "Development",
		"bootNodes": [],
		"telemetryEndpoints": null,
		"protocolId": null,
		"properties": {"ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "UNIT"},
		"codeSubstitutes": {},
		"genesis": {"raw": {"top": raw, "childrenDefault": {}}},
	})
}

/// Externalities holding exactly the development genesis state (trie V1).
/// `TestExternalities` replaces `:code` with an empty value; the blob is put back so that
/// the state (and its root) equals `genesis.json`.
pub fn genesis_ext() -> sp_io::TestExternalities {
	let code = wasm_blob();
	let mut ext = sp_io::TestExternalities::new_with_state_version(genesis_storage(), StateVersion::V1);
	ext.execute_with(|| sp_io::storage::set(CODE, &code));
	ext.commit_all().expect("commit genesis");
	ext
}

// ---------------------------------------------------------------- vector harness

/// Who dispatches a step.
#[derive(Clone)]
pub enum Who {
	/// `RawOrigin::Signed` of a named account.
	Signed(&'static str),
	/// `RawOrigin::None`.
	Unsigned,
}

/// What a step must produce (checked while generating; a mismatch panics).
pub enum Expect {
	/// Dispatch succeeds.
	Ok,
	/// Dispatch fails with this DecentralMLModule error.
	Err(pallet_decentralml::Error<Runtime>),
	/// Dispatch fails with `DispatchError::BadOrigin`.
	BadOrigin,
}

fn storage_dump(prefix: &[u8]) -> BTreeMap<Vec<u8>, Vec<u8>> {
	let mut out = BTreeMap::new();
	if let Some(v) = sp_io::storage::get(prefix) {
		out.insert(prefix.to_vec(), v.to_vec());
	}
	let mut key = prefix.to_vec();
	while let Some(next) = sp_io::storage::next_key(&key) {
		if !next.starts_with(prefix) {
			break;
		}
		let v = sp_io::storage::get(&next).expect("next_key returns existing keys");
		out.insert(next.clone(), v.to_vec());
		key = next;
	}
	out
}

/// A storage dump as JSON. `:code` (the runtime blob, 0.4 MB) is named by its file, length
/// and hash instead of its bytes (`{"0x3a636f6465": {"file", "length", "blake2_256"}}`).
fn kv_json(m: &BTreeMap<Vec<u8>, Vec<u8>>) -> Value {
	Value::Object(
		m.iter()
			.map(|(k, v)| {
				let value = if k == CODE { code_json(v) } else { Value::String(hex0x(v)) };
				(hex0x(k), value)
			})
			.collect(),
	)
}

fn event_json(rec: &frame_system::EventRecord<RuntimeEvent, H256>) -> Value {
	let debug = format!("{:?}", rec.event);
	let pallet = debug.split('(').next().unwrap_or_default().to_string();
	let name = debug[pallet.len() + 1..]
		.trim_start_matches("Event::")
		.split(|c: char| !c.is_alphanumeric() && c != '_')
		.next()
		.unwrap_or_default()
		.to_string();
	let phase = match rec.phase {
		frame_system::Phase::ApplyExtrinsic(i) => json!({"ApplyExtrinsic": i}),
		frame_system::Phase::Finalization => json!("Finalization"),
		frame_system::Phase::Initialization => json!("Initialization"),
	};
	json!({
		"phase": phase,
		"pallet": pallet,
		"name": name,
		"event_hex": hex0x(&rec.event.encode()),
		"debug": debug,
	})
}

fn dispatch_error_json(e: &DispatchError) -> Value {
	let mut v = json!({ "dispatch_error_hex": hex0x(&e.encode()) });
	match e {
		DispatchError::Module(m) => {
			v["module"] = json!({
				"index": m.index,
				"error": hex0x(&m.error),
				"error_index": m.error[0],
				"name": m.message.unwrap_or_default(),
			});
		}
		other => v["kind"] = json!(format!("{:?}", other)),
	}
	v
}

fn balances_json(accounts: &BTreeMap<String, (AccountId, String)>) -> Value {
	Value::Object(
		accounts
			.iter()
			.map(|(n, (a, _))| {
				let info = frame_system::Account::<Runtime>::get(a);
				(
					n.clone(),
					json!({
						"free": info.data.free.to_string(),
						"reserved": info.data.reserved.to_string(),
						"frozen": info.data.frozen.to_string(),
						"nonce": info.nonce,
						"providers": info.providers,
						"consumers": info.consumers,
					}),
				)
			})
			.collect(),
	)
}

/// One scenario being recorded.
pub struct Recorder {
	ext: sp_io::TestExternalities,
	accounts: BTreeMap<String, (AccountId, String)>,
	prev_state: BTreeMap<Vec<u8>, Vec<u8>>,
	steps: Vec<Value>,
	tasks_created: u64,
}

/// `twox128("System") ++ twox128("Events")`.
fn events_key() -> Vec<u8> {
	[twox_128(b"System"), twox_128(b"Events")].concat()
}

fn pallet_prefix() -> Vec<u8> {
	twox_128(b"DecentralMLModule").to_vec()
}

impl Recorder {
	/// A fresh development genesis with the named dev accounts.
	pub fn new() -> Self {
		let ext = genesis_ext();
		let mut accounts = BTreeMap::new();
		for (n, a) in genesis::dev_accounts() {
			let cap = format!("sr25519 //{}{}", n[..1].to_uppercase(), &n[1..]);
			accounts.insert(n.to_string(), (a, cap));
		}
		let mut r = Recorder { ext, accounts, prev_state: BTreeMap::new(), steps: vec![], tasks_created: 0 };
		r.prev_state = r.ext.execute_with(|| storage_dump(&[]));
		r
	}

	fn account(&self, name: &str) -> AccountId {
		self.accounts.get(name).unwrap_or_else(|| panic!("unknown account {name}")).0.clone()
	}

	fn add_escrow(&mut self, task_id: u64) {
		let a = pallet_decentralml::Pallet::<Runtime>::escrow_account(task_id);
		self.accounts.insert(
			format!("escrow:{task_id}"),
			(a, format!("escrow account of task {task_id} (PalletId b\"decentml\" sub-account)")),
		);
	}

	fn accounts_json(&self) -> Value {
		Value::Object(
			self.accounts
				.iter()
				.map(|(n, (a, what))| {
					(
						n.clone(),
						json!({"account_id": hex0x(a.as_ref()), "ss58": a.to_ss58check(), "what": what}),
					)
				})
				.collect(),
		)
	}

	/// Dispatch `call` directly (no extrinsic, no fee) in block `block`, check the outcome
	/// against `expect`, and record the step.
	pub fn step(
		&mut self,
		label: &str,
		block: BlockNumber,
		who: Who,
		call: DmlCall<Runtime>,
		expect: Expect,
	) {
		let call = RuntimeCall::DecentralMLModule(call);
		let origin_json = match &who {
			Who::Signed(n) => json!({"signed": n}),
			Who::Unsigned => json!("none"),
		};
		let origin = match &who {
			Who::Signed(n) => RuntimeOrigin::signed(self.account(n)),
			Who::Unsigned => RuntimeOrigin::none(),
		};
		let timestamp = VECTOR_GENESIS_TIME_MS + 6_000 * block as u64;
		let is_create = matches!(call, RuntimeCall::DecentralMLModule(DmlCall::create_task { .. }));
		let weight = call.get_dispatch_info().call_weight;
		let next_task = self.ext.execute_with(|| pallet_decentralml::NextTaskId::<Runtime>::get());
		if is_create {
			self.add_escrow(next_task);
		}
		let result = self.ext.execute_with(|| {
			System::reset_events();
			System::set_block_number(block);
			pallet_timestamp::Now::<Runtime>::put(timestamp);
			System::note_finished_initialize();
			call.clone().dispatch_bypass_filter(origin).map(|_| ()).map_err(|e| e.error)
		});
		match (&expect, &result) {
			(Expect::Ok, Ok(())) => {}
			(Expect::Err(want), Err(got)) => {
				let want: DispatchError = DispatchError::from(clone_error(want));
				assert_eq!(strip(&want), strip(got), "step {label}: wrong error");
			}
			(Expect::BadOrigin, Err(DispatchError::BadOrigin)) => {}
			(_, got) => panic!("step {label}: unexpected outcome {got:?}"),
		}
		if is_create && result.is_ok() {
			self.tasks_created += 1;
		} else if is_create {
			self.accounts.remove(&format!("escrow:{next_task}"));
		}
		let accounts = &self.accounts;
		let prev_state = &mut self.prev_state;
		let step = self.ext.execute_with(|| {
			let state = storage_dump(&[]);
			let mut changes = Map::new();
			for (k, v) in &state {
				if prev_state.get(k) != Some(v) {
					changes.insert(hex0x(k), Value::String(hex0x(v)));
				}
			}
			for k in prev_state.keys() {
				if !state.contains_key(k) {
					changes.insert(hex0x(k), Value::Null);
				}
			}
			let events_key = events_key();
			let events_raw = sp_io::storage::get(&events_key).map(|b| b.to_vec()).unwrap_or_default();
			let events: Vec<Value> = System::read_events_no_consensus().map(|e| event_json(&e)).collect();
			let root = sp_io::storage::root(StateVersion::V1);
			let prefix = pallet_prefix();
			let pallet_state: BTreeMap<_, _> = state
				.iter()
				.filter(|(k, _)| k.starts_with(&prefix))
				.map(|(k, v)| (k.clone(), v.clone()))
				.collect();
			*prev_state = state;
			json!({
				"label": label,
				"block_number": block,
				"timestamp": timestamp,
				"origin": origin_json,
				"call": {
					"pallet": "DecentralMLModule",
					"name": call_name(&call),
					"call_hex": hex0x(&call.encode()),
					"debug": format!("{:?}", call),
				},
				"weight": {"ref_time": weight.ref_time(), "proof_size": weight.proof_size()},
				"result": match &result {
					Ok(()) => json!({"ok": true}),
					Err(e) => { let mut v = dispatch_error_json(e); v["ok"] = json!(false); v },
				},
				"events_raw": hex0x(&events_raw),
				"events": events,
				"balances": balances_json(accounts),
				"pallet_storage": kv_json(&pallet_state),
				"changes": Value::Object(changes),
				"storage_root": hex0x(&root),
			})
		});
		let mut step = step;
		step["index"] = json!(self.steps.len());
		self.steps.push(step);
	}

	/// The finished scenario document.
	pub fn finish(self, name: &str, description: &str) -> Value {
		json!({
			"format": "decentralml-vectors/1",
			"kind": "dispatch",
			"name": name,
			"description": description,
			"runtime": {"spec_name": "decentralml", "spec_version": VERSION.spec_version, "transaction_version": VERSION.transaction_version},
			"context": "Each step starts from the state left by the previous one (the first from the development genesis). Before dispatch: System::reset_events() (removes System.Events, System.EventCount, System.EventTopics), System.Number := block_number, Timestamp.Now := timestamp, System.ExecutionPhase := ApplyExtrinsic(0). The call is dispatched directly with the given origin (no extrinsic, no fee, no nonce); a failed dispatch reverts every storage change of the call.",
			"accounts": self.accounts_json(),
			"genesis_state_root": hex0x(genesis_header().state_root.as_bytes()),
			"steps": self.steps,
		})
	}
}

fn strip(e: &DispatchError) -> DispatchError {
	let mut e = *e;
	if let DispatchError::Module(ref mut m) = e {
		m.message = None;
	}
	e
}

fn clone_error(e: &pallet_decentralml::Error<Runtime>) -> pallet_decentralml::Error<Runtime> {
	use codec::Decode;
	pallet_decentralml::Error::<Runtime>::decode(&mut &e.encode()[..]).expect("error round-trips")
}

fn call_name(call: &RuntimeCall) -> String {
	let d = format!("{:?}", call);
	let inner = d.splitn(2, '(').nth(1).unwrap_or_default().trim_start_matches("Call::");
	inner.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or_default().to_string()
}

// ---------------------------------------------------------------- call builders

/// An asset reference whose digest is the SHA-256 of `uri` (stand-in content).
pub fn asset(storage: StorageType, uri: &str) -> AssetRef<Runtime> {
	AssetRef {
		storage,
		uri: uri.as_bytes().to_vec().try_into().expect("uri within bound"),
		digest: sha2_256(uri.as_bytes()),
	}
}

/// Contributor assets for `TaskType::ModelContributor`.
pub fn contributor_assets(with_base: bool) -> TaskAssets<Runtime> {
	TaskAssets::ModelContributor {
		contributor_bundle: asset(
			StorageType::IPFS,
			"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
		),
		base_model: with_base.then(|| asset(StorageType::S3, "s3://decentralml/models/base.safetensors")),
	}
}

/// Parameters of a `create_task` call.
pub struct Create {
	pub task_type: TaskType,
	pub question: &'static str,
	pub pays: Balance,
	pub max: u32,
	pub strategy: ValidationStrategy,
	pub expiration: BlockNumber,
	pub deadline: BlockNumber,
	pub assets: TaskAssets<Runtime>,
}

impl Create {
	/// A valid ModelContributor task: reward 1 UNIT, `max` slots, expiry 100, deadline 10.
	pub fn contributor(max: u32, strategy: ValidationStrategy) -> Self {
		Create {
			task_type: TaskType::ModelContributor,
			question: "Train the MNIST classifier on your own data for 3 epochs",
			pays: crate::UNIT,
			max,
			strategy,
			expiration: 100,
			deadline: 10,
			assets: contributor_assets(true),
		}
	}

	/// The call.
	pub fn call(self) -> DmlCall<Runtime> {
		DmlCall::create_task {
			task_type: self.task_type,
			question: self.question.as_bytes().to_vec().try_into().expect("question within bound"),
			pays_amount: self.pays,
			max_assignments: self.max,
			validation_strategy: self.strategy,
			expiration_block: self.expiration,
			assignment_deadline: self.deadline,
			assets: self.assets,
		}
	}
}

/// `assign_task(task_id)`.
pub fn assign(task_id: u64) -> DmlCall<Runtime> {
	DmlCall::assign_task { task_id }
}

/// `send_task_result` with a result on IPFS, a metrics JSON and a lineage digest.
pub fn send(submission_id: u64) -> DmlCall<Runtime> {
	let uri = format!("bafkreiresult{submission_id:04}");
	DmlCall::send_task_result {
		submission_id,
		result: asset(StorageType::IPFS, &uri),
		inline_result: Some(br#"{"accuracy":0.91,"samples":1200}"#.to_vec().try_into().expect("bounded")),
		lineage_digest: Some(blake2_256(uri.as_bytes())),
	}
}

/// `validate_task_result`.
pub fn validate(submission_id: u64, passed: bool, score: u32) -> DmlCall<Runtime> {
	DmlCall::validate_task_result { submission_id, passed, score }
}

/// `accept_task_result`.
pub fn accept(submission_id: u64) -> DmlCall<Runtime> {
	DmlCall::accept_task_result { submission_id }
}

/// `reject_task_result`.
pub fn reject(submission_id: u64) -> DmlCall<Runtime> {
	DmlCall::reject_task_result { submission_id }
}

/// `close_task`.
pub fn close(task_id: u64) -> DmlCall<Runtime> {
	DmlCall::close_task { task_id }
}

// ---------------------------------------------------------------- signed blocks

fn ed_account(k: Ed25519Keyring) -> AccountId {
	AccountId::from(k.public().0)
}

fn tx_extension(nonce: u32, era: Era, tip: Balance) -> TxExtension {
	(
		frame_system::CheckNonZeroSender::<Runtime>::new(),
		frame_system::CheckSpecVersion::<Runtime>::new(),
		frame_system::CheckTxVersion::<Runtime>::new(),
		frame_system::CheckGenesis::<Runtime>::new(),
		frame_system::CheckEra::<Runtime>::from(era),
		frame_system::CheckNonce::<Runtime>::from(nonce),
		frame_system::CheckWeight::<Runtime>::new(),
		pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(tip),
	)
}

/// Sign `call` with an ed25519 dev key (deterministic signatures). Must run inside the
/// block's externalities (the payload's implicit part reads the genesis/era block hash).
fn sign(
	k: Ed25519Keyring,
	call: RuntimeCall,
	nonce: u32,
	era: Era,
	tip: Balance,
) -> (UncheckedExtrinsic, Vec<u8>) {
	let ext = tx_extension(nonce, era, tip);
	let payload = SignedPayload::new(call.clone(), ext.clone()).expect("implicit data available");
	let payload_bytes = payload.encode();
	let sig = payload.using_encoded(|p| k.pair().sign(p));
	let xt = UncheckedExtrinsic::new_signed(
		call,
		MultiAddress::Id(ed_account(k)),
		MultiSignature::Ed25519(sig),
		ext,
	);
	(xt, payload_bytes)
}

struct BlockTx {
	label: &'static str,
	signer: Option<Ed25519Keyring>,
	call: RuntimeCall,
	nonce: u32,
	era: Option<(u64, u64)>,
	tip: Balance,
	expect_ok: bool,
}

fn run_block(rec: &mut Recorder, parent: &Header, number: BlockNumber, txs: Vec<BlockTx>) -> (Value, Header) {
	let parent_hash = H256::from(blake2_256(&parent.encode()));
	let timestamp = VECTOR_GENESIS_TIME_MS + 6_000 * number as u64;
	let accounts = &rec.accounts;
	let prev_state = &mut rec.prev_state;
	let (value, header) = rec.ext.execute_with(|| {
		let header_in = Header::new(number, H256::zero(), H256::zero(), parent_hash, Default::default());
		Executive::initialize_block(&header_in);
		let mut xts = vec![];
		// As a node's block builder makes it: `InherentBuilder::new_inherent` = `new_bare`,
		// extrinsic format v5 (byte 0x05).
		let inherent = <UncheckedExtrinsic as frame_support::traits::InherentBuilder>::new_inherent(
			RuntimeCall::Timestamp(pallet_timestamp::Call::set { now: timestamp }),
		);
		let mut all: Vec<(String, Option<String>, UncheckedExtrinsic, Option<Vec<u8>>, bool, Value)> =
			vec![("timestamp inherent".into(), None, inherent, None, true, Value::Null)];
		for tx in txs {
			let era = match tx.era {
				None => Era::Immortal,
				Some((period, current)) => Era::mortal(period, current),
			};
			let signer = tx.signer.expect("signed tx");
			let (xt, payload) = sign(signer, tx.call, tx.nonce, era, tx.tip);
			let era_json = match tx.era {
				None => json!("immortal"),
				Some((p, c)) => json!({"period": p, "current": c, "encoded": hex0x(&era.encode())}),
			};
			all.push((
				tx.label.into(),
				Some(format!("ed25519 //{:?}", signer)),
				xt,
				Some(payload),
				tx.expect_ok,
				json!({"nonce": tx.nonce, "tip": tx.tip.to_string(), "era": era_json}),
			));
		}
		for (i, (label, signer, xt, payload, expect_ok, meta)) in all.into_iter().enumerate() {
			let encoded = xt.encode();
			let len = encoded.len() as u32;
			let info = xt.function.get_dispatch_info();
			let res = Executive::apply_extrinsic(xt.clone());
			let inner = res.clone().expect("extrinsic is valid");
			assert_eq!(inner.is_ok(), expect_ok, "extrinsic {label}: {inner:?}");
			let mut fee = Value::Null;
			for e in System::read_events_no_consensus() {
				if e.phase == frame_system::Phase::ApplyExtrinsic(i as u32) {
					if let RuntimeEvent::TransactionPayment(
						pallet_transaction_payment::Event::TransactionFeePaid { actual_fee, tip, .. },
					) = e.event
					{
						fee = json!({"actual_fee": actual_fee.to_string(), "tip": tip.to_string()});
					}
				}
			}
			xts.push(json!({
				"index": i,
				"label": label,
				"signer": signer,
				"extrinsic_hex": hex0x(&encoded),
				"extrinsic_hash": hex0x(&blake2_256(&encoded)),
				"length": len,
				"call_hex": hex0x(&xt.function.encode()),
				"call_debug": format!("{:?}", xt.function),
				"signed_payload_hex": payload.map(|p| hex0x(&p)),
				"extension": meta,
				"call_weight": {"ref_time": info.call_weight.ref_time(), "proof_size": info.call_weight.proof_size()},
				"class": format!("{:?}", info.class),
				"pays_fee": format!("{:?}", info.pays_fee),
				"apply_result_hex": hex0x(&res.encode()),
				"dispatch_ok": inner.is_ok(),
				"dispatch_error": inner.err().map(|e| dispatch_error_json(&e)),
				"fee": fee,
			}));
		}
		let header = Executive::finalize_block();
		let events_key = events_key();
		let events_raw = sp_io::storage::get(&events_key).map(|b| b.to_vec()).unwrap_or_default();
		let events: Vec<Value> = System::read_events_no_consensus().map(|e| event_json(&e)).collect();
		let state = storage_dump(&[]);
		let root = sp_io::storage::root(StateVersion::V1);
		assert_eq!(&root[..], header.state_root.as_bytes(), "header carries the state root");
		let v = json!({
			"number": number,
			"timestamp": timestamp,
			"parent_hash": hex0x(parent_hash.as_bytes()),
			"extrinsics": xts,
			"events_raw": hex0x(&events_raw),
			"events": events,
			"balances": balances_json(accounts),
			"header": header_json(&header),
			"state": kv_json(&state),
			"storage_root": hex0x(&root),
		});
		*prev_state = state;
		(v, header)
	});
	(value, header)
}

/// The signed-block vector: ed25519-signed extrinsics applied through `Executive`.
/// Development genesis plus the funding of `alice_ed25519` and `bob_ed25519` at block 0
/// (see the `setup` section of `signed_blocks.json`). Returns the recorder and the amount.
fn funded_recorder() -> (Recorder, Balance) {
	let mut rec = Recorder::new();
	let alice_ed = ed_account(Ed25519Keyring::Alice);
	let bob_ed = ed_account(Ed25519Keyring::Bob);
	rec.accounts.insert("alice_ed25519".into(), (alice_ed.clone(), "ed25519 //Alice".into()));
	rec.accounts.insert("bob_ed25519".into(), (bob_ed.clone(), "ed25519 //Bob".into()));
	rec.add_escrow(0);
	let fund = 1_000 * crate::UNIT;
	// Setup at block 0 (no events are recorded at block 0): fund the ed25519 accounts.
	let funders = [(rec.account("alice"), alice_ed.clone()), (rec.account("bob"), bob_ed.clone())];
	rec.ext.execute_with(|| {
		for (from, to) in funders.iter() {
			pallet_balances::Pallet::<Runtime>::transfer_keep_alive(
				RuntimeOrigin::signed(from.clone()),
				MultiAddress::Id(to.clone()),
				fund,
			)
			.expect("funding transfer");
		}
	});
	rec.prev_state = rec.ext.execute_with(|| storage_dump(&[]));
	(rec, fund)
}

/// The first block of `signed_blocks.json`.
fn block_one(rec: &Recorder) -> Vec<BlockTx> {
	let create =
		RuntimeCall::DecentralMLModule(Create::contributor(1, ValidationStrategy::ManualAccept).call());
	vec![
		BlockTx {
			label: "alice_ed25519 creates task 0",
			signer: Some(Ed25519Keyring::Alice),
			call: create,
			nonce: 0,
			era: None,
			tip: 0,
			expect_ok: true,
		},
		BlockTx {
			label: "bob_ed25519 takes a slot of task 0",
			signer: Some(Ed25519Keyring::Bob),
			call: RuntimeCall::DecentralMLModule(assign(0)),
			nonce: 0,
			era: None,
			tip: 0,
			expect_ok: true,
		},
		BlockTx {
			label: "bob_ed25519 sends the result of submission 0",
			signer: Some(Ed25519Keyring::Bob),
			call: RuntimeCall::DecentralMLModule(send(0)),
			nonce: 1,
			era: None,
			tip: 0,
			expect_ok: true,
		},
		BlockTx {
			label: "bob_ed25519 tries to accept (fails NotTaskCreator, still pays the fee)",
			signer: Some(Ed25519Keyring::Bob),
			call: RuntimeCall::DecentralMLModule(accept(0)),
			nonce: 2,
			era: None,
			tip: 0,
			expect_ok: false,
		},
		BlockTx {
			label: "alice_ed25519 transfers 5 UNIT to charlie with a tip",
			signer: Some(Ed25519Keyring::Alice),
			call: RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
				dest: MultiAddress::Id(rec.account("charlie")),
				value: 5 * crate::UNIT,
			}),
			nonce: 1,
			era: None,
			tip: 1_000_000,
			expect_ok: true,
		},
	]
}

/// The signed-block vector: ed25519-signed extrinsics applied through `Executive`.
pub fn signed_blocks_vector() -> Value {
	let (mut rec, fund) = funded_recorder();
	let alice_ed = ed_account(Ed25519Keyring::Alice);
	let setup_state = rec.prev_state.clone();
	let setup_root = state_root_of(&setup_state);
	let genesis = genesis_header();
	let block1 = block_one(&rec);
	let (b1, h1) = run_block(&mut rec, &genesis, 1, block1);
	let block2 = vec![
		BlockTx { label: "alice_ed25519 validates submission 0 (mortal era, birth block 1)", signer: Some(Ed25519Keyring::Alice), call: RuntimeCall::DecentralMLModule(validate(0, true, 9_100)), nonce: 2, era: Some((64, 1)), tip: 0, expect_ok: true },
		BlockTx { label: "alice_ed25519 accepts submission 0: reward paid, task completed, escrow reaped", signer: Some(Ed25519Keyring::Alice), call: RuntimeCall::DecentralMLModule(accept(0)), nonce: 3, era: None, tip: 0, expect_ok: true },
		BlockTx { label: "bob_ed25519 sends everything but the existential deposit... to alice (transfer_allow_death of 1 UNIT)", signer: Some(Ed25519Keyring::Bob), call: RuntimeCall::Balances(pallet_balances::Call::transfer_allow_death { dest: MultiAddress::Id(alice_ed.clone()), value: crate::UNIT }), nonce: 3, era: None, tip: 0, expect_ok: true },
	];
	let (b2, _h2) = run_block(&mut rec, &h1, 2, block2);
	json!({
		"format": "decentralml-vectors/1",
		"kind": "blocks",
		"name": "signed_blocks",
		"description": "Two blocks of ed25519-signed extrinsics (deterministic signatures) applied through frame_executive::Executive: timestamp inherent first (bare, format v5 byte 0x05, as a node's block builder makes it), then signed v4 extrinsics with the full transaction extension list; fees withdrawn and burned.",
		"runtime": {"spec_name": "decentralml", "spec_version": VERSION.spec_version, "transaction_version": VERSION.transaction_version},
		"accounts": rec.accounts_json(),
		"genesis_hash": hex0x(&blake2_256(&genesis.encode())),
		"setup": {
			"description": "Starting from the development genesis, at block number 0 (so no events are deposited), alice (sr25519) and bob (sr25519) each call Balances.transfer_keep_alive of 1000 UNIT to alice_ed25519 and bob_ed25519 respectively. Block 1's parent is the real genesis header; its parent hash is the genesis hash that CheckGenesis signs.",
			"transfer_amount": fund.to_string(),
			"state": kv_json(&setup_state),
			"storage_root": hex0x(setup_root.as_bytes()),
		},
		"blocks": [b1, b2],
	})
}

/// A block of Sudo extrinsics signed by `alice_ed25519`, made sudo key in the setup.
pub fn sudo_block_vector() -> Value {
	let (mut rec, fund) = funded_recorder();
	let alice_ed = ed_account(Ed25519Keyring::Alice);
	let bob_ed = ed_account(Ed25519Keyring::Bob);
	let alice_sr = rec.account("alice");
	rec.ext.execute_with(|| {
		pallet_sudo::Pallet::<Runtime>::set_key(
			RuntimeOrigin::signed(alice_sr.clone()),
			MultiAddress::Id(alice_ed.clone()),
		)
		.expect("setup: alice (sr25519) hands the sudo key to alice_ed25519");
	});
	rec.prev_state = rec.ext.execute_with(|| storage_dump(&[]));
	let setup_state = rec.prev_state.clone();
	let setup_root = state_root_of(&setup_state);
	rec.add_escrow(0);
	let dave = rec.account("dave");
	let sudo = |call: RuntimeCall| RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(call) });
	let create =
		RuntimeCall::DecentralMLModule(Create::contributor(1, ValidationStrategy::AutoAccept).call());
	let txs = vec![
		BlockTx { label: "sudo(Balances.force_set_balance(dave, 5 UNIT)): Pays::No, the fee is refunded", signer: Some(Ed25519Keyring::Alice), call: sudo(RuntimeCall::Balances(pallet_balances::Call::force_set_balance { who: MultiAddress::Id(dave.clone()), new_free: 5 * crate::UNIT })), nonce: 0, era: None, tip: 0, expect_ok: true },
		BlockTx { label: "sudo(System.remark_with_event): Root origin is not Signed, Sudid carries BadOrigin; the extrinsic succeeds", signer: Some(Ed25519Keyring::Alice), call: sudo(RuntimeCall::System(frame_system::Call::remark_with_event { remark: b"decentralml".to_vec() })), nonce: 1, era: None, tip: 0, expect_ok: true },
		BlockTx { label: "sudo(System.remark(\"hi\")): Sudid Ok", signer: Some(Ed25519Keyring::Alice), call: sudo(RuntimeCall::System(frame_system::Call::remark { remark: b"hi".to_vec() })), nonce: 2, era: None, tip: 0, expect_ok: true },
		BlockTx { label: "bob_ed25519 is not the sudo key: RequireSudo, fee paid", signer: Some(Ed25519Keyring::Bob), call: sudo(RuntimeCall::System(frame_system::Call::remark { remark: vec![] })), nonce: 0, era: None, tip: 0, expect_ok: false },
		BlockTx { label: "sudo_as(bob_ed25519, DecentralML.create_task): the task is created by bob_ed25519", signer: Some(Ed25519Keyring::Alice), call: RuntimeCall::Sudo(pallet_sudo::Call::sudo_as { who: MultiAddress::Id(bob_ed.clone()), call: Box::new(create) }), nonce: 3, era: None, tip: 0, expect_ok: true },
		BlockTx { label: "set_key(alice sr25519): the key goes back", signer: Some(Ed25519Keyring::Alice), call: RuntimeCall::Sudo(pallet_sudo::Call::set_key { new: MultiAddress::Id(alice_sr.clone()) }), nonce: 4, era: None, tip: 0, expect_ok: true },
	];
	let genesis = genesis_header();
	let (b1, _h1) = run_block(&mut rec, &genesis, 1, txs);
	json!({
		"format": "decentralml-vectors/1",
		"kind": "blocks",
		"name": "sudo_block",
		"description": "One block of Sudo extrinsics signed by alice_ed25519 (made sudo key in the setup): fee refund for Pays::No, Sudid/SudoAsDone results, RequireSudo, set_key.",
		"runtime": {"spec_name": "decentralml", "spec_version": VERSION.spec_version, "transaction_version": VERSION.transaction_version},
		"accounts": rec.accounts_json(),
		"genesis_hash": hex0x(&blake2_256(&genesis.encode())),
		"setup": {
			"description": "As in signed_blocks.json (development genesis; at block 0 alice and bob (sr25519) transfer_keep_alive 1000 UNIT to alice_ed25519 and bob_ed25519), then at block 0 alice (sr25519) calls Sudo.set_key(alice_ed25519). No events are stored at block 0.",
			"transfer_amount": fund.to_string(),
			"state": kv_json(&setup_state),
			"storage_root": hex0x(setup_root.as_bytes()),
		},
		"blocks": [b1],
	})
}

/// Runtime API calls (`state_call` method, SCALE input, SCALE output) evaluated on the
/// state after block 1 of `signed_blocks` (same setup), each in a discarded transaction.
pub fn runtime_api_vector() -> Value {
	let (mut rec, _fund) = funded_recorder();
	let genesis = genesis_header();
	let block1 = block_one(&rec);
	let (_b1, h1) = run_block(&mut rec, &genesis, 1, block1);
	let best = H256::from(blake2_256(&h1.encode()));
	let alice_ed = ed_account(Ed25519Keyring::Alice);
	let charlie = rec.account("charlie");
	let transfer = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
		dest: MultiAddress::Id(charlie.clone()),
		value: crate::UNIT,
	});
	// What substrate-interface sends to TransactionPaymentApi_query_info: a signed
	// extrinsic whose signature is all zeros (the signature is not checked there).
	let zero_sig = UncheckedExtrinsic::new_signed(
		transfer.clone(),
		MultiAddress::Id(alice_ed.clone()),
		MultiSignature::Ed25519(sp_core::ed25519::Signature::from_raw([0u8; 64])),
		tx_extension(2, Era::Immortal, 0),
	);
	let create =
		RuntimeCall::DecentralMLModule(Create::contributor(2, ValidationStrategy::AutoAccept).call());
	let signed_create = rec.ext.execute_with(|| {
		sp_io::storage::start_transaction();
		System::initialize(&2, &best, &Default::default());
		let xt = sign(Ed25519Keyring::Alice, create.clone(), 2, Era::Immortal, 0).0;
		sp_io::storage::rollback_transaction();
		xt
	});
	let with_len = |xt: &UncheckedExtrinsic| {
		let mut v = xt.encode();
		let len = v.len() as u32;
		v.extend(len.encode());
		v
	};
	let call_with_len = |c: &RuntimeCall| {
		let mut v = c.encode();
		let len = v.len() as u32;
		v.extend(len.encode());
		v
	};
	let mut inherent_data = sp_inherents::InherentData::new();
	inherent_data
		.put_data(sp_timestamp::INHERENT_IDENTIFIER, &(VECTOR_GENESIS_TIME_MS + 12_000))
		.expect("timestamp inherent data");
	let cases: Vec<(&str, &str, Vec<u8>, bool)> = vec![
		("Core_version", "RuntimeVersion", vec![], true),
		("Metadata_metadata_versions", "Vec<u32>", vec![], true),
		(
			"Metadata_metadata_at_version",
			"Option<OpaqueMetadata> for 14 (output abbreviated)",
			14u32.encode(),
			false,
		),
		("Metadata_metadata_at_version", "Option<OpaqueMetadata> for 16: None", 16u32.encode(), true),
		("Metadata_metadata", "OpaqueMetadata (V14, output abbreviated)", vec![], false),
		("AccountNonceApi_account_nonce", "alice_ed25519: u32", alice_ed.encode(), true),
		("AccountNonceApi_account_nonce", "charlie (sr25519, never signed): u32", charlie.encode(), true),
		(
			"TransactionPaymentApi_query_info",
			"zero-signature transfer_keep_alive ‖ u32 len",
			with_len(&zero_sig),
			true,
		),
		("TransactionPaymentApi_query_info", "signed create_task ‖ u32 len", with_len(&signed_create), true),
		(
			"TransactionPaymentApi_query_fee_details",
			"zero-signature transfer_keep_alive ‖ u32 len",
			with_len(&zero_sig),
			true,
		),
		(
			"TransactionPaymentApi_query_weight_to_fee",
			"Weight{ref_time: 1_000_000, proof_size: 0}",
			frame_support::weights::Weight::from_parts(1_000_000, 0).encode(),
			true,
		),
		("TransactionPaymentApi_query_length_to_fee", "u32 100", 100u32.encode(), true),
		(
			"TransactionPaymentCallApi_query_call_info",
			"create_task call ‖ u32 len",
			call_with_len(&create),
			true,
		),
		(
			"TransactionPaymentCallApi_query_call_fee_details",
			"create_task call ‖ u32 len",
			call_with_len(&create),
			true,
		),
		(
			"BlockBuilder_inherent_extrinsics",
			"InherentData{timstap0: now} -> Vec<Extrinsic>",
			inherent_data.encode(),
			true,
		),
		("GenesisBuilder_preset_names", "Vec<String>", vec![], true),
		(
			"GenesisBuilder_get_preset",
			"Some(\"development\") -> Option<Vec<u8>> (JSON)",
			Some(sp_genesis_builder::DEV_RUNTIME_PRESET.to_string()).encode(),
			true,
		),
		(
			"SessionKeys_generate_session_keys",
			"(owner: Vec<u8>, seed: None)",
			(Vec::<u8>::new(), Option::<Vec<u8>>::None).encode(),
			true,
		),
		("SessionKeys_decode_session_keys", "empty keys", Vec::<u8>::new().encode(), true),
	];
	let mut out = vec![];
	for (method, what, input, full) in cases {
		let output = rec.ext.execute_with(|| {
			sp_io::storage::start_transaction();
			let r = crate::api::dispatch(method, &input);
			sp_io::storage::rollback_transaction();
			r
		});
		let output = output.unwrap_or_else(|| panic!("runtime API {method} exists"));
		out.push(json!({
			"method": method,
			"what": what,
			"input_hex": hex0x(&input),
			"output_hex": if full { Value::String(hex0x(&output)) } else { Value::Null },
			"output_len": output.len(),
			"output_blake2_256": hex0x(&blake2_256(&output)),
		}));
	}
	json!({
		"format": "decentralml-vectors/1",
		"kind": "runtime_api",
		"name": "runtime_api",
		"description": "state_call results: each runtime API method is called with input_hex (SCALE of its arguments, concatenated) on the state after block 1 of signed_blocks.json, as a node answers state_call at that block; output_hex is the SCALE result (omitted for the large metadata outputs: compare output_len and output_blake2_256; their content is metadata/metadata_v14.scale wrapped as Option<Vec<u8>> / Vec<u8>).",
		"block_hash": hex0x(best.as_bytes()),
		"storage_root": hex0x(h1.state_root.as_bytes()),
		"accounts": rec.accounts_json(),
		"calls": out,
	})
}

/// `TaggedTransactionQueue_validate_transaction` outcomes after block 1 of `signed_blocks`.
pub fn transaction_validity_vector() -> Value {
	let (mut rec, _fund) = funded_recorder();
	let charlie_ed = ed_account(Ed25519Keyring::Charlie);
	rec.accounts.insert("charlie_ed25519".into(), (charlie_ed, "ed25519 //Charlie (unfunded)".into()));
	let genesis = genesis_header();
	let block1 = block_one(&rec);
	let (_b1, h1) = run_block(&mut rec, &genesis, 1, block1);
	let best = H256::from(blake2_256(&h1.encode()));
	let charlie = rec.account("charlie");
	let transfer = move |value: Balance| {
		RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
			dest: MultiAddress::Id(charlie.clone()),
			value,
		})
	};
	let cases = rec.ext.execute_with(|| {
		// Built in the context validate_transaction creates (block 2 on top of block 1).
		sp_io::storage::start_transaction();
		System::initialize(&2, &best, &Default::default());
		let valid = sign(Ed25519Keyring::Alice, transfer(crate::UNIT), 2, Era::Immortal, 0).0;
		let future = sign(Ed25519Keyring::Alice, transfer(crate::UNIT), 4, Era::Immortal, 0).0;
		let stale = sign(Ed25519Keyring::Alice, transfer(crate::UNIT), 1, Era::Immortal, 0).0;
		let tipped = sign(
			Ed25519Keyring::Bob,
			RuntimeCall::DecentralMLModule(assign(0)),
			3,
			Era::Immortal,
			50_000_000,
		)
		.0;
		let mortal = sign(Ed25519Keyring::Alice, transfer(crate::UNIT), 2, Era::mortal(64, 1), 0).0;
		let mut bad = sign(Ed25519Keyring::Alice, transfer(crate::UNIT), 2, Era::Immortal, 0).0;
		bad.function = transfer(2 * crate::UNIT);
		let poor = sign(Ed25519Keyring::Charlie, transfer(crate::UNIT), 0, Era::Immortal, 0).0;
		let wrong_genesis = {
			let ext = tx_extension(2, Era::Immortal, 0);
			let call = transfer(crate::UNIT);
			// call ‖ explicit extension data ‖ implicit data with a zero genesis/era hash.
			let mut payload = (call.clone(), ext.clone()).encode();
			payload.extend(
				(VERSION.spec_version, VERSION.transaction_version, H256::zero(), H256::zero()).encode(),
			);
			let sig = Ed25519Keyring::Alice.pair().sign(&payload);
			UncheckedExtrinsic::new_signed(
				call,
				MultiAddress::Id(ed_account(Ed25519Keyring::Alice)),
				MultiSignature::Ed25519(sig),
				ext,
			)
		};
		let bare_call = UncheckedExtrinsic::new_bare_legacy(RuntimeCall::DecentralMLModule(assign(0)));
		let bare_inherent =
			UncheckedExtrinsic::new_bare_legacy(RuntimeCall::Timestamp(pallet_timestamp::Call::set {
				now: VECTOR_GENESIS_TIME_MS + 12_000,
			}));
		sp_io::storage::rollback_transaction();
		vec![
			("valid: alice_ed25519 nonce 2 (current), immortal", "Ok(", valid),
			("valid in the future: nonce 4 requires nonce 3", "Ok(", future),
			("stale nonce 1: Invalid(Stale) 'Transaction is outdated'", "Err(Invalid(Stale))", stale),
			("valid with a tip: bob_ed25519 nonce 3, tip 50_000_000 (higher priority)", "Ok(", tipped),
			("valid mortal: period 64, birth block 1", "Ok(", mortal),
			("bad signature (call changed after signing): Invalid(BadProof)", "Err(Invalid(BadProof))", bad),
			("signed for a wrong genesis hash: Invalid(BadProof)", "Err(Invalid(BadProof))", wrong_genesis),
			("unfunded signer charlie_ed25519: Invalid(Payment)", "Err(Invalid(Payment))", poor),
			(
				"bare DecentralML call: Unknown(NoUnsignedValidator)",
				"Err(Unknown(NoUnsignedValidator))",
				bare_call,
			),
			(
				"bare timestamp inherent from outside: Invalid(MandatoryValidation)",
				"Err(Invalid(MandatoryValidation))",
				bare_inherent,
			),
		]
	});
	let mut out = vec![];
	for (label, want, xt) in cases {
		let encoded = xt.encode();
		let result = rec.ext.execute_with(|| {
			sp_io::storage::start_transaction();
			let r = Executive::validate_transaction(
				sp_runtime::transaction_validity::TransactionSource::External,
				xt.clone(),
				best,
			);
			sp_io::storage::rollback_transaction();
			r
		});
		let debug = format!("{:?}", result);
		assert!(debug.starts_with(want), "validity case {label}: {debug}");
		out.push(json!({
			"label": label,
			"extrinsic_hex": hex0x(&encoded),
			"source": "External",
			"result_hex": hex0x(&result.encode()),
			"result_debug": format!("{:?}", result),
		}));
	}
	let state = rec.ext.execute_with(|| storage_dump(&[]));
	json!({
		"format": "decentralml-vectors/1",
		"kind": "validity",
		"name": "transaction_validity",
		"description": "TaggedTransactionQueue_validate_transaction(source=External, tx, block_hash=hash of block 1) on the state after block 1 of signed_blocks.json (same setup). result_hex is the SCALE TransactionValidity = Result<ValidTransaction{priority: u64, requires: Vec<Vec<u8>>, provides: Vec<Vec<u8>>, longevity: u64, propagate: bool}, TransactionValidityError>.",
		"accounts": rec.accounts_json(),
		"block_hash": hex0x(best.as_bytes()),
		"state": kv_json(&state),
		"storage_root": hex0x(h1.state_root.as_bytes()),
		"cases": out,
	})
}

// ---------------------------------------------------------------- scenarios

use pallet_decentralml::Error as E;
use Expect::{Err as ERR, Ok as OK};
use Who::Signed as S;

/// Full lifecycle under ManualAccept with two slots: assign, submit, validate, accept, complete.
pub fn lifecycle_manual() -> Value {
	let mut r = Recorder::new();
	r.step(
		"alice creates a 2-slot ManualAccept task",
		1,
		S("alice"),
		Create::contributor(2, ValidationStrategy::ManualAccept).call(),
		OK,
	);
	r.step("bob takes a slot", 2, S("bob"), assign(0), OK);
	r.step("charlie takes the second slot", 2, S("charlie"), assign(0), OK);
	r.step("bob sends his result", 3, S("bob"), send(0), OK);
	r.step("alice validates bob's result", 4, S("alice"), validate(0, true, 9_100), OK);
	r.step("alice accepts bob's result (paid)", 4, S("alice"), accept(0), OK);
	r.step("charlie sends his result", 5, S("charlie"), send(1), OK);
	r.step(
		"alice accepts charlie's result without validating: task completed, escrow reaped",
		6,
		S("alice"),
		accept(1),
		OK,
	);
	r.finish("lifecycle_manual_accept", "ManualAccept: two workers, validate + accept, accept without validation; the task completes and the escrow account is reaped.")
}

/// AutoAccept: a result is paid on submission.
pub fn lifecycle_auto() -> Value {
	let mut r = Recorder::new();
	let mut c = Create::contributor(2, ValidationStrategy::AutoAccept);
	c.task_type = TaskType::DataAnnotators;
	c.question = "Label the 500 images in the bundle (cat/dog)";
	c.assets = TaskAssets::DataAnnotators {
		annotation_files: asset(StorageType::Crust, "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"),
	};
	c.pays = crate::MIN_REWARD;
	r.step("alice creates a 2-slot AutoAccept annotation task paying MinReward", 1, S("alice"), c.call(), OK);
	r.step("dave takes a slot", 2, S("dave"), assign(0), OK);
	r.step("dave sends: accepted and paid at once", 3, S("dave"), send(0), OK);
	r.step("dave takes a slot again (his first submission is decided)", 4, S("dave"), assign(0), OK);
	r.step("dave sends again: paid, task completed", 5, S("dave"), send(1), OK);
	r.finish("lifecycle_auto_accept", "AutoAccept: each result is accepted and paid inside send_task_result; the same worker may take a new slot once his previous submission is decided.")
}

/// CustomAccept: validation scores, reject, re-assignment of the freed slot.
pub fn lifecycle_custom() -> Value {
	let mut r = Recorder::new();
	let mut c = Create::contributor(2, ValidationStrategy::CustomAccept);
	c.task_type = TaskType::ModelEngineer;
	c.question = "Improve the baseline architecture; report validation accuracy";
	c.assets = TaskAssets::ModelEngineer {
		engineer_bundle: asset(StorageType::GCP, "gs://decentralml/engineer/bundle.zip"),
	};
	r.step("alice creates a 2-slot CustomAccept engineering task", 1, S("alice"), c.call(), OK);
	r.step("bob takes a slot", 2, S("bob"), assign(0), OK);
	r.step("charlie takes a slot", 2, S("charlie"), assign(0), OK);
	r.step("bob sends", 3, S("bob"), send(0), OK);
	r.step("charlie sends", 3, S("charlie"), send(1), OK);
	r.step("alice records bob's score 8700 (passed)", 4, S("alice"), validate(0, true, 8_700), OK);
	r.step("alice records charlie's score 3000 (failed)", 4, S("alice"), validate(1, false, 3_000), OK);
	r.step("alice accepts bob", 5, S("alice"), accept(0), OK);
	r.step("alice rejects charlie: slot freed", 5, S("alice"), reject(1), OK);
	r.step("eve takes the freed slot", 6, S("eve"), assign(0), OK);
	r.step("eve sends", 7, S("eve"), send(2), OK);
	r.step("alice records eve's score 10000", 8, S("alice"), validate(2, true, 10_000), OK);
	r.step("alice accepts eve: task completed", 8, S("alice"), accept(2), OK);
	r.finish("lifecycle_custom_accept", "CustomAccept: scores recorded by the creator, one accept, one reject, the freed slot re-assigned and accepted.")
}

/// Rejection then re-assignment by the same worker.
pub fn reject_reassign() -> Value {
	let mut r = Recorder::new();
	r.step(
		"alice creates a 1-slot ManualAccept task",
		1,
		S("alice"),
		Create::contributor(1, ValidationStrategy::ManualAccept).call(),
		OK,
	);
	r.step("bob takes the slot", 2, S("bob"), assign(0), OK);
	r.step("charlie finds no free slot", 2, S("charlie"), assign(0), ERR(E::NoFreeSlot));
	r.step("bob sends", 3, S("bob"), send(0), OK);
	r.step("alice rejects without validating", 4, S("alice"), reject(0), OK);
	r.step("bob takes the slot again", 5, S("bob"), assign(0), OK);
	r.step("bob sends again", 6, S("bob"), send(1), OK);
	r.step("alice accepts", 7, S("alice"), accept(1), OK);
	r.finish("reject_and_reassign", "A rejected result frees its slot; the escrow stays; the same worker takes it again and is paid once.")
}

/// Assignment deadlines, lazy release, task expiry and close by a third party.
pub fn expiry() -> Value {
	let mut r = Recorder::new();
	let mut c = Create::contributor(2, ValidationStrategy::ManualAccept);
	c.expiration = 20;
	c.deadline = 5;
	r.step(
		"alice creates a task expiring at block 20 with a 5-block assignment deadline",
		1,
		S("alice"),
		c.call(),
		OK,
	);
	r.step("bob takes a slot (deadline block 7)", 2, S("bob"), assign(0), OK);
	r.step("charlie takes a slot (deadline block 8)", 3, S("charlie"), assign(0), OK);
	r.step("dave finds no free slot while both deadlines run", 7, S("dave"), assign(0), ERR(E::NoFreeSlot));
	r.step(
		"dave takes a slot at block 9: bob's and charlie's expired slots are released first",
		9,
		S("dave"),
		assign(0),
		OK,
	);
	r.step("bob's late result is refused", 9, S("bob"), send(0), ERR(E::AssignmentDeadlinePassed));
	r.step("eve cannot close before expiry", 10, S("eve"), close(0), ERR(E::CloseNotAllowed));
	r.step(
		"alice cannot close while dave's slot is within its deadline",
		10,
		S("alice"),
		close(0),
		ERR(E::AssignmentsInProgress),
	);
	r.step("eve cannot take a slot of the expired task", 20, S("eve"), assign(0), ERR(E::TaskExpired));
	r.step(
		"eve closes the expired task: dave's slot expires, the whole escrow is refunded to alice",
		20,
		S("eve"),
		close(0),
		OK,
	);
	r.step("the closed task takes no more work", 21, S("bob"), assign(0), ERR(E::TaskNotOpen));
	r.finish("expiry", "Assignment deadlines release slots lazily in assign_task; after the expiration block anyone may close; live Assigned slots expire at close.")
}

/// Closing with refunds: untouched task, partially paid task.
pub fn close_refund() -> Value {
	let mut r = Recorder::new();
	r.step(
		"alice creates task 0 (3 slots)",
		1,
		S("alice"),
		Create::contributor(3, ValidationStrategy::ManualAccept).call(),
		OK,
	);
	r.step("alice closes task 0 at once: full refund", 2, S("alice"), close(0), OK);
	r.step("alice cannot close task 0 twice", 3, S("alice"), close(0), ERR(E::TaskNotOpen));
	r.step(
		"bob creates task 1 (3 slots)",
		3,
		S("bob"),
		Create::contributor(3, ValidationStrategy::ManualAccept).call(),
		OK,
	);
	r.step("charlie takes a slot of task 1", 4, S("charlie"), assign(1), OK);
	r.step("charlie sends", 5, S("charlie"), send(0), OK);
	r.step(
		"bob cannot close while a result waits for a decision",
		5,
		S("bob"),
		close(1),
		ERR(E::ResultsPendingDecision),
	);
	r.step("bob accepts charlie", 6, S("bob"), accept(0), OK);
	r.step("bob closes task 1: refund of the two unpaid rewards", 7, S("bob"), close(1), OK);
	r.finish("close_refund", "close_task refunds exactly reward x (max_assignments - accepted) to the creator and reaps the escrow account.")
}

/// Every DecentralMLModule error (and BadOrigin) with a minimal setup.
pub fn errors() -> Value {
	let mut r = Recorder::new();
	let base = || Create::contributor(1, ValidationStrategy::ManualAccept);
	r.step("unsigned origin", 1, Who::Unsigned, base().call(), Expect::BadOrigin);
	let mut c = base();
	c.question = "";
	r.step("EmptyQuestion", 1, S("alice"), c.call(), ERR(E::EmptyQuestion));
	let mut c = base();
	c.pays = crate::MIN_REWARD - 1;
	r.step("RewardTooLow", 1, S("alice"), c.call(), ERR(E::RewardTooLow));
	let mut c = base();
	c.max = 0;
	r.step("InvalidMaxAssignments (0)", 1, S("alice"), c.call(), ERR(E::InvalidMaxAssignments));
	let mut c = base();
	c.max = 101;
	r.step("InvalidMaxAssignments (101)", 1, S("alice"), c.call(), ERR(E::InvalidMaxAssignments));
	let mut c = base();
	c.expiration = 1;
	r.step("ExpirationInPast (expiration == now)", 1, S("alice"), c.call(), ERR(E::ExpirationInPast));
	let mut c = base();
	c.deadline = 0;
	r.step("InvalidAssignmentDeadline (0)", 1, S("alice"), c.call(), ERR(E::InvalidAssignmentDeadline));
	let mut c = base();
	c.deadline = 100;
	r.step(
		"InvalidAssignmentDeadline (beyond expiry)",
		1,
		S("alice"),
		c.call(),
		ERR(E::InvalidAssignmentDeadline),
	);
	let mut c = base();
	c.task_type = TaskType::DataAnnotators;
	r.step("AssetsMismatchTaskType", 1, S("alice"), c.call(), ERR(E::AssetsMismatchTaskType));
	let mut c = base();
	c.assets = TaskAssets::ModelContributor {
		contributor_bundle: asset(StorageType::IPFS, "ipfs://bundle"),
		base_model: Some(asset(StorageType::Local, "")),
	};
	r.step("EmptyUri (base model)", 1, S("alice"), c.call(), ERR(E::EmptyUri));
	let mut c = base();
	c.pays = u128::MAX / 2;
	c.max = 3;
	r.step("EscrowOverflow", 1, S("alice"), c.call(), ERR(E::EscrowOverflow));
	let mut c = base();
	c.pays = genesis::DEV_BALANCE / 2;
	c.max = 2;
	r.step(
		"InsufficientBalance (escrow equals the whole balance)",
		1,
		S("alice"),
		c.call(),
		ERR(E::InsufficientBalance),
	);
	r.step("TaskNotFound", 1, S("bob"), assign(7), ERR(E::TaskNotFound));
	r.step("setup: alice creates task 0 (1 slot, expiry 100, deadline 10)", 1, S("alice"), base().call(), OK);
	r.step("CreatorCannotAssign", 2, S("alice"), assign(0), ERR(E::CreatorCannotAssign));
	r.step("setup: bob takes the slot", 2, S("bob"), assign(0), OK);
	r.step("AlreadyAssigned", 2, S("bob"), assign(0), ERR(E::AlreadyAssigned));
	r.step("NoFreeSlot", 2, S("charlie"), assign(0), ERR(E::NoFreeSlot));
	r.step("SubmissionNotFound", 3, S("bob"), send(9), ERR(E::SubmissionNotFound));
	r.step("NotAssignedWorker", 3, S("charlie"), send(0), ERR(E::NotAssignedWorker));
	r.step(
		"NotPendingValidation (still Assigned)",
		3,
		S("alice"),
		validate(0, true, 1),
		ERR(E::NotPendingValidation),
	);
	r.step(
		"NotAwaitingDecision (accept while Assigned)",
		3,
		S("alice"),
		accept(0),
		ERR(E::NotAwaitingDecision),
	);
	r.step(
		"NotAwaitingDecision (reject while Assigned)",
		3,
		S("alice"),
		reject(0),
		ERR(E::NotAwaitingDecision),
	);
	r.step("AssignmentsInProgress", 3, S("alice"), close(0), ERR(E::AssignmentsInProgress));
	let mut late = send(0);
	if let DmlCall::send_task_result { ref mut result, .. } = late {
		result.uri = Default::default();
	}
	r.step("EmptyUri (result)", 3, S("bob"), late, ERR(E::EmptyUri));
	r.step("setup: bob sends", 3, S("bob"), send(0), OK);
	r.step("NotAwaitingResult (second send)", 4, S("bob"), send(0), ERR(E::NotAwaitingResult));
	r.step("NotTaskCreator (validate)", 4, S("bob"), validate(0, true, 1), ERR(E::NotTaskCreator));
	r.step("NotTaskCreator (accept)", 4, S("bob"), accept(0), ERR(E::NotTaskCreator));
	r.step("NotTaskCreator (reject)", 4, S("bob"), reject(0), ERR(E::NotTaskCreator));
	r.step("InvalidScore", 4, S("alice"), validate(0, true, 10_001), ERR(E::InvalidScore));
	r.step(
		"CloseNotAllowed (not the creator, before expiry)",
		4,
		S("bob"),
		close(0),
		ERR(E::CloseNotAllowed),
	);
	r.step("ResultsPendingDecision", 4, S("alice"), close(0), ERR(E::ResultsPendingDecision));
	r.step("setup: alice validates", 5, S("alice"), validate(0, true, 5_000), OK);
	r.step(
		"NotPendingValidation (already validated)",
		5,
		S("alice"),
		validate(0, true, 5_000),
		ERR(E::NotPendingValidation),
	);
	r.step("setup: alice accepts: task completed", 5, S("alice"), accept(0), OK);
	r.step("NotAwaitingDecision (already accepted)", 6, S("alice"), accept(0), ERR(E::NotAwaitingDecision));
	r.step("TaskNotOpen (assign to a completed task)", 6, S("charlie"), assign(0), ERR(E::TaskNotOpen));
	r.step("TaskNotOpen (close a completed task)", 6, S("alice"), close(0), ERR(E::TaskNotOpen));
	let mut c = base();
	c.expiration = 10;
	c.deadline = 2;
	r.step("setup: alice creates task 1 (expiry 10, deadline 2)", 6, S("alice"), c.call(), OK);
	r.step("setup: charlie takes a slot of task 1 (deadline block 8)", 6, S("charlie"), assign(1), OK);
	r.step(
		"AssignmentDeadlinePassed (Assigned past deadline)",
		9,
		S("charlie"),
		send(1),
		ERR(E::AssignmentDeadlinePassed),
	);
	r.step("TaskExpired", 10, S("dave"), assign(1), ERR(E::TaskExpired));
	r.step("setup: dave closes the expired task 1", 10, S("dave"), close(1), OK);
	r.step(
		"AssignmentDeadlinePassed (Expired submission)",
		10,
		S("charlie"),
		send(1),
		ERR(E::AssignmentDeadlinePassed),
	);
	r.finish("errors", "Every DecentralMLModule error in a minimal context, plus BadOrigin; a failed step leaves storage unchanged (only the step context changes).")
}

/// Every vector file: name -> JSON document.
pub fn vectors() -> Vec<(&'static str, Value)> {
	vec![
		("lifecycle_manual_accept", lifecycle_manual()),
		("lifecycle_auto_accept", lifecycle_auto()),
		("lifecycle_custom_accept", lifecycle_custom()),
		("reject_and_reassign", reject_reassign()),
		("expiry", expiry()),
		("close_refund", close_refund()),
		("errors", errors()),
		("signed_blocks", signed_blocks_vector()),
		("sudo_block", sudo_block_vector()),
		("transaction_validity", transaction_validity_vector()),
		("runtime_api", runtime_api_vector()),
	]
}

fn pretty(v: &Value) -> Vec<u8> {
	let mut s = serde_json::to_string_pretty(v).expect("json");
	s.push('\n');
	s.into_bytes()
}

/// Every generated file: (path relative to pallet-spec/, bytes).
/// `pallet-spec/`, where the artifacts are committed. Cargo sets `CARGO_MANIFEST_DIR` when it
/// runs a test or binary: prefer that to the path baked in at compile time, so a target
/// directory shared between checkouts reads and writes the checkout being tested.
pub fn spec_dir() -> std::path::PathBuf {
	std::env::var_os("CARGO_MANIFEST_DIR")
		.map(std::path::PathBuf::from)
		.unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
		.join("..")
}

pub fn generate_all() -> Vec<(String, Vec<u8>)> {
	let mut out = vec![
		("metadata/metadata_v14.scale".to_string(), metadata_bytes(14)),
		("metadata/metadata_v15.scale".to_string(), metadata_bytes(15)),
		("metadata/runtime_version.json".to_string(), pretty(&runtime_version_json())),
		("metadata/genesis.json".to_string(), pretty(&genesis_json())),
		("chainspec/development.raw.json".to_string(), pretty(&chain_spec_raw_json())),
		(WASM_FILE.to_string(), wasm_blob()),
	];
	for (name, v) in vectors() {
		out.push((format!("vectors/{name}.json"), pretty(&v)));
	}
	out
}
