//! On-chain records of the DecentralML pallet. Their SCALE layout is normative
//! (see `pallet-spec/README.md`): field order here is the encoding order.

use crate::{BalanceOf, Config};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;

/// Task identifier, allocated from `NextTaskId` starting at 0.
pub type TaskId = u64;
/// Submission (assignment) identifier, allocated from `NextSubmissionId` starting at 0.
pub type SubmissionId = u64;
/// A 32-byte SHA-256 content digest.
pub type Digest = [u8; 32];

/// What kind of work a task asks for.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub enum TaskType {
	/// Label or annotate data files.
	DataAnnotators,
	/// Train a model on one's own data and send back the trained weights.
	ModelContributor,
	/// Engineer a model (architecture, code) and send back the bundle.
	ModelEngineer,
}

/// How results of a task are validated before payment.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub enum ValidationStrategy {
	/// A result is accepted and paid as soon as it is submitted.
	AutoAccept,
	/// The creator inspects each result and accepts or rejects it.
	ManualAccept,
	/// The creator runs their own validation (e.g. a metric threshold) and records it.
	CustomAccept,
}

/// Where an asset lives. Only the location is stored; never credentials.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub enum StorageType {
	/// IPFS (uri is a CID or ipfs:// URI).
	IPFS,
	/// Crust network.
	Crust,
	/// Amazon S3 or an S3-compatible store (uri s3://bucket/key).
	S3,
	/// Google Cloud Storage.
	GCP,
	/// Azure Blob Storage.
	Azure,
	/// A local path or file:// URI (development only).
	Local,
}

/// Lifecycle of a task.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub enum TaskStatus {
	/// Accepting assignments and results.
	Open,
	/// Every slot has an accepted (paid) result.
	Completed,
	/// Closed by the creator or after expiry; unspent escrow refunded.
	Closed,
}

/// Lifecycle of one submission (one worker holding one slot of a task).
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub enum ResultSubmissionStatus {
	/// The worker holds a slot and has not sent a result yet.
	Assigned,
	/// A result was sent and waits for the creator.
	PendingValidation,
	/// The creator recorded a validation outcome; waits for accept or reject.
	Validated,
	/// The result was accepted and the reward paid.
	Accepted,
	/// The result was rejected; the slot was freed.
	Rejected,
	/// The slot was released because its deadline or the task's expiry passed without a result.
	Expired,
}

/// A reference to an off-chain asset: where it is and its content digest.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(T))]
pub struct AssetRef<T: Config> {
	/// The storage system holding the asset.
	pub storage: StorageType,
	/// Location inside that storage (CID, URI, key); non-empty, at most `MaxUriLen` bytes.
	pub uri: BoundedVec<u8, T::MaxUriLen>,
	/// SHA-256 digest of the asset's content.
	pub digest: Digest,
}

/// The assets a task provides to its workers, typed per task type.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(T))]
pub enum TaskAssets<T: Config> {
	/// For `TaskType::DataAnnotators`.
	DataAnnotators {
		/// The files to annotate.
		annotation_files: AssetRef<T>,
	},
	/// For `TaskType::ModelContributor`.
	ModelContributor {
		/// The contributor bundle (training code, config).
		contributor_bundle: AssetRef<T>,
		/// Optional starting model.
		base_model: Option<AssetRef<T>>,
	},
	/// For `TaskType::ModelEngineer`.
	ModelEngineer {
		/// The engineer bundle.
		engineer_bundle: AssetRef<T>,
	},
}

impl<T: Config> TaskAssets<T> {
	/// The task type these assets belong to.
	pub fn task_type(&self) -> TaskType {
		match self {
			TaskAssets::DataAnnotators { .. } => TaskType::DataAnnotators,
			TaskAssets::ModelContributor { .. } => TaskType::ModelContributor,
			TaskAssets::ModelEngineer { .. } => TaskType::ModelEngineer,
		}
	}

	/// Every asset reference, in declaration order.
	pub fn refs(&self) -> impl Iterator<Item = &AssetRef<T>> {
		let (first, second) = match self {
			TaskAssets::DataAnnotators { annotation_files } => (annotation_files, None),
			TaskAssets::ModelContributor { contributor_bundle, base_model } => {
				(contributor_bundle, base_model.as_ref())
			}
			TaskAssets::ModelEngineer { engineer_bundle } => (engineer_bundle, None),
		};
		core::iter::once(first).chain(second)
	}

	/// Total URI bytes of every reference (drives the weight of `create_task`).
	pub fn uri_len(&self) -> u32 {
		self.refs().map(|r| r.uri.len() as u32).sum()
	}
}

/// The validation outcome a creator recorded.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct Validation {
	/// Whether the result passed the creator's validation.
	pub passed: bool,
	/// Score in basis points, 0..=10_000.
	pub score: u32,
}

/// A task record (`Tasks` value).
#[derive(
	Encode, Decode, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, TypeInfo, MaxEncodedLen,
)]
#[scale_info(skip_type_params(T))]
pub struct Task<T: Config> {
	/// Who created (and funds) the task.
	pub creator: T::AccountId,
	/// Kind of work.
	pub task_type: TaskType,
	/// Human-readable description; non-empty.
	pub question: BoundedVec<u8, T::MaxQuestionLen>,
	/// Reward paid per accepted result.
	pub pays_amount: BalanceOf<T>,
	/// Number of results the creator wants (and funds).
	pub max_assignments: u32,
	/// How results are validated.
	pub validation_strategy: ValidationStrategy,
	/// First block at which the task counts as expired.
	pub expiration_block: BlockNumberFor<T>,
	/// Blocks a worker may hold a slot without sending a result.
	pub assignment_deadline: BlockNumberFor<T>,
	/// Assets given to workers.
	pub assets: TaskAssets<T>,
	/// Lifecycle state.
	pub status: TaskStatus,
	/// Block of creation.
	pub created_at: BlockNumberFor<T>,
	/// Live (occupied, undecided) slots: submissions in Assigned, PendingValidation or Validated.
	pub assigned: u32,
	/// Accepted (paid) results.
	pub accepted: u32,
	/// Total paid out of escrow so far.
	pub paid: BalanceOf<T>,
}

/// A submission record (`Submissions` value).
#[derive(
	Encode, Decode, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, TypeInfo, MaxEncodedLen,
)]
#[scale_info(skip_type_params(T))]
pub struct Submission<T: Config> {
	/// The task this slot belongs to.
	pub task_id: TaskId,
	/// The worker holding the slot.
	pub worker: T::AccountId,
	/// Lifecycle state.
	pub status: ResultSubmissionStatus,
	/// Block of assignment.
	pub assigned_at: BlockNumberFor<T>,
	/// Last block at which the result may be sent.
	pub deadline: BlockNumberFor<T>,
	/// Reference to the result, once sent.
	pub result: Option<AssetRef<T>>,
	/// Optional small inline result (e.g. metrics JSON).
	pub inline_result: Option<BoundedVec<u8, T::MaxInlineResultLen>>,
	/// Optional digest of the lineage record of the computation.
	pub lineage_digest: Option<Digest>,
	/// Block at which the result was sent.
	pub submitted_at: Option<BlockNumberFor<T>>,
	/// Validation outcome recorded by the creator.
	pub validation: Option<Validation>,
	/// Reward paid for this submission (0 until accepted).
	pub paid: BalanceOf<T>,
}
