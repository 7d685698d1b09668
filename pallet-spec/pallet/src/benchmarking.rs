//! FRAME benchmarks of every call, each over its worst case: arguments at their maximal
//! length, tasks with `MaxAssignmentsPerTask` slots, and, for `assign_task` and
//! `close_task`, up to `MaxAssignmentsPerTask` live submissions that all expire in the call.
//! A runtime built with the `runtime-benchmarks` feature runs them with the FRAME
//! benchmarking CLI; `cargo test` runs each once against the mock runtime
//! (`impl_benchmark_test_suite!`).

use super::*;
use crate::Pallet as DecentralML;
use alloc::vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_runtime::traits::{Saturating, Zero};

/// Blocks until a benchmark task expires, and the assignment deadline within it.
const EXPIRES_IN: u32 = 1_000;
const DEADLINE: u32 = 10;

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	// Enough for the largest escrow (MinReward x MaxAssignmentsPerTask) many times over.
	let amount = T::MinReward::get().saturating_mul(BalanceOf::<T>::from(1_000_000u32));
	T::Currency::set_balance(&who, amount);
	who
}

fn bytes<S: Get<u32>>(len: u32) -> BoundedVec<u8, S> {
	BoundedVec::truncate_from(vec![b'x'; len as usize])
}

fn asset<T: Config>(uri_len: u32) -> AssetRef<T> {
	AssetRef { storage: StorageType::IPFS, uri: bytes(uri_len.max(1)), digest: [7; 32] }
}

fn now<T: Config>() -> BlockNumberFor<T> {
	frame_system::Pallet::<T>::block_number()
}

fn advance<T: Config>(blocks: u32) {
	frame_system::Pallet::<T>::set_block_number(now::<T>().saturating_add(blocks.into()));
}

/// A ModelContributor task with two maximal asset URIs, created by a funded creator.
fn create<T: Config>(max_assignments: u32, strategy: ValidationStrategy) -> (T::AccountId, TaskId) {
	let creator = funded::<T>("creator", 0);
	let task_id = NextTaskId::<T>::get();
	DecentralML::<T>::create_task(
		RawOrigin::Signed(creator.clone()).into(),
		TaskType::ModelContributor,
		bytes(T::MaxQuestionLen::get()),
		T::MinReward::get(),
		max_assignments,
		strategy,
		now::<T>().saturating_add(EXPIRES_IN.into()),
		DEADLINE.into(),
		TaskAssets::ModelContributor {
			contributor_bundle: asset::<T>(T::MaxUriLen::get()),
			base_model: Some(asset::<T>(T::MaxUriLen::get())),
		},
	)
	.expect("benchmark task is valid");
	(creator, task_id)
}

/// `n` workers take a slot of `task_id`; returns the last submission id.
fn assign_workers<T: Config>(task_id: TaskId, n: u32) -> SubmissionId {
	for i in 0..n {
		let worker = funded::<T>("worker", i);
		DecentralML::<T>::assign_task(RawOrigin::Signed(worker).into(), task_id).expect("a slot is free");
	}
	NextSubmissionId::<T>::get().saturating_sub(1)
}

/// A worker takes a slot of a new task and sends a maximal result; returns (creator, submission).
fn pending_result<T: Config>(strategy: ValidationStrategy) -> (T::AccountId, SubmissionId) {
	let (creator, task_id) = create::<T>(1, strategy);
	let worker = funded::<T>("worker", 0);
	DecentralML::<T>::assign_task(RawOrigin::Signed(worker.clone()).into(), task_id).expect("a slot is free");
	let sid = NextSubmissionId::<T>::get() - 1;
	DecentralML::<T>::send_task_result(
		RawOrigin::Signed(worker).into(),
		sid,
		asset::<T>(T::MaxUriLen::get()),
		Some(bytes(T::MaxInlineResultLen::get())),
		Some([9; 32]),
	)
	.expect("the result is sent in time");
	(creator, sid)
}

