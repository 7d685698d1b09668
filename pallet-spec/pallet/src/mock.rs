//! Test runtime: System + Balances + DecentralML with AccountId32 accounts.

use crate as pallet_decentralml;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32},
	PalletId,
};
use sp_runtime::{traits::IdentityLookup, AccountId32, BuildStorage};

type Block = frame_system::mocking::MockBlock<Test>;
pub type Balance = u128;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		DecentralML: pallet_decentralml,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId32;
	type Lookup = IdentityLookup<AccountId32>;
	type AccountData = pallet_balances::AccountData<Balance>;
}

pub const ED: Balance = 1_000;
pub const MIN_REWARD: Balance = 10_000;
pub const INITIAL: Balance = 1_000_000_000;

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type ExistentialDeposit = ConstU128<ED>;
	type AccountStore = System;
}

parameter_types! {
	pub const DmlPalletId: PalletId = PalletId(*b"decentml");
	/// MinReward, settable per test thread (the integrity test's boundary).
	pub static MinRewardForTest: Balance = MIN_REWARD;
}

impl pallet_decentralml::Config for Test {
	type Currency = Balances;
	type PalletId = DmlPalletId;
	type MaxQuestionLen = ConstU32<1024>;
	type MaxUriLen = ConstU32<512>;
	type MaxInlineResultLen = ConstU32<4096>;
	type MaxAssignmentsPerTask = ConstU32<100>;
	type MinReward = MinRewardForTest;
	type WeightInfo = ();
}

/// Named test accounts: 1 = creator, 2.. = workers.
pub fn acc(n: u8) -> AccountId32 {
	AccountId32::new([n; 32])
}

pub const ALICE: u8 = 1;
pub const BOB: u8 = 2;
pub const CHARLIE: u8 = 3;
pub const DAVE: u8 = 4;
pub const EVE: u8 = 5;

/// Accounts 1..=5 funded with `INITIAL`; block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=5).map(|n| (acc(n), INITIAL)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
