//! Explicit weights for every pallet of the runtime, so that fees are reproducible
//! from the spec alone (pallet-spec/README.md §Weights and fees). Reference time in
//! picoseconds; proof size is 0 everywhere.

use frame_support::weights::Weight;

const fn w(ref_time: u64) -> Weight {
	Weight::from_parts(ref_time, 0)
}

/// Weight of executing an empty block (System `BlockWeights.base_block`).
pub const BLOCK_BASE: u64 = 5_000_000_000;
/// Base weight of every extrinsic (`BlockWeights.per_class.*.base_extrinsic`).
pub const EXTRINSIC_BASE: u64 = 125_000_000;
/// Database read weight.
pub const DB_READ: u64 = 25_000_000;
/// Database write weight.
pub const DB_WRITE: u64 = 100_000_000;

/// frame_system call weights.
pub struct SystemWeights;
impl frame_system::WeightInfo for SystemWeights {
	fn remark(b: u32) -> Weight {
		w(10_000_000 + 1_000 * b as u64)
	}
	fn remark_with_event(b: u32) -> Weight {
		w(20_000_000 + 2_000 * b as u64)
	}
	fn set_heap_pages() -> Weight {
		w(50_000_000)
	}
	fn set_code() -> Weight {
		w(1_500_000_000_000)
	}
	fn set_storage(i: u32) -> Weight {
		w(10_000_000 + 100_000_000 * i as u64)
	}
	fn kill_storage(i: u32) -> Weight {
		w(10_000_000 + 100_000_000 * i as u64)
	}
	fn kill_prefix(p: u32) -> Weight {
		w(10_000_000 + 100_000_000 * p as u64)
	}
	fn authorize_upgrade() -> Weight {
		w(50_000_000)
	}
	fn apply_authorized_upgrade() -> Weight {
		w(1_500_000_000_000)
	}
}

/// frame_system transaction-extension weights: all zero (the base extrinsic weight covers them).
pub struct SystemExtensionWeights;
impl frame_system::ExtensionsWeightInfo for SystemExtensionWeights {
	fn check_genesis() -> Weight {
		w(0)
	}
	fn check_mortality_mortal_transaction() -> Weight {
		w(0)
	}
	fn check_mortality_immortal_transaction() -> Weight {
		w(0)
	}
	fn check_non_zero_sender() -> Weight {
		w(0)
	}
	fn check_nonce() -> Weight {
		w(0)
	}
	fn check_spec_version() -> Weight {
		w(0)
	}
	fn check_tx_version() -> Weight {
		w(0)
	}
	fn check_weight() -> Weight {
		w(0)
	}
	fn weight_reclaim() -> Weight {
		w(0)
	}
}

/// pallet_balances call weights.
pub struct BalancesWeights;
impl pallet_balances::WeightInfo for BalancesWeights {
	fn transfer_allow_death() -> Weight {
		w(150_000_000)
	}
	fn transfer_keep_alive() -> Weight {
		w(120_000_000)
	}
	fn force_set_balance_creating() -> Weight {
		w(60_000_000)
	}
	fn force_set_balance_killing() -> Weight {
		w(80_000_000)
	}
	fn force_transfer() -> Weight {
		w(160_000_000)
	}
	fn transfer_all() -> Weight {
		w(150_000_000)
	}
	fn force_unreserve() -> Weight {
		w(60_000_000)
	}
	fn upgrade_accounts(u: u32) -> Weight {
		w(20_000_000 + 50_000_000 * u as u64)
	}
	fn force_adjust_total_issuance() -> Weight {
		w(10_000_000)
	}
	fn burn_allow_death() -> Weight {
		w(100_000_000)
	}
	fn burn_keep_alive() -> Weight {
		w(80_000_000)
	}
}

/// pallet_sudo call weights.
pub struct SudoWeights;
impl pallet_sudo::WeightInfo for SudoWeights {
	fn set_key() -> Weight {
		w(40_000_000)
	}
	fn sudo() -> Weight {
		w(40_000_000)
	}
	fn sudo_as() -> Weight {
		w(40_000_000)
	}
	fn remove_key() -> Weight {
		w(40_000_000)
	}
	fn check_only_sudo_account() -> Weight {
		w(10_000_000)
	}
}

/// pallet_timestamp weights.
pub struct TimestampWeights;
impl pallet_timestamp::WeightInfo for TimestampWeights {
	fn set() -> Weight {
		w(10_000_000)
	}
	fn on_finalize() -> Weight {
		w(5_000_000)
	}
}

/// pallet_transaction_payment extension weight: zero.
pub struct TransactionPaymentWeights;
impl pallet_transaction_payment::WeightInfo for TransactionPaymentWeights {
	fn charge_transaction_payment() -> Weight {
		w(0)
	}
}
