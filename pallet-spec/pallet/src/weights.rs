//! Weights of the DecentralML calls: a fixed base plus a per-byte term for the
//! variable-length arguments. The numbers are normative (spec §Weights) so that a
//! twin implementation reproduces fees exactly; proof size is 0 throughout.

use frame_support::weights::Weight;

/// Weight functions of the pallet's calls.
pub trait WeightInfo {
	/// `create_task`; `b` = question bytes + URI bytes of every asset reference.
	fn create_task(b: u32) -> Weight;
	/// `assign_task` (covers releasing up to `MaxAssignmentsPerTask` expired slots).
	fn assign_task() -> Weight;
	/// `send_task_result`; `b` = result URI bytes + inline result bytes.
	fn send_task_result(b: u32) -> Weight;
	/// `validate_task_result`.
	fn validate_task_result() -> Weight;
	/// `accept_task_result`.
	fn accept_task_result() -> Weight;
	/// `reject_task_result`.
	fn reject_task_result() -> Weight;
	/// `close_task` (covers expiring up to `MaxAssignmentsPerTask` slots).
	fn close_task() -> Weight;
}

/// Reference time (picoseconds) charged per byte of variable-length argument.
pub const PER_BYTE: u64 = 2_000;
/// Base reference time of `create_task`.
pub const CREATE_TASK_BASE: u64 = 250_000_000;
/// Base reference time of `assign_task`.
pub const ASSIGN_TASK_BASE: u64 = 200_000_000;
/// Base reference time of `send_task_result`.
pub const SEND_TASK_RESULT_BASE: u64 = 150_000_000;
/// Reference time of `validate_task_result`.
pub const VALIDATE_TASK_RESULT: u64 = 80_000_000;
/// Reference time of `accept_task_result`.
pub const ACCEPT_TASK_RESULT: u64 = 200_000_000;
/// Reference time of `reject_task_result`.
pub const REJECT_TASK_RESULT: u64 = 100_000_000;
/// Reference time of `close_task`.
pub const CLOSE_TASK: u64 = 300_000_000;

/// The normative weights (used by the DecentralML runtime).
pub struct DecentralMLWeight;

fn linear(base: u64, b: u32) -> Weight {
	Weight::from_parts(base.saturating_add(PER_BYTE.saturating_mul(b as u64)), 0)
}

impl WeightInfo for DecentralMLWeight {
	fn create_task(b: u32) -> Weight {
		linear(CREATE_TASK_BASE, b)
	}
	fn assign_task() -> Weight {
		Weight::from_parts(ASSIGN_TASK_BASE, 0)
	}
	fn send_task_result(b: u32) -> Weight {
		linear(SEND_TASK_RESULT_BASE, b)
	}
	fn validate_task_result() -> Weight {
		Weight::from_parts(VALIDATE_TASK_RESULT, 0)
	}
	fn accept_task_result() -> Weight {
		Weight::from_parts(ACCEPT_TASK_RESULT, 0)
	}
	fn reject_task_result() -> Weight {
		Weight::from_parts(REJECT_TASK_RESULT, 0)
	}
	fn close_task() -> Weight {
		Weight::from_parts(CLOSE_TASK, 0)
	}
}

impl WeightInfo for () {
	fn create_task(b: u32) -> Weight {
		DecentralMLWeight::create_task(b)
	}
	fn assign_task() -> Weight {
		DecentralMLWeight::assign_task()
	}
	fn send_task_result(b: u32) -> Weight {
		DecentralMLWeight::send_task_result(b)
	}
	fn validate_task_result() -> Weight {
		DecentralMLWeight::validate_task_result()
	}
	fn accept_task_result() -> Weight {
		DecentralMLWeight::accept_task_result()
	}
	fn reject_task_result() -> Weight {
		DecentralMLWeight::reject_task_result()
	}
	fn close_task() -> Weight {
		DecentralMLWeight::close_task()
	}
}
