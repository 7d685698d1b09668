//! # DecentralML pallet
//!
//! A marketplace for ML work: a creator posts a task and escrows its rewards, workers
//! take slots, send results (references to off-chain assets plus an optional small
//! inline result), the creator validates, accepts (pays from escrow) or rejects (frees
//! the slot), and the creator (or anyone after expiry) closes the task to get the
//! unspent escrow back. The normative specification is `pallet-spec/README.md`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod types;
pub mod weights;

#[cfg(any(feature = "runtime-benchmarks", test))]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use types::*;
pub use weights::WeightInfo;

use frame_support::traits::fungible::Inspect;

/// Balance type of the configured currency.
pub type BalanceOf<T> = <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use crate::types::Task;
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::{fungible::Mutate, tokens::Preservation},
		PalletId,
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::{
		traits::{AccountIdConversion, CheckedMul, Saturating, Zero},
		ArithmeticError,
	};

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency holding escrow and paying rewards.
		type Currency: Mutate<Self::AccountId>;
		/// Identifier from which per-task escrow accounts are derived (`b"decentml"`).
		#[pallet::constant]
		type PalletId: Get<PalletId>;
		/// Maximum bytes of a task question.
		#[pallet::constant]
		type MaxQuestionLen: Get<u32>;
		/// Maximum bytes of an asset URI.
		#[pallet::constant]
		type MaxUriLen: Get<u32>;
		/// Maximum bytes of an inline result.
		#[pallet::constant]
		type MaxInlineResultLen: Get<u32>;
		/// Maximum `max_assignments` of a task.
		#[pallet::constant]
		type MaxAssignmentsPerTask: Get<u32>;
		/// Minimum reward per assignment. At least the currency's existential deposit, so that
		/// a reward can always be paid to a new account (checked by `integrity_test`).
		#[pallet::constant]
		type MinReward: Get<BalanceOf<Self>>;
		/// Weights of the calls (`weights::SubstrateWeight<Runtime>`).
		type WeightInfo: WeightInfo;
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// The configuration can hold the pallet's promises: a reward can be paid to a new
		/// account, and a task can have at least one slot, a question and asset URIs.
		fn integrity_test() {
			use frame_support::traits::fungible::Inspect as _;
			assert!(
				T::MinReward::get() >= T::Currency::minimum_balance(),
				"MinReward must be at least the existential deposit: a smaller reward cannot be paid to a new account"
			);
			assert!(T::MaxAssignmentsPerTask::get() >= 1, "MaxAssignmentsPerTask must be at least 1");
			assert!(T::MaxQuestionLen::get() >= 1, "MaxQuestionLen must be at least 1");
			assert!(T::MaxUriLen::get() >= 1, "MaxUriLen must be at least 1");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	/// The id the next created task gets.
	#[pallet::storage]
	pub type NextTaskId<T> = StorageValue<_, TaskId, ValueQuery>;

	/// Every task ever created.
	#[pallet::storage]
	pub type Tasks<T: Config> = StorageMap<_, Blake2_128Concat, TaskId, Task<T>, OptionQuery>;

	/// The id the next assignment gets.
	#[pallet::storage]
	pub type NextSubmissionId<T> = StorageValue<_, SubmissionId, ValueQuery>;

	/// Every submission (assignment) ever made.
	#[pallet::storage]
	pub type Submissions<T: Config> =
		StorageMap<_, Blake2_128Concat, SubmissionId, Submission<T>, OptionQuery>;

	/// Index: the submissions of each task.
	#[pallet::storage]
	pub type TaskSubmissions<T> =
		StorageDoubleMap<_, Blake2_128Concat, TaskId, Blake2_128Concat, SubmissionId, (), OptionQuery>;

	/// Index: the submissions of each worker.
	#[pallet::storage]
	pub type WorkerSubmissions<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Blake2_128Concat, SubmissionId, (), OptionQuery>;

	/// Index: the tasks whose status is Open.
	#[pallet::storage]
	pub type OpenTasks<T> = StorageMap<_, Blake2_128Concat, TaskId, (), OptionQuery>;

	/// The live submissions (Assigned, PendingValidation, Validated) of each open task,
	/// in assignment order. Absent when empty.
	#[pallet::storage]
	pub type LiveSubmissions<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		TaskId,
		BoundedVec<SubmissionId, T::MaxAssignmentsPerTask>,
		ValueQuery,
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A task was created and its escrow funded.
		TaskCreated {
			task_id: TaskId,
			creator: T::AccountId,
			task_type: TaskType,
			pays_amount: BalanceOf<T>,
			max_assignments: u32,
			escrow: BalanceOf<T>,
			expiration_block: BlockNumberFor<T>,
		},
		/// A worker took a slot of a task.
		TaskAssigned {
			task_id: TaskId,
			submission_id: SubmissionId,
			worker: T::AccountId,
			deadline: BlockNumberFor<T>,
		},
		/// A slot held without a result was released (deadline or task expiry passed).
		AssignmentExpired { task_id: TaskId, submission_id: SubmissionId, worker: T::AccountId },
		/// A worker sent a result.
		TaskResultSubmitted {
			task_id: TaskId,
			submission_id: SubmissionId,
			worker: T::AccountId,
			result_digest: Digest,
		},
		/// The creator recorded a validation outcome.
		TaskResultValidated { task_id: TaskId, submission_id: SubmissionId, passed: bool, score: u32 },
		/// A result was accepted and its reward paid from escrow.
		TaskResultAccepted {
			task_id: TaskId,
			submission_id: SubmissionId,
			worker: T::AccountId,
			reward: BalanceOf<T>,
		},
		/// A result was rejected and its slot freed.
		TaskResultRejected { task_id: TaskId, submission_id: SubmissionId, worker: T::AccountId },
		/// Every slot of the task has an accepted result.
		TaskCompleted { task_id: TaskId, paid: BalanceOf<T> },
		/// The task was closed and the unspent escrow refunded to the creator.
		TaskClosed { task_id: TaskId, refund: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The question is empty: describe the task in the question field.
		EmptyQuestion,
		/// The reward per assignment is below the minimum reward (constant MinReward): offer at least the minimum.
		RewardTooLow,
		/// max_assignments must be between 1 and MaxAssignmentsPerTask.
		InvalidMaxAssignments,
		/// The expiration block is not in the future: choose a block after the current one.
		ExpirationInPast,
		/// The assignment deadline must be at least 1 block and at most the number of blocks until expiration.
		InvalidAssignmentDeadline,
		/// The assets do not match the task type: give the asset bundle that belongs to this task type.
		AssetsMismatchTaskType,
		/// An asset reference has an empty URI: upload the asset first and pass its location.
		EmptyUri,
		/// reward x max_assignments overflows the balance type: lower the reward or the number of assignments.
		EscrowOverflow,
		/// The creator cannot fund the escrow (reward x max_assignments) and keep the existential deposit: top up the account or lower the reward.
		InsufficientBalance,
		/// No task with this id exists: check the task id.
		TaskNotFound,
		/// The task is completed or closed and accepts no more work: pick another task.
		TaskNotOpen,
		/// The task has reached its expiration block: pick another task.
		TaskExpired,
		/// The task creator cannot take a slot of their own task: use another account.
		CreatorCannotAssign,
		/// You already hold a live submission of this task: send its result or wait for the creator's decision first.
		AlreadyAssigned,
		/// The task has no free slot: wait for a rejection or pick another task.
		NoFreeSlot,
		/// No submission with this id exists: check the submission id.
		SubmissionNotFound,
		/// Only the worker assigned to this submission can send its result.
		NotAssignedWorker,
		/// The submission is not waiting for a result (already sent, decided or expired).
		NotAwaitingResult,
		/// The assignment deadline has passed: take the task again if a slot is free.
		AssignmentDeadlinePassed,
		/// Only the task creator can do this.
		NotTaskCreator,
		/// The score must be between 0 and 10000 (basis points).
		InvalidScore,
		/// The submission has no result waiting for validation.
		NotPendingValidation,
		/// The submission has no result waiting for a decision (it is assigned, already decided or expired).
		NotAwaitingDecision,
		/// Only the task creator can close a task before its expiration block: wait for expiry.
		CloseNotAllowed,
		/// Results are waiting for validation or a decision: accept or reject them before closing.
		ResultsPendingDecision,
		/// Workers still hold slots within their deadline: wait for their deadline or the task's expiration.
		AssignmentsInProgress,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Create a task and escrow `pays_amount * max_assignments` from the caller into the
		/// task's escrow account (`escrow_account(task_id)`); the task gets the next task id.
		///
		/// - Origin: signed, the creator.
		/// - Emits `TaskCreated`.
		/// - Errors: `EmptyQuestion`, `RewardTooLow` (below `MinReward`),
		///   `InvalidMaxAssignments` (outside 1..=`MaxAssignmentsPerTask`), `ExpirationInPast`,
		///   `InvalidAssignmentDeadline`, `AssetsMismatchTaskType`, `EmptyUri`, `EscrowOverflow`,
		///   `InsufficientBalance` (the escrow would leave less than the existential deposit).
		/// - Weight: `create_task(question bytes + asset URI bytes)`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create_task(
			(question.len() as u32).saturating_add(assets.uri_len())
		))]
		pub fn create_task(
			origin: OriginFor<T>,
			task_type: TaskType,
			question: BoundedVec<u8, T::MaxQuestionLen>,
			#[pallet::compact] pays_amount: BalanceOf<T>,
			max_assignments: u32,
			validation_strategy: ValidationStrategy,
			expiration_block: BlockNumberFor<T>,
			assignment_deadline: BlockNumberFor<T>,
			assets: TaskAssets<T>,
		) -> DispatchResult {
			let creator = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(!question.is_empty(), Error::<T>::EmptyQuestion);
			ensure!(pays_amount >= T::MinReward::get(), Error::<T>::RewardTooLow);
			ensure!(
				max_assignments >= 1 && max_assignments <= T::MaxAssignmentsPerTask::get(),
				Error::<T>::InvalidMaxAssignments
			);
			ensure!(expiration_block > now, Error::<T>::ExpirationInPast);
			ensure!(
				!assignment_deadline.is_zero() && assignment_deadline <= expiration_block.saturating_sub(now),
				Error::<T>::InvalidAssignmentDeadline
			);
			ensure!(assets.task_type() == task_type, Error::<T>::AssetsMismatchTaskType);
			ensure!(assets.refs().all(|r| !r.uri.is_empty()), Error::<T>::EmptyUri);
			let escrow = pays_amount
				.checked_mul(&BalanceOf::<T>::from(max_assignments))
				.ok_or(Error::<T>::EscrowOverflow)?;

			let task_id = NextTaskId::<T>::get();
			let next = task_id.checked_add(1).ok_or(ArithmeticError::Overflow)?;
			T::Currency::transfer(&creator, &Self::escrow_account(task_id), escrow, Preservation::Preserve)
				.map_err(|_| Error::<T>::InsufficientBalance)?;

			NextTaskId::<T>::put(next);
			Tasks::<T>::insert(
				task_id,
				Task {
					creator: creator.clone(),
					task_type,
					question,
					pays_amount,
					max_assignments,
					validation_strategy,
					expiration_block,
					assignment_deadline,
					assets,
					status: TaskStatus::Open,
					created_at: now,
					assigned: 0,
					accepted: 0,
					paid: Zero::zero(),
				},
			);
			OpenTasks::<T>::insert(task_id, ());
			Self::deposit_event(Event::TaskCreated {
				task_id,
				creator,
				task_type,
				pays_amount,
				max_assignments,
				escrow,
				expiration_block,
			});
			Ok(())
		}

		/// Take a free slot of an open, unexpired task. Slots held past their deadline are
		/// released first (`AssignmentExpired` for each); the new submission gets the next
		/// submission id and a deadline of `now + assignment_deadline` (at most the task's
		/// expiration block).
		///
		/// - Origin: signed, the worker (not the creator).
		/// - Emits `AssignmentExpired` (zero or more), then `TaskAssigned`.
		/// - Errors: `TaskNotFound`, `TaskNotOpen`, `TaskExpired`, `CreatorCannotAssign`,
		///   `AlreadyAssigned` (the worker holds a live submission of the task), `NoFreeSlot`.
		/// - Weight: `assign_task(MaxAssignmentsPerTask)`, the worst case of live submissions.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::assign_task(T::MaxAssignmentsPerTask::get()))]
		pub fn assign_task(origin: OriginFor<T>, task_id: TaskId) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();
			let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::TaskNotFound)?;
			ensure!(task.status == TaskStatus::Open, Error::<T>::TaskNotOpen);
			ensure!(now < task.expiration_block, Error::<T>::TaskExpired);
			ensure!(worker != task.creator, Error::<T>::CreatorCannotAssign);

			let mut live = LiveSubmissions::<T>::get(task_id);
			Self::release_expired(task_id, &mut task, &mut live, now, false);
			for sid in live.iter() {
				let sub = Submissions::<T>::get(sid).ok_or(Error::<T>::SubmissionNotFound)?;
				ensure!(sub.worker != worker, Error::<T>::AlreadyAssigned);
			}
			ensure!(
				task.assigned.saturating_add(task.accepted) < task.max_assignments,
				Error::<T>::NoFreeSlot
			);

			let submission_id = NextSubmissionId::<T>::get();
			let next = submission_id.checked_add(1).ok_or(ArithmeticError::Overflow)?;
			live.try_push(submission_id).map_err(|_| Error::<T>::NoFreeSlot)?;
			let deadline = now.saturating_add(task.assignment_deadline).min(task.expiration_block);
			NextSubmissionId::<T>::put(next);
			Submissions::<T>::insert(
				submission_id,
				Submission {
					task_id,
					worker: worker.clone(),
					status: ResultSubmissionStatus::Assigned,
					assigned_at: now,
					deadline,
					result: None,
					inline_result: None,
					lineage_digest: None,
					submitted_at: None,
					validation: None,
					paid: Zero::zero(),
				},
			);
			TaskSubmissions::<T>::insert(task_id, submission_id, ());
			WorkerSubmissions::<T>::insert(&worker, submission_id, ());
			task.assigned = task.assigned.saturating_add(1);
			Tasks::<T>::insert(task_id, task);
			LiveSubmissions::<T>::insert(task_id, live);
			Self::deposit_event(Event::TaskAssigned { task_id, submission_id, worker, deadline });
			Ok(())
		}

		/// Send the result of an assigned submission, with an optional inline result and
		/// lineage digest. On an AutoAccept task the result is accepted and paid at once.
		///
		/// - Origin: signed, the worker of the submission.
		/// - Emits `TaskResultSubmitted`; on AutoAccept also `TaskResultAccepted` and, for the
		///   last slot, `TaskCompleted`.
		/// - Errors: `SubmissionNotFound`, `NotAssignedWorker`, `NotAwaitingResult`,
		///   `AssignmentDeadlinePassed`, `EmptyUri`, `TaskNotFound`.
		/// - Weight: `send_task_result(result URI bytes + inline result bytes)`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::send_task_result(
			(result.uri.len() as u32)
				.saturating_add(inline_result.as_ref().map_or(0, |r| r.len() as u32))
		))]
		pub fn send_task_result(
			origin: OriginFor<T>,
			submission_id: SubmissionId,
			result: AssetRef<T>,
			inline_result: Option<BoundedVec<u8, T::MaxInlineResultLen>>,
			lineage_digest: Option<Digest>,
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();
			let mut sub = Submissions::<T>::get(submission_id).ok_or(Error::<T>::SubmissionNotFound)?;
			ensure!(sub.worker == worker, Error::<T>::NotAssignedWorker);
			match sub.status {
				ResultSubmissionStatus::Assigned => {}
				ResultSubmissionStatus::Expired => return Err(Error::<T>::AssignmentDeadlinePassed.into()),
				_ => return Err(Error::<T>::NotAwaitingResult.into()),
			}
			ensure!(now <= sub.deadline, Error::<T>::AssignmentDeadlinePassed);
			ensure!(!result.uri.is_empty(), Error::<T>::EmptyUri);

			let task_id = sub.task_id;
			let result_digest = result.digest;
			sub.status = ResultSubmissionStatus::PendingValidation;
			sub.result = Some(result);
			sub.inline_result = inline_result;
			sub.lineage_digest = lineage_digest;
			sub.submitted_at = Some(now);
			Self::deposit_event(Event::TaskResultSubmitted { task_id, submission_id, worker, result_digest });
			let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::TaskNotFound)?;
			if task.validation_strategy == ValidationStrategy::AutoAccept {
				Self::do_accept(submission_id, &mut sub, &mut task)?;
				Tasks::<T>::insert(task_id, task);
			}
			Submissions::<T>::insert(submission_id, sub);
			Ok(())
		}

		/// Record the creator's validation outcome (`passed`, `score` in basis points) of a
		/// result waiting for validation. It decides nothing: accept or reject follows.
		///
		/// - Origin: signed, the task creator.
		/// - Emits `TaskResultValidated`.
		/// - Errors: `SubmissionNotFound`, `TaskNotFound`, `NotTaskCreator`, `InvalidScore`
		///   (above 10_000), `NotPendingValidation`.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::validate_task_result())]
		pub fn validate_task_result(
			origin: OriginFor<T>,
			submission_id: SubmissionId,
			passed: bool,
			score: u32,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut sub = Submissions::<T>::get(submission_id).ok_or(Error::<T>::SubmissionNotFound)?;
			let task = Tasks::<T>::get(sub.task_id).ok_or(Error::<T>::TaskNotFound)?;
			ensure!(who == task.creator, Error::<T>::NotTaskCreator);
			ensure!(score <= 10_000, Error::<T>::InvalidScore);
			ensure!(
				sub.status == ResultSubmissionStatus::PendingValidation,
				Error::<T>::NotPendingValidation
			);
			sub.status = ResultSubmissionStatus::Validated;
			sub.validation = Some(Validation { passed, score });
			let task_id = sub.task_id;
			Submissions::<T>::insert(submission_id, sub);
			Self::deposit_event(Event::TaskResultValidated { task_id, submission_id, passed, score });
			Ok(())
		}

		/// Accept a result (pending or validated) and pay its reward from the task's escrow
		/// to the worker; the task completes when every slot is accepted.
		///
		/// - Origin: signed, the task creator.
		/// - Emits `TaskResultAccepted`, and `TaskCompleted` for the last slot.
		/// - Errors: `SubmissionNotFound`, `TaskNotFound`, `NotTaskCreator`,
		///   `NotAwaitingDecision`.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::accept_task_result())]
		pub fn accept_task_result(origin: OriginFor<T>, submission_id: SubmissionId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut sub = Submissions::<T>::get(submission_id).ok_or(Error::<T>::SubmissionNotFound)?;
			let mut task = Tasks::<T>::get(sub.task_id).ok_or(Error::<T>::TaskNotFound)?;
			ensure!(who == task.creator, Error::<T>::NotTaskCreator);
			Self::ensure_awaiting_decision(&sub)?;
			let task_id = sub.task_id;
			Self::do_accept(submission_id, &mut sub, &mut task)?;
			Tasks::<T>::insert(task_id, task);
			Submissions::<T>::insert(submission_id, sub);
			Ok(())
		}

		/// Reject a result (pending or validated): its slot is freed and its reward stays in
		/// escrow for another worker.
		///
		/// - Origin: signed, the task creator.
		/// - Emits `TaskResultRejected`.
		/// - Errors: `SubmissionNotFound`, `TaskNotFound`, `NotTaskCreator`,
		///   `NotAwaitingDecision`.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::reject_task_result())]
		pub fn reject_task_result(origin: OriginFor<T>, submission_id: SubmissionId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut sub = Submissions::<T>::get(submission_id).ok_or(Error::<T>::SubmissionNotFound)?;
			let task_id = sub.task_id;
			let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::TaskNotFound)?;
			ensure!(who == task.creator, Error::<T>::NotTaskCreator);
			Self::ensure_awaiting_decision(&sub)?;
			sub.status = ResultSubmissionStatus::Rejected;
			task.assigned = task.assigned.saturating_sub(1);
			LiveSubmissions::<T>::mutate_exists(task_id, |live| {
				if let Some(l) = live {
					l.retain(|s| *s != submission_id);
					if l.is_empty() {
						*live = None;
					}
				}
			});
			let worker = sub.worker.clone();
			Tasks::<T>::insert(task_id, task);
			Submissions::<T>::insert(submission_id, sub);
			Self::deposit_event(Event::TaskResultRejected { task_id, submission_id, worker });
			Ok(())
		}

		/// Close an open task and refund its unspent escrow to the creator. Before the
		/// expiration block only the creator may close, and only when no worker holds a slot
		/// within its deadline; from the expiration block anyone may, and held slots expire.
		///
		/// - Origin: signed, the creator (anyone from the task's expiration block).
		/// - Emits `AssignmentExpired` (zero or more), then `TaskClosed`.
		/// - Errors: `TaskNotFound`, `TaskNotOpen`, `CloseNotAllowed`, `ResultsPendingDecision`,
		///   `AssignmentsInProgress`, `EscrowOverflow`.
		/// - Weight: `close_task(MaxAssignmentsPerTask)`, the worst case of live submissions.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::close_task(T::MaxAssignmentsPerTask::get()))]
		pub fn close_task(origin: OriginFor<T>, task_id: TaskId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();
			let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::TaskNotFound)?;
			ensure!(task.status == TaskStatus::Open, Error::<T>::TaskNotOpen);
			let expired = now >= task.expiration_block;
			ensure!(who == task.creator || expired, Error::<T>::CloseNotAllowed);
			let mut live = LiveSubmissions::<T>::get(task_id);
			for sid in live.iter() {
				let sub = Submissions::<T>::get(sid).ok_or(Error::<T>::SubmissionNotFound)?;
				match sub.status {
					ResultSubmissionStatus::PendingValidation | ResultSubmissionStatus::Validated => {
						return Err(Error::<T>::ResultsPendingDecision.into())
					}
					_ => {}
				}
			}
			for sid in live.iter() {
				let sub = Submissions::<T>::get(sid).ok_or(Error::<T>::SubmissionNotFound)?;
				if sub.status == ResultSubmissionStatus::Assigned && !expired && now <= sub.deadline {
					return Err(Error::<T>::AssignmentsInProgress.into());
				}
			}
			Self::release_expired(task_id, &mut task, &mut live, now, true);

			let escrow = task
				.pays_amount
				.checked_mul(&BalanceOf::<T>::from(task.max_assignments))
				.ok_or(Error::<T>::EscrowOverflow)?;
			let refund = escrow.saturating_sub(task.paid);
			if !refund.is_zero() {
				T::Currency::transfer(
					&Self::escrow_account(task_id),
					&task.creator,
					refund,
					Preservation::Expendable,
				)?;
			}
			task.status = TaskStatus::Closed;
			Tasks::<T>::insert(task_id, task);
			OpenTasks::<T>::remove(task_id);
			LiveSubmissions::<T>::remove(task_id);
			Self::deposit_event(Event::TaskClosed { task_id, refund });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// The pallet's invariants, checked by the `try_state` hook (try-runtime builds) and
		/// after every step of the property tests:
		/// - ids: every task id is below `NextTaskId`, every submission id below
		///   `NextSubmissionId`; the `TaskSubmissions` and `WorkerSubmissions` indexes match
		///   the submissions;
		/// - money: a submission is paid the task's reward once, only when accepted; a task's
		///   `paid` is the sum of its submissions' payments; the escrow of an open task holds
		///   at least the unspent rewards `pays_amount * max_assignments - paid`;
		/// - slots: `accepted` counts the accepted submissions, `assigned` the live ones
		///   (Assigned, PendingValidation, Validated), `assigned + accepted <= max_assignments`;
		///   `LiveSubmissions` lists exactly the live submissions of an open task and nothing
		///   for a completed or closed one; `OpenTasks` holds exactly the open tasks.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use frame_support::traits::fungible::Inspect as _;
			let is_live = |s: ResultSubmissionStatus| {
				matches!(
					s,
					ResultSubmissionStatus::Assigned
						| ResultSubmissionStatus::PendingValidation
						| ResultSubmissionStatus::Validated
				)
			};
			let next_task = NextTaskId::<T>::get();
			for (task_id, task) in Tasks::<T>::iter() {
				ensure!(task_id < next_task, "a task id is not below NextTaskId");
				ensure!(
					task.assigned.saturating_add(task.accepted) <= task.max_assignments,
					"a task has more live and accepted slots than max_assignments"
				);
				let mut paid = BalanceOf::<T>::zero();
				let (mut accepted, mut live) = (0u32, 0u32);
				for (sid, ()) in TaskSubmissions::<T>::iter_prefix(task_id) {
					let sub = Submissions::<T>::get(sid).ok_or("TaskSubmissions lists a missing submission")?;
					ensure!(sub.task_id == task_id, "TaskSubmissions lists a submission of another task");
					ensure!(
						WorkerSubmissions::<T>::contains_key(&sub.worker, sid),
						"WorkerSubmissions misses a submission"
					);
					if sub.status == ResultSubmissionStatus::Accepted {
						ensure!(sub.paid == task.pays_amount, "an accepted submission was not paid the reward");
						accepted = accepted.saturating_add(1);
					} else {
						ensure!(sub.paid.is_zero(), "a submission that is not accepted was paid");
					}
					if is_live(sub.status) {
						live = live.saturating_add(1);
					}
					paid = paid.saturating_add(sub.paid);
				}
				ensure!(paid == task.paid, "a task's paid is not the sum of its submissions' payments");
				ensure!(accepted == task.accepted, "a task's accepted is not its accepted submissions");
				ensure!(live == task.assigned, "a task's assigned is not its live submissions");
				let listed = LiveSubmissions::<T>::get(task_id);
				if task.status == TaskStatus::Open {
					ensure!(OpenTasks::<T>::contains_key(task_id), "an open task is missing from OpenTasks");
					ensure!(listed.len() as u32 == live, "LiveSubmissions does not list the live submissions");
					for sid in listed.iter() {
						let sub = Submissions::<T>::get(sid).ok_or("LiveSubmissions lists a missing submission")?;
						ensure!(
							sub.task_id == task_id && is_live(sub.status),
							"LiveSubmissions lists a submission that is not live"
						);
					}
					let escrow = task
						.pays_amount
						.checked_mul(&BalanceOf::<T>::from(task.max_assignments))
						.ok_or("a task's escrow overflows")?;
					ensure!(
						T::Currency::balance(&Self::escrow_account(task_id)) >= escrow.saturating_sub(task.paid),
						"an escrow account holds less than the task's unspent rewards"
					);
				} else {
					ensure!(!OpenTasks::<T>::contains_key(task_id), "a completed or closed task is in OpenTasks");
					ensure!(listed.is_empty(), "a completed or closed task has live submissions");
				}
			}
			let next_submission = NextSubmissionId::<T>::get();
			for (sid, sub) in Submissions::<T>::iter() {
				ensure!(sid < next_submission, "a submission id is not below NextSubmissionId");
				ensure!(
					TaskSubmissions::<T>::contains_key(sub.task_id, sid),
					"TaskSubmissions misses a submission"
				);
			}
			for (task_id, ()) in OpenTasks::<T>::iter() {
				ensure!(
					Tasks::<T>::get(task_id).is_some_and(|t| t.status == TaskStatus::Open),
					"OpenTasks lists a task that is not open"
				);
			}
			Ok(())
		}

		/// The escrow account of a task: `PalletId` sub-account of the task id.
		pub fn escrow_account(task_id: TaskId) -> T::AccountId {
			T::PalletId::get().into_sub_account_truncating(task_id)
		}

		fn ensure_awaiting_decision(sub: &Submission<T>) -> DispatchResult {
			match sub.status {
				ResultSubmissionStatus::PendingValidation | ResultSubmissionStatus::Validated => Ok(()),
				_ => Err(Error::<T>::NotAwaitingDecision.into()),
			}
		}

		/// Expire the live Assigned submissions whose deadline passed (or all of them when
		/// `all`), in assignment order, emitting `AssignmentExpired` for each.
		fn release_expired(
			task_id: TaskId,
			task: &mut Task<T>,
			live: &mut BoundedVec<SubmissionId, T::MaxAssignmentsPerTask>,
			now: BlockNumberFor<T>,
			all: bool,
		) {
			let mut kept: Vec<SubmissionId> = Vec::new();
			for sid in live.iter() {
				let Some(mut sub) = Submissions::<T>::get(sid) else { continue };
				if sub.status == ResultSubmissionStatus::Assigned && (all || now > sub.deadline) {
					sub.status = ResultSubmissionStatus::Expired;
					task.assigned = task.assigned.saturating_sub(1);
					let worker = sub.worker.clone();
					Submissions::<T>::insert(sid, sub);
					Self::deposit_event(Event::AssignmentExpired { task_id, submission_id: *sid, worker });
				} else {
					kept.push(*sid);
				}
			}
			*live = BoundedVec::truncate_from(kept);
		}

		/// Pay a pending result from escrow and mark it accepted; completes the task when
		/// every slot is accepted. The caller writes `sub` and `task` back.
		fn do_accept(
			submission_id: SubmissionId,
			sub: &mut Submission<T>,
			task: &mut Task<T>,
		) -> DispatchResult {
			let task_id = sub.task_id;
			let reward = task.pays_amount;
			T::Currency::transfer(
				&Self::escrow_account(task_id),
				&sub.worker,
				reward,
				Preservation::Expendable,
			)?;
			sub.status = ResultSubmissionStatus::Accepted;
			sub.paid = reward;
			task.assigned = task.assigned.saturating_sub(1);
			task.accepted = task.accepted.saturating_add(1);
			task.paid = task.paid.saturating_add(reward);
			LiveSubmissions::<T>::mutate_exists(task_id, |live| {
				if let Some(l) = live {
					l.retain(|s| *s != submission_id);
					if l.is_empty() {
						*live = None;
					}
				}
			});
			Self::deposit_event(Event::TaskResultAccepted {
				task_id,
				submission_id,
				worker: sub.worker.clone(),
				reward,
			});
			if task.accepted >= task.max_assignments {
				task.status = TaskStatus::Completed;
				OpenTasks::<T>::remove(task_id);
				LiveSubmissions::<T>::remove(task_id);
				Self::deposit_event(Event::TaskCompleted { task_id, paid: task.paid });
			}
			Ok(())
		}
	}
}
