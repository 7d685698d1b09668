//! Weights of the DecentralML calls, for their worst case.
//!
//! Each weight is the sum of three parts:
//! - **execution** (`*_EXEC`, reference time in picoseconds, plus `PER_BYTE` for every
//!   byte of a variable-length argument): estimated, not measured — the benchmarks run
//!   as tests but are not timed by the FRAME benchmarking CLI here (docs/pallet.md);
//! - **storage**: the worst-case number of storage reads and writes, counted from the code
//!   and listed on each function, priced by the runtime's `DbWeight`;
//! - **proof size** (`*_PROOF`, bytes): the storage the call may read in its worst case,
//!   each item counted as in the `MaxEncodedLen` mode of the FRAME benchmarking CLI: the
//!   item's maximal key (after the pallet and item prefix) and value length plus the trie
//!   nodes that CLI adds ([`PROOF_MAP_ITEM_OVERHEAD`], [`PROOF_VALUE_OVERHEAD`]), for the
//!   configuration of the DecentralML runtime. The runtime's tests check that these
//!   constants equal [`proof_sizes`] over its types.
//!
//! Calls whose work grows with the live submissions of a task (`assign_task`, `close_task`)
//! take the count `n` and are charged for `n = MaxAssignmentsPerTask`. The FRAME benchmarks
//! of every call over these worst cases are in `benchmarking.rs`.

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, RuntimeDbWeight, Weight},
};

/// Weight functions of the pallet's calls.
pub trait WeightInfo {
	/// `create_task`; `b` = question bytes + URI bytes of every asset reference.
	fn create_task(b: u32) -> Weight;
	/// `assign_task`; `n` = live submissions of the task (read, and released when their
	/// deadline passed), at most `MaxAssignmentsPerTask`.
	fn assign_task(n: u32) -> Weight;
	/// `send_task_result`; `b` = result URI bytes + inline result bytes. Covers the
	/// AutoAccept payment that completes the task.
	fn send_task_result(b: u32) -> Weight;
	/// `validate_task_result`.
	fn validate_task_result() -> Weight;
	/// `accept_task_result` (covers completing the task).
	fn accept_task_result() -> Weight;
	/// `reject_task_result`.
	fn reject_task_result() -> Weight;
	/// `close_task`; `n` = live submissions expired on closing, at most `MaxAssignmentsPerTask`.
	fn close_task(n: u32) -> Weight;
}

/// Reference time (picoseconds) charged per byte of variable-length argument.
pub const PER_BYTE: u64 = 2_000;
/// Execution reference time of `create_task` (without storage and bytes).
pub const CREATE_TASK_EXEC: u64 = 250_000_000;
/// Execution reference time of `assign_task`.
pub const ASSIGN_TASK_EXEC: u64 = 200_000_000;
/// Execution reference time of `assign_task` per live submission.
pub const ASSIGN_TASK_EXEC_PER_SUBMISSION: u64 = 5_000_000;
/// Execution reference time of `send_task_result`.
pub const SEND_TASK_RESULT_EXEC: u64 = 150_000_000;
/// Execution reference time of `validate_task_result`.
pub const VALIDATE_TASK_RESULT_EXEC: u64 = 80_000_000;
/// Execution reference time of `accept_task_result`.
pub const ACCEPT_TASK_RESULT_EXEC: u64 = 200_000_000;
/// Execution reference time of `reject_task_result`.
pub const REJECT_TASK_RESULT_EXEC: u64 = 100_000_000;
/// Execution reference time of `close_task`.
pub const CLOSE_TASK_EXEC: u64 = 300_000_000;
/// Execution reference time of `close_task` per live submission.
pub const CLOSE_TASK_EXEC_PER_SUBMISSION: u64 = 5_000_000;

