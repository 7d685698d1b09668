"""Storage keys of the runtime's items, derived the FRAME way."""

from __future__ import annotations

from functools import lru_cache

from decentralml.primitives.hashing import blake2_128_concat, storage_prefix, twox_64_concat
from decentralml.primitives.scale import u32, u64

EXTRINSIC_INDEX = b":extrinsic_index"
INTRABLOCK_ENTROPY = b":intrablock_entropy"
CODE = b":code"

SYSTEM_ACCOUNT = storage_prefix("System", "Account")
SYSTEM_EXTRINSIC_COUNT = storage_prefix("System", "ExtrinsicCount")
SYSTEM_INHERENTS_APPLIED = storage_prefix("System", "InherentsApplied")
SYSTEM_BLOCK_WEIGHT = storage_prefix("System", "BlockWeight")
SYSTEM_ALL_EXTRINSICS_LEN = storage_prefix("System", "AllExtrinsicsLen")
SYSTEM_BLOCK_HASH = storage_prefix("System", "BlockHash")
SYSTEM_EXTRINSIC_DATA = storage_prefix("System", "ExtrinsicData")
SYSTEM_NUMBER = storage_prefix("System", "Number")
SYSTEM_PARENT_HASH = storage_prefix("System", "ParentHash")
SYSTEM_DIGEST = storage_prefix("System", "Digest")
SYSTEM_EVENTS = storage_prefix("System", "Events")
SYSTEM_EVENT_COUNT = storage_prefix("System", "EventCount")
SYSTEM_EVENT_TOPICS = storage_prefix("System", "EventTopics")
SYSTEM_LAST_RUNTIME_UPGRADE = storage_prefix("System", "LastRuntimeUpgrade")
SYSTEM_EXECUTION_PHASE = storage_prefix("System", "ExecutionPhase")
TIMESTAMP_NOW = storage_prefix("Timestamp", "Now")
TIMESTAMP_DID_UPDATE = storage_prefix("Timestamp", "DidUpdate")
BALANCES_TOTAL_ISSUANCE = storage_prefix("Balances", "TotalIssuance")
BALANCES_INACTIVE_ISSUANCE = storage_prefix("Balances", "InactiveIssuance")
PAYMENT_NEXT_FEE_MULTIPLIER = storage_prefix("TransactionPayment", "NextFeeMultiplier")
SUDO_KEY = storage_prefix("Sudo", "Key")


@lru_cache(maxsize=65536)
def account(who: bytes) -> bytes:
    return SYSTEM_ACCOUNT + blake2_128_concat(who)


def block_hash(number: int) -> bytes:
    return SYSTEM_BLOCK_HASH + twox_64_concat(u32(number))


def map_blake2(prefix: bytes, key: bytes) -> bytes:
    return prefix + blake2_128_concat(key)


def double_map_blake2(prefix: bytes, key1: bytes, key2: bytes) -> bytes:
    return prefix + blake2_128_concat(key1) + blake2_128_concat(key2)


def u64_key(value: int) -> bytes:
    return u64(value)