fn assert_last_event<T: Config>(event: Event<T>) {
	let event: <T as frame_system::Config>::RuntimeEvent = event.into();
	frame_system::Pallet::<T>::assert_last_event(event);
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// `q` question bytes; both asset URIs at `MaxUriLen`; `MaxAssignmentsPerTask` slots.
	#[benchmark]
	fn create_task(q: Linear<1, { T::MaxQuestionLen::get() }>) {
		let creator = funded::<T>("creator", 0);
		let max = T::MaxAssignmentsPerTask::get();
		let assets = TaskAssets::ModelContributor {
			contributor_bundle: asset::<T>(T::MaxUriLen::get()),
			base_model: Some(asset::<T>(T::MaxUriLen::get())),
		};
		let expiration = now::<T>().saturating_add(EXPIRES_IN.into());

		#[extrinsic_call]
		_(
			RawOrigin::Signed(creator),
			TaskType::ModelContributor,
			bytes(q),
			T::MinReward::get(),
			max,
			ValidationStrategy::ManualAccept,
			expiration,
			DEADLINE.into(),
			assets,
		);

		assert_eq!(NextTaskId::<T>::get(), 1);
		assert!(OpenTasks::<T>::contains_key(0));
	}

	/// `n` live submissions whose deadline has passed: all are released before the slot is taken.
	#[benchmark]
	fn assign_task(n: Linear<0, { T::MaxAssignmentsPerTask::get() }>) {
		let (_, task_id) = create::<T>(T::MaxAssignmentsPerTask::get(), ValidationStrategy::ManualAccept);
		assign_workers::<T>(task_id, n);
		advance::<T>(DEADLINE + 1);
		let worker = funded::<T>("late worker", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(worker), task_id);

		assert_eq!(LiveSubmissions::<T>::get(task_id).len(), 1);
		assert_eq!(Tasks::<T>::get(task_id).expect("task exists").assigned, 1);
	}

	/// Maximal result URI and `i` inline result bytes on an AutoAccept task whose last slot
	/// this result fills: the worker is paid and the task completes.
	#[benchmark]
	fn send_task_result(i: Linear<0, { T::MaxInlineResultLen::get() }>) {
		let (_, task_id) = create::<T>(1, ValidationStrategy::AutoAccept);
		let sid = assign_workers::<T>(task_id, 1);
		let worker = Submissions::<T>::get(sid).expect("submission exists").worker;
		let inline = if i.is_zero() { None } else { Some(bytes(i)) };

		#[extrinsic_call]
		_(RawOrigin::Signed(worker), sid, asset::<T>(T::MaxUriLen::get()), inline, Some([9; 32]));

		assert_last_event::<T>(Event::TaskCompleted { task_id, paid: T::MinReward::get() });
	}

	#[benchmark]
	fn validate_task_result() {
		let (creator, sid) = pending_result::<T>(ValidationStrategy::CustomAccept);

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), sid, true, 10_000);

		assert_eq!(
			Submissions::<T>::get(sid).expect("submission exists").status,
			ResultSubmissionStatus::Validated
		);
	}

	/// Accepting the last slot: the worker is paid and the task completes.
	#[benchmark]
	fn accept_task_result() {
		let (creator, sid) = pending_result::<T>(ValidationStrategy::ManualAccept);

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), sid);

		assert_last_event::<T>(Event::TaskCompleted { task_id: 0, paid: T::MinReward::get() });
	}

	#[benchmark]
	fn reject_task_result() {
		let (creator, sid) = pending_result::<T>(ValidationStrategy::ManualAccept);

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), sid);

		assert!(LiveSubmissions::<T>::get(0).is_empty());
	}

	/// Closing an expired task (by someone other than the creator) whose `n` live
	/// submissions all expire; the whole escrow is refunded.
	#[benchmark]
	fn close_task(n: Linear<0, { T::MaxAssignmentsPerTask::get() }>) {
		let (_, task_id) = create::<T>(T::MaxAssignmentsPerTask::get(), ValidationStrategy::ManualAccept);
		assign_workers::<T>(task_id, n);
		advance::<T>(EXPIRES_IN);
		let closer = funded::<T>("closer", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(closer), task_id);

		assert_eq!(Tasks::<T>::get(task_id).expect("task exists").status, TaskStatus::Closed);
		assert!(LiveSubmissions::<T>::get(task_id).is_empty());
	}

	impl_benchmark_test_suite!(DecentralML, crate::mock::new_test_ext(), crate::mock::Test);
}