/// Storage reads and writes of each call in its worst case: `(reads, writes)` plus, for the
/// calls taking `n`, `(reads, writes)` per live submission.
pub mod rw {
	/// NextTaskId, System.Account of creator and escrow; writes NextTaskId, Tasks, OpenTasks
	/// and both accounts.
	pub const CREATE_TASK: (u64, u64) = (3, 5);
	/// Tasks, LiveSubmissions, NextSubmissionId; writes NextSubmissionId, Submissions,
	/// TaskSubmissions, WorkerSubmissions, Tasks, LiveSubmissions.
	pub const ASSIGN_TASK: (u64, u64) = (3, 6);
	/// Per live submission: the Submissions read, and its write when it expires.
	pub const ASSIGN_TASK_PER_SUBMISSION: (u64, u64) = (1, 1);
	/// Submissions, Tasks, System.Account of escrow and worker, LiveSubmissions; writes the
	/// same and OpenTasks (completion).
	pub const SEND_TASK_RESULT: (u64, u64) = (5, 6);
	/// Submissions, Tasks; writes Submissions.
	pub const VALIDATE_TASK_RESULT: (u64, u64) = (2, 1);
	/// As `SEND_TASK_RESULT`: Submissions, Tasks, two accounts, LiveSubmissions, OpenTasks.
	pub const ACCEPT_TASK_RESULT: (u64, u64) = (5, 6);
	/// Submissions, Tasks, LiveSubmissions; writes the same.
	pub const REJECT_TASK_RESULT: (u64, u64) = (3, 3);
	/// Tasks, LiveSubmissions, System.Account of escrow and creator; writes Tasks, OpenTasks,
	/// LiveSubmissions and both accounts.
	pub const CLOSE_TASK: (u64, u64) = (4, 5);
	/// Per live submission: the Submissions read, and its write when it expires.
	pub const CLOSE_TASK_PER_SUBMISSION: (u64, u64) = (1, 1);
}

/// Trie nodes added to the proof for one item of a storage map, as the FRAME benchmarking
/// CLI estimates them in its `MaxEncodedLen` mode (`added: max_size + 2475`).
pub const PROOF_MAP_ITEM_OVERHEAD: u64 = 2_475;
/// The same for a storage value (`max_values: Some(1)`, `added: max_size + 495`).
pub const PROOF_VALUE_OVERHEAD: u64 = 495;

/// Proof size of `create_task`: NextTaskId, System.Account of creator and escrow.
pub const CREATE_TASK_PROOF: u64 = 5_709;
/// Proof size of `assign_task` without the submissions: Tasks, LiveSubmissions, NextSubmissionId.
pub const ASSIGN_TASK_PROOF: u64 = 8_516;
/// Proof size of `assign_task` and `close_task` per live submission: one Submissions item.
pub const PROOF_PER_SUBMISSION: u64 = 7_255;
/// Proof size of `send_task_result` and `accept_task_result`: Submissions, Tasks,
/// System.Account of escrow and worker, LiveSubmissions.
pub const SEND_TASK_RESULT_PROOF: u64 = 20_474;
/// Proof size of `validate_task_result`: Submissions, Tasks.
pub const VALIDATE_TASK_RESULT_PROOF: u64 = 11_967;
/// Proof size of `reject_task_result`: Submissions, Tasks, LiveSubmissions.
pub const REJECT_TASK_RESULT_PROOF: u64 = 15_268;
/// Proof size of `close_task` without the submissions: Tasks, LiveSubmissions,
/// System.Account of escrow and creator.
pub const CLOSE_TASK_PROOF: u64 = 13_219;

/// The proof sizes above computed from the maximal encoded lengths of `T`'s storage items:
/// `[create_task, assign_task, per submission, send_task_result, validate_task_result,
/// reject_task_result, close_task]`. The DecentralML runtime tests that they equal the
/// constants.
pub fn proof_sizes<T: crate::Config>() -> [u64; 7] {
	use codec::MaxEncodedLen;
	// Blake2_128Concat of a u64 key / of an account id: 16-byte hash plus the key.
	let id_key = 16 + 8u64;
	let account_key = 16 + T::AccountId::max_encoded_len() as u64;
	let map = |max_size: u64| max_size + PROOF_MAP_ITEM_OVERHEAD;
	let value = |max_size: u64| max_size + PROOF_VALUE_OVERHEAD;
	let task = map(id_key + crate::Task::<T>::max_encoded_len() as u64);
	let submission = map(id_key + crate::Submission::<T>::max_encoded_len() as u64);
	let live = map(
		id_key + frame_support::BoundedVec::<crate::SubmissionId, T::MaxAssignmentsPerTask>::max_encoded_len()
			as u64,
	);
	let account = map(
		account_key
			+ frame_system::AccountInfo::<T::Nonce, T::AccountData>::max_encoded_len() as u64,
	);
	let next_id = value(8);
	[
		next_id + 2 * account,
		task + live + next_id,
		submission,
		submission + task + 2 * account + live,
		submission + task,
		submission + task + live,
		task + live + 2 * account,
	]
}

fn weight(db: RuntimeDbWeight, exec: u64, proof: u64, (reads, writes): (u64, u64)) -> Weight {
	Weight::from_parts(exec, proof).saturating_add(db.reads_writes(reads, writes))
}

