//! Development genesis: //Alice..//Ferdie (sr25519) funded with 2^60 each, Alice sudo.

use crate::{AccountId, Balance, BalancesConfig, RuntimeGenesisConfig, SudoConfig};
use alloc::vec::Vec;
use sp_keyring::Sr25519Keyring;

/// Free balance of every development account at genesis (2^60).
pub const DEV_BALANCE: Balance = 1 << 60;

/// The funded development accounts, in order, with their names.
pub fn dev_accounts() -> Vec<(&'static str, AccountId)> {
	[
		("alice", Sr25519Keyring::Alice),
		("bob", Sr25519Keyring::Bob),
		("charlie", Sr25519Keyring::Charlie),
		("dave", Sr25519Keyring::Dave),
		("eve", Sr25519Keyring::Eve),
		("ferdie", Sr25519Keyring::Ferdie),
	]
	.into_iter()
	.map(|(name, k)| (name, k.to_account_id()))
	.collect()
}

/// The development genesis configuration.
pub fn development_config() -> RuntimeGenesisConfig {
	RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: dev_accounts().into_iter().map(|(_, a)| (a, DEV_BALANCE)).collect(),
			..Default::default()
		},
		sudo: SudoConfig { key: Some(Sr25519Keyring::Alice.to_account_id()) },
		..Default::default()
	}
}

/// Genesis presets for the GenesisBuilder API ("development" only).
pub fn preset(id: &sp_genesis_builder::PresetId) -> Option<Vec<u8>> {
	if id.as_str() != sp_genesis_builder::DEV_RUNTIME_PRESET {
		return None;
	}
	Some(serde_json::to_vec(&development_config()).expect("genesis config serializes to JSON"))
}