fn with_bytes(exec: u64, b: u32) -> u64 {
	exec.saturating_add(PER_BYTE.saturating_mul(b as u64))
}

/// The weights priced by the storage weights `db`.
pub struct Priced;

impl Priced {
	/// `create_task(b)`.
	pub fn create_task(db: RuntimeDbWeight, b: u32) -> Weight {
		weight(db, with_bytes(CREATE_TASK_EXEC, b), CREATE_TASK_PROOF, rw::CREATE_TASK)
	}
	/// `assign_task(n)`.
	pub fn assign_task(db: RuntimeDbWeight, n: u32) -> Weight {
		weight(db, ASSIGN_TASK_EXEC, ASSIGN_TASK_PROOF, rw::ASSIGN_TASK).saturating_add(
			weight(db, ASSIGN_TASK_EXEC_PER_SUBMISSION, PROOF_PER_SUBMISSION, rw::ASSIGN_TASK_PER_SUBMISSION)
				.saturating_mul(n as u64),
		)
	}
	/// `send_task_result(b)`.
	pub fn send_task_result(db: RuntimeDbWeight, b: u32) -> Weight {
		weight(db, with_bytes(SEND_TASK_RESULT_EXEC, b), SEND_TASK_RESULT_PROOF, rw::SEND_TASK_RESULT)
	}
	/// `validate_task_result()`.
	pub fn validate_task_result(db: RuntimeDbWeight) -> Weight {
		weight(db, VALIDATE_TASK_RESULT_EXEC, VALIDATE_TASK_RESULT_PROOF, rw::VALIDATE_TASK_RESULT)
	}
	/// `accept_task_result()`.
	pub fn accept_task_result(db: RuntimeDbWeight) -> Weight {
		weight(db, ACCEPT_TASK_RESULT_EXEC, SEND_TASK_RESULT_PROOF, rw::ACCEPT_TASK_RESULT)
	}
	/// `reject_task_result()`.
	pub fn reject_task_result(db: RuntimeDbWeight) -> Weight {
		weight(db, REJECT_TASK_RESULT_EXEC, REJECT_TASK_RESULT_PROOF, rw::REJECT_TASK_RESULT)
	}
	/// `close_task(n)`.
	pub fn close_task(db: RuntimeDbWeight, n: u32) -> Weight {
		weight(db, CLOSE_TASK_EXEC, CLOSE_TASK_PROOF, rw::CLOSE_TASK).saturating_add(
			weight(db, CLOSE_TASK_EXEC_PER_SUBMISSION, PROOF_PER_SUBMISSION, rw::CLOSE_TASK_PER_SUBMISSION)
				.saturating_mul(n as u64),
		)
	}
}

/// The weights for a runtime `T`, storage priced by its `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn create_task(b: u32) -> Weight {
		Priced::create_task(T::DbWeight::get(), b)
	}
	fn assign_task(n: u32) -> Weight {
		Priced::assign_task(T::DbWeight::get(), n)
	}
	fn send_task_result(b: u32) -> Weight {
		Priced::send_task_result(T::DbWeight::get(), b)
	}
	fn validate_task_result() -> Weight {
		Priced::validate_task_result(T::DbWeight::get())
	}
	fn accept_task_result() -> Weight {
		Priced::accept_task_result(T::DbWeight::get())
	}
	fn reject_task_result() -> Weight {
		Priced::reject_task_result(T::DbWeight::get())
	}
	fn close_task(n: u32) -> Weight {
		Priced::close_task(T::DbWeight::get(), n)
	}
}

/// For tests and runtimes without their own storage weights: storage priced as RocksDB.
impl WeightInfo for () {
	fn create_task(b: u32) -> Weight {
		Priced::create_task(RocksDbWeight::get(), b)
	}
	fn assign_task(n: u32) -> Weight {
		Priced::assign_task(RocksDbWeight::get(), n)
	}
	fn send_task_result(b: u32) -> Weight {
		Priced::send_task_result(RocksDbWeight::get(), b)
	}
	fn validate_task_result() -> Weight {
		Priced::validate_task_result(RocksDbWeight::get())
	}
	fn accept_task_result() -> Weight {
		Priced::accept_task_result(RocksDbWeight::get())
	}
	fn reject_task_result() -> Weight {
		Priced::reject_task_result(RocksDbWeight::get())
	}
	fn close_task(n: u32) -> Weight {
		Priced::close_task(RocksDbWeight::get(), n)
	}
}
