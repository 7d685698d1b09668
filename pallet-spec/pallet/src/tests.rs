//! Unit tests: every call's success path and every error, money invariants, weights.

use crate::{
	mock::*, AssetRef, Call as DmlCall, Error, Event, LiveSubmissions, NextSubmissionId, NextTaskId,
	OpenTasks, ResultSubmissionStatus, StorageType, Submissions, TaskAssets, TaskStatus, TaskSubmissions,
	TaskType, Tasks, ValidationStrategy, WorkerSubmissions,
};
use frame_support::{
	assert_noop, assert_ok,
	dispatch::GetDispatchInfo,
	traits::{fungible::Inspect, Get},
};
use sp_runtime::{AccountId32, DispatchError};

type E = Error<Test>;

fn asset(uri: &str) -> AssetRef<Test> {
	AssetRef {
		storage: StorageType::IPFS,
		uri: uri.as_bytes().to_vec().try_into().unwrap(),
		digest: sp_io::hashing::sha2_256(uri.as_bytes()),
	}
}

fn contributor_assets() -> TaskAssets<Test> {
	TaskAssets::ModelContributor { contributor_bundle: asset("bafybundle"), base_model: None }
}

struct Params {
	task_type: TaskType,
	question: Vec<u8>,
	pays: Balance,
	max: u32,
	strategy: ValidationStrategy,
	expiration: u64,
	deadline: u64,
	assets: TaskAssets<Test>,
}

fn params(max: u32, strategy: ValidationStrategy) -> Params {
	Params {
		task_type: TaskType::ModelContributor,
		question: b"train it".to_vec(),
		pays: 100_000,
		max,
		strategy,
		expiration: 100,
		deadline: 10,
		assets: contributor_assets(),
	}
}

fn create_with(who: u8, p: Params) -> sp_runtime::DispatchResult {
	DecentralML::create_task(
		RuntimeOrigin::signed(acc(who)),
		p.task_type,
		p.question.try_into().unwrap(),
		p.pays,
		p.max,
		p.strategy,
		p.expiration,
		p.deadline,
		p.assets,
	)
}

fn create(max: u32, strategy: ValidationStrategy) -> u64 {
	let id = NextTaskId::<Test>::get();
	assert_ok!(create_with(ALICE, params(max, strategy)));
	id
}

fn assign(who: u8, task: u64) -> sp_runtime::DispatchResult {
	DecentralML::assign_task(RuntimeOrigin::signed(acc(who)), task)
}

fn send(who: u8, sub: u64) -> sp_runtime::DispatchResult {
	DecentralML::send_task_result(
		RuntimeOrigin::signed(acc(who)),
		sub,
		asset("bafyresult"),
		Some(b"{\"acc\":0.9}".to_vec().try_into().unwrap()),
		Some([7u8; 32]),
	)
}

fn validate(who: u8, sub: u64, passed: bool, score: u32) -> sp_runtime::DispatchResult {
	DecentralML::validate_task_result(RuntimeOrigin::signed(acc(who)), sub, passed, score)
}

fn accept(who: u8, sub: u64) -> sp_runtime::DispatchResult {
	DecentralML::accept_task_result(RuntimeOrigin::signed(acc(who)), sub)
}

fn reject(who: u8, sub: u64) -> sp_runtime::DispatchResult {
	DecentralML::reject_task_result(RuntimeOrigin::signed(acc(who)), sub)
}

fn close(who: u8, task: u64) -> sp_runtime::DispatchResult {
	DecentralML::close_task(RuntimeOrigin::signed(acc(who)), task)
}

fn free(a: &AccountId32) -> Balance {
	Balances::balance(a)
}

fn escrow(task: u64) -> AccountId32 {
	DecentralML::escrow_account(task)
}

fn status(sub: u64) -> ResultSubmissionStatus {
	Submissions::<Test>::get(sub).unwrap().status
}

fn last_event() -> RuntimeEvent {
	System::events().pop().expect("an event").event
}

fn has_event(e: Event<Test>) -> bool {
	System::events().iter().any(|r| r.event == RuntimeEvent::DecentralML(e.clone()))
}

// ------------------------------------------------------------------ create_task

#[test]
fn create_task_escrows_and_records() {
	new_test_ext().execute_with(|| {
		let id = create(3, ValidationStrategy::ManualAccept);
		assert_eq!(id, 0);
		assert_eq!(NextTaskId::<Test>::get(), 1);
		assert_eq!(free(&acc(ALICE)), INITIAL - 300_000);
		assert_eq!(free(&escrow(0)), 300_000);
		let t = Tasks::<Test>::get(0).unwrap();
		assert_eq!(t.status, TaskStatus::Open);
		assert_eq!((t.assigned, t.accepted, t.paid, t.created_at), (0, 0, 0, 1));
		assert!(OpenTasks::<Test>::contains_key(0));
		assert_eq!(
			last_event(),
			RuntimeEvent::DecentralML(Event::TaskCreated {
				task_id: 0,
				creator: acc(ALICE),
				task_type: TaskType::ModelContributor,
				pays_amount: 100_000,
				max_assignments: 3,
				escrow: 300_000,
				expiration_block: 100,
			})
		);
	});
}

#[test]
fn escrow_account_layout() {
	new_test_ext().execute_with(|| {
		let mut want = [0u8; 32];
		want[..4].copy_from_slice(b"modl");
		want[4..12].copy_from_slice(b"decentml");
		want[12..20].copy_from_slice(&7u64.to_le_bytes());
		assert_eq!(escrow(7), AccountId32::new(want));
	});
}

#[test]
fn create_task_errors() {
	new_test_ext().execute_with(|| {
		let p = || params(1, ValidationStrategy::ManualAccept);
		assert_noop!(
			DecentralML::create_task(
				RuntimeOrigin::none(),
				TaskType::ModelContributor,
				b"q".to_vec().try_into().unwrap(),
				MIN_REWARD,
				1,
				ValidationStrategy::AutoAccept,
				10,
				1,
				contributor_assets()
			),
			DispatchError::BadOrigin
		);
		assert_noop!(create_with(ALICE, Params { question: vec![], ..p() }), E::EmptyQuestion);
		assert_noop!(create_with(ALICE, Params { pays: MIN_REWARD - 1, ..p() }), E::RewardTooLow);
		assert_noop!(create_with(ALICE, Params { max: 0, ..p() }), E::InvalidMaxAssignments);
		assert_noop!(create_with(ALICE, Params { max: 101, ..p() }), E::InvalidMaxAssignments);
		assert_noop!(create_with(ALICE, Params { expiration: 1, ..p() }), E::ExpirationInPast);
		assert_noop!(create_with(ALICE, Params { deadline: 0, ..p() }), E::InvalidAssignmentDeadline);
		assert_noop!(create_with(ALICE, Params { deadline: 100, ..p() }), E::InvalidAssignmentDeadline);
		assert_noop!(
			create_with(ALICE, Params { task_type: TaskType::DataAnnotators, ..p() }),
			E::AssetsMismatchTaskType
		);
		assert_noop!(
			create_with(
				ALICE,
				Params {
					task_type: TaskType::ModelEngineer,
					assets: TaskAssets::ModelEngineer { engineer_bundle: asset("") },
					..p()
				}
			),
			E::EmptyUri
		);
		assert_noop!(
			create_with(
				ALICE,
				Params {
					assets: TaskAssets::ModelContributor {
						contributor_bundle: asset("x"),
						base_model: Some(asset("")),
					},
					..p()
				}
			),
			E::EmptyUri
		);
		assert_noop!(create_with(ALICE, Params { pays: u128::MAX / 2, max: 3, ..p() }), E::EscrowOverflow);
		// Escrow equal to the whole balance would reap the creator: refused.
		assert_noop!(create_with(ALICE, Params { pays: INITIAL, ..p() }), E::InsufficientBalance);
		// Keeping exactly the existential deposit is allowed.
		assert_ok!(create_with(ALICE, Params { pays: INITIAL - ED, ..p() }));
		assert_eq!(free(&acc(ALICE)), ED);
	});
}

#[test]
fn every_task_type_accepts_its_assets() {
	new_test_ext().execute_with(|| {
		let p = || params(1, ValidationStrategy::AutoAccept);
		assert_ok!(create_with(
			ALICE,
			Params {
				task_type: TaskType::DataAnnotators,
				assets: TaskAssets::DataAnnotators { annotation_files: asset("files") },
				..p()
			}
		));
		assert_ok!(create_with(
			ALICE,
			Params {
				task_type: TaskType::ModelEngineer,
				assets: TaskAssets::ModelEngineer { engineer_bundle: asset("bundle") },
				..p()
			}
		));
		assert_ok!(create_with(ALICE, p()));
		assert_eq!(NextTaskId::<Test>::get(), 3);
		assert_ne!(escrow(0), escrow(1));
	});
}

// ------------------------------------------------------------------ assign_task

#[test]
fn assign_task_takes_a_slot() {
	new_test_ext().execute_with(|| {
		let t = create(2, ValidationStrategy::ManualAccept);
		System::set_block_number(5);
		assert_ok!(assign(BOB, t));
		assert_eq!(NextSubmissionId::<Test>::get(), 1);
		let s = Submissions::<Test>::get(0).unwrap();
		assert_eq!(
			(s.task_id, s.worker.clone(), s.status, s.assigned_at, s.deadline),
			(t, acc(BOB), ResultSubmissionStatus::Assigned, 5, 15)
		);
		assert!(TaskSubmissions::<Test>::contains_key(t, 0));
		assert!(WorkerSubmissions::<Test>::contains_key(acc(BOB), 0));
		assert_eq!(LiveSubmissions::<Test>::get(t).into_inner(), vec![0]);
		assert_eq!(Tasks::<Test>::get(t).unwrap().assigned, 1);
		assert_eq!(
			last_event(),
			RuntimeEvent::DecentralML(Event::TaskAssigned {
				task_id: t,
				submission_id: 0,
				worker: acc(BOB),
				deadline: 15
			})
		);
	});
}

#[test]
fn assignment_deadline_is_capped_at_expiry() {
	new_test_ext().execute_with(|| {
		let t = create(1, ValidationStrategy::ManualAccept);
		System::set_block_number(95);
		assert_ok!(assign(BOB, t));
		assert_eq!(Submissions::<Test>::get(0).unwrap().deadline, 100);
	});
}

#[test]
fn assign_task_errors() {
	new_test_ext().execute_with(|| {
		assert_noop!(assign(BOB, 9), E::TaskNotFound);
		let t = create(1, ValidationStrategy::ManualAccept);
		assert_noop!(assign(ALICE, t), E::CreatorCannotAssign);
		assert_ok!(assign(BOB, t));
		assert_noop!(assign(BOB, t), E::AlreadyAssigned);
		assert_noop!(assign(CHARLIE, t), E::NoFreeSlot);
		System::set_block_number(100);
		assert_noop!(assign(CHARLIE, t), E::TaskExpired);
		assert_ok!(close(CHARLIE, t));
		assert_noop!(assign(CHARLIE, t), E::TaskNotOpen);
		assert_noop!(assign(BOB, t), E::TaskNotOpen);
	});
}

#[test]
fn expired_slots_are_released_lazily() {
	new_test_ext().execute_with(|| {
		let t = create(1, ValidationStrategy::ManualAccept);
		assert_ok!(assign(BOB, t)); // deadline 11
		System::set_block_number(11);
		assert_noop!(assign(CHARLIE, t), E::NoFreeSlot);
		System::set_block_number(12);
		assert_ok!(assign(CHARLIE, t));
		assert_eq!(status(0), ResultSubmissionStatus::Expired);
		assert!(has_event(Event::AssignmentExpired { task_id: t, submission_id: 0, worker: acc(BOB) }));
		assert_eq!(LiveSubmissions::<Test>::get(t).into_inner(), vec![1]);
		assert_eq!(Tasks::<Test>::get(t).unwrap().assigned, 1);
		assert_noop!(send(BOB, 0), E::AssignmentDeadlinePassed);
	});
}

#[test]
fn worker_may_retake_after_decision() {
	new_test_ext().execute_with(|| {
		let t = create(2, ValidationStrategy::ManualAccept);
		assert_ok!(assign(BOB, t));
		assert_ok!(send(BOB, 0));
		assert_noop!(assign(BOB, t), E::AlreadyAssigned);
		assert_ok!(reject(ALICE, 0));
		assert_ok!(assign(BOB, t));
		assert_ok!(send(BOB, 1));
		assert_ok!(accept(ALICE, 1));
		assert_ok!(assign(BOB, t));
		assert_noop!(assign(DAVE, t), E::NoFreeSlot);
		assert_eq!(free(&acc(BOB)), INITIAL + 100_000);
	});
}

// ------------------------------------------------------------------ send_task_result

#[test]
fn send_task_result_records_result() {
	new_test_ext().execute_with(|| {
		let t = create(1, ValidationStrategy::ManualAccept);
		assert_ok!(assign(BOB, t));
		System::set_block_number(3);
		assert_ok!(send(BOB, 0));
		let s = Submissions::<Test>::get(0).unwrap();
		assert_eq!(s.status, ResultSubmissionStatus::PendingValidation);
		assert_eq!(s.result, Some(asset("bafyresult")));
		assert_eq!(s.inline_result.unwrap().into_inner(), b"{\"acc\":0.9}".to_vec());
		assert_eq!(s.lineage_digest, Some([7u8; 32]));
		assert_eq!(s.submitted_at, Some(3));
		assert_eq!(s.paid, 0);
		assert!(has_event(Event::TaskResultSubmitted {
			task_id: t,
			submission_id: 0,
			worker: acc(BOB),
			result_digest: asset("bafyresult").digest
		}));
	});
}

#[test]
fn send_task_result_errors() {
	new_test_ext().execute_with(|| {
		let t = create(1, ValidationStrategy::ManualAccept);
		assert_noop!(send(BOB, 0), E::SubmissionNotFound);
		assert_ok!(assign(BOB, t));
		assert_noop!(send(CHARLIE, 0), E::NotAssignedWorker);
		assert_noop!(
			DecentralML::send_task_result(RuntimeOrigin::signed(acc(BOB)), 0, asset(""), None, None),
			E::EmptyUri
		);
		assert_ok!(send(BOB, 0));
		assert_noop!(send(BOB, 0), E::NotAwaitingResult);
		let t2 = create(1, ValidationStrategy::ManualAccept);
		assert_ok!(assign(BOB, t2)); // deadline 11
		System::set_block_number(12);
		assert_noop!(send(BOB, 1), E::AssignmentDeadlinePassed);
	});
}

#[test]
fn auto_accept_pays_on_submission() {
	new_test_ext().execute_with(|| {
		let t = create(1, ValidationStrategy::AutoAccept);
		assert_ok!(assign(BOB, t));
		assert_ok!(send(BOB, 0));
		assert_eq!(status(0), ResultSubmissionStatus::Accepted);
		assert_eq!(free(&acc(BOB)), INITIAL + 100_000);
		assert_eq!(free(&escrow(t)), 0);
		assert_eq!(Tasks::<Test>::get(t).unwrap().status, TaskStatus::Completed);
		assert!(has_event(Event::TaskCompleted { task_id: t, paid: 100_000 }));
		assert!(!OpenTasks::<Test>::contains_key(t));
		assert!(!LiveSubmissions::<Test>::contains_key(t));
	});
}

// ------------------------------------------------------------------ validate / accept / reject

#[test]
fn validate_records_outcome() {
	new_test_ext().execute_with(|| {
		let t = create(1, ValidationStrategy::CustomAccept);
		assert_ok!(assign(BOB, t));
		assert_ok!(send(BOB, 0));
		assert_ok!(validate(ALICE, 0, false, 10_000));
		let s = Submissions::<Test>::get(0).unwrap();
		assert_eq!(s.status, ResultSubmissionStatus::Validated);
		assert_eq!(s.validation, Some(crate::Validation { passed: false, score: 10_000 }));
		assert_eq!(
			last_event(),
			RuntimeEvent::DecentralML(Event::TaskResultValidated {
				task_id: t,
				submission_id: 0,
				passed: false,
				score: 10_000
			})
		);
	});
}

#[test]
fn validate_errors() {
	new_test_ext().execute_with(|| {
		let t = create(1, ValidationStrategy::CustomAccept);
		assert_noop!(validate(ALICE, 0, true, 1), E::SubmissionNotFound);
		assert_ok!(assign(BOB, t));
		assert_noop!(validate(ALICE, 0, true, 1), E::NotPendingValidation);
		assert_ok!(send(BOB, 0));
		assert_noop!(validate(BOB, 0, true, 1), E::NotTaskCreator);
		assert_noop!(validate(ALICE, 0, true, 10_001), E::InvalidScore);
		assert_ok!(validate(ALICE, 0, true, 1));
		assert_noop!(validate(ALICE, 0, true, 1), E::NotPendingValidation);
	});
}

#[test]
fn accept_pays_exactly_once_and_completes() {
	new_test_ext().execute_with(|| {
		let t = create(2, ValidationStrategy::ManualAccept);
		assert_ok!(assign(BOB, t));
		assert_ok!(assign(CHARLIE, t));
		assert_ok!(send(BOB, 0));
		assert_ok!(send(CHARLIE, 1));
		assert_ok!(validate(ALICE, 0, true, 9_000));
		assert_ok!(accept(ALICE, 0));
		assert_eq!(free(&acc(BOB)), INITIAL + 100_000);
		assert_noop!(accept(ALICE, 0), E::NotAwaitingDecision);
		assert_eq!(free(&acc(BOB)), INITIAL + 100_000);
		assert_eq!(Tasks::<Test>::get(t).unwrap().status, TaskStatus::Open);
		assert_ok!(accept(ALICE, 1));
		let task = Tasks::<Test>::get(t).unwrap();
		assert_eq!(
			(task.status, task.accepted, task.assigned, task.paid),
			(TaskStatus::Completed, 2, 0, 200_000)
		);
		assert_eq!(free(&escrow(t)), 0);
		assert!(!frame_system::Account::<Test>::contains_key(escrow(t)));
		assert_eq!(Submissions::<Test>::get(1).unwrap().paid, 100_000);
		assert!(has_event(Event::TaskResultAccepted {
			task_id: t,
			submission_id: 1,
			worker: acc(CHARLIE),
			reward: 100_000
		}));
		assert_noop!(close(ALICE, t), E::TaskNotOpen);
	});
}

#[test]
fn accept_and_reject_errors() {
	new_test_ext().execute_with(|| {
		let t = create(1, ValidationStrategy::ManualAccept);
		assert_noop!(accept(ALICE, 0), E::SubmissionNotFound);
		assert_noop!(reject(ALICE, 0), E::SubmissionNotFound);
		assert_ok!(assign(BOB, t));
		assert_noop!(accept(ALICE, 0), E::NotAwaitingDecision);
		assert_noop!(reject(ALICE, 0), E::NotAwaitingDecision);
		assert_ok!(send(BOB, 0));
		assert_noop!(accept(BOB, 0), E::NotTaskCreator);
		assert_noop!(reject(CHARLIE, 0), E::NotTaskCreator);
		assert_ok!(reject(ALICE, 0));
		assert_noop!(reject(ALICE, 0), E::NotAwaitingDecision);
		assert_noop!(accept(ALICE, 0), E::NotAwaitingDecision);
	});
}

#[test]
fn reject_frees_the_slot_and_keeps_escrow() {
	new_test_ext().execute_with(|| {
		let t = create(1, ValidationStrategy::ManualAccept);
		assert_ok!(assign(BOB, t));
		assert_ok!(send(BOB, 0));
		assert_noop!(assign(CHARLIE, t), E::NoFreeSlot);
		assert_ok!(validate(ALICE, 0, false, 0));
		assert_ok!(reject(ALICE, 0));
		assert_eq!(status(0), ResultSubmissionStatus::Rejected);
		assert_eq!(free(&escrow(t)), 100_000);
		assert!(!LiveSubmissions::<Test>::contains_key(t));
		assert!(has_event(Event::TaskResultRejected { task_id: t, submission_id: 0, worker: acc(BOB) }));
		assert_ok!(assign(CHARLIE, t));
		assert_ok!(send(CHARLIE, 1));
		assert_ok!(accept(ALICE, 1));
		assert_eq!(free(&acc(BOB)), INITIAL);
		assert_eq!(free(&acc(CHARLIE)), INITIAL + 100_000);
	});
}

// ------------------------------------------------------------------ close_task

#[test]
fn creator_closes_and_is_refunded() {
	new_test_ext().execute_with(|| {
		let t = create(3, ValidationStrategy::ManualAccept);
		assert_ok!(assign(BOB, t));
		assert_ok!(send(BOB, 0));
		assert_ok!(accept(ALICE, 0));
		assert_ok!(close(ALICE, t));
		assert_eq!(free(&acc(ALICE)), INITIAL - 100_000);
		assert_eq!(free(&escrow(t)), 0);
		assert_eq!(Tasks::<Test>::get(t).unwrap().status, TaskStatus::Closed);
		assert!(!OpenTasks::<Test>::contains_key(t));
		assert_eq!(
			last_event(),
			RuntimeEvent::DecentralML(Event::TaskClosed { task_id: t, refund: 200_000 })
		);
	});
}

#[test]
fn anyone_closes_after_expiry_and_live_slots_expire() {
	new_test_ext().execute_with(|| {
		let t = create(2, ValidationStrategy::ManualAccept);
		assert_ok!(assign(BOB, t));
		System::set_block_number(99);
		assert_noop!(close(EVE, t), E::CloseNotAllowed);
		System::set_block_number(100);
		assert_ok!(close(EVE, t));
		assert_eq!(status(0), ResultSubmissionStatus::Expired);
		assert!(has_event(Event::AssignmentExpired { task_id: t, submission_id: 0, worker: acc(BOB) }));
		assert_eq!(free(&acc(ALICE)), INITIAL);
		assert_eq!(free(&acc(EVE)), INITIAL);
	});
}

#[test]
fn close_task_errors() {
	new_test_ext().execute_with(|| {
		assert_noop!(close(ALICE, 0), E::TaskNotFound);
		let t = create(2, ValidationStrategy::ManualAccept);
		assert_noop!(close(BOB, t), E::CloseNotAllowed);
		assert_ok!(assign(BOB, t)); // deadline 11
		assert_noop!(close(ALICE, t), E::AssignmentsInProgress);
		assert_ok!(assign(CHARLIE, t));
		assert_ok!(send(CHARLIE, 1));
		System::set_block_number(12);
		assert_noop!(close(ALICE, t), E::ResultsPendingDecision);
		assert_ok!(validate(ALICE, 1, true, 1));
		assert_noop!(close(ALICE, t), E::ResultsPendingDecision);
		assert_ok!(reject(ALICE, 1));
		// Bob's slot is past its deadline: the creator may close; it expires.
		assert_ok!(close(ALICE, t));
		assert_eq!(status(0), ResultSubmissionStatus::Expired);
		assert_noop!(close(ALICE, t), E::TaskNotOpen);
	});
}

// ------------------------------------------------------------------ weights

#[test]
fn weights_grow_with_argument_length() {
	let w = |q: usize, uri: usize| {
		DmlCall::<Test>::create_task {
			task_type: TaskType::ModelEngineer,
			question: vec![b'q'; q].try_into().unwrap(),
			pays_amount: MIN_REWARD,
			max_assignments: 1,
			validation_strategy: ValidationStrategy::AutoAccept,
			expiration_block: 10,
			assignment_deadline: 1,
			assets: TaskAssets::ModelEngineer {
				engineer_bundle: AssetRef {
					storage: StorageType::S3,
					uri: vec![b'u'; uri].try_into().unwrap(),
					digest: [0; 32],
				},
			},
		}
		.get_dispatch_info()
		.call_weight
		.ref_time()
	};
	assert!(w(1, 1) < w(2, 1));
	assert!(w(1, 1) < w(1, 2));
	assert_eq!(w(10, 20) - w(0, 0), 30 * crate::weights::PER_BYTE);
	assert_eq!(w(0, 0), <() as crate::WeightInfo>::create_task(0).ref_time());
	let s = |uri: usize, inline: Option<usize>| {
		DmlCall::<Test>::send_task_result {
			submission_id: 0,
			result: AssetRef {
				storage: StorageType::Local,
				uri: vec![1; uri].try_into().unwrap(),
				digest: [0; 32],
			},
			inline_result: inline.map(|n| vec![1; n].try_into().unwrap()),
			lineage_digest: None,
		}
		.get_dispatch_info()
		.call_weight
		.ref_time()
	};
	assert!(s(1, None) < s(2, None));
	assert!(s(1, None) < s(1, Some(1)));
	assert_eq!(s(5, Some(7)) - s(0, None), 12 * crate::weights::PER_BYTE);
}

#[test]
fn calls_are_charged_for_their_worst_case_of_live_submissions() {
	let max = <Test as crate::Config>::MaxAssignmentsPerTask::get();
	let assign = DmlCall::<Test>::assign_task { task_id: 0 }.get_dispatch_info().call_weight;
	assert_eq!(assign, <() as crate::WeightInfo>::assign_task(max));
	assert!(assign.all_gt(<() as crate::WeightInfo>::assign_task(max - 1)));
	let close = DmlCall::<Test>::close_task { task_id: 0 }.get_dispatch_info().call_weight;
	assert_eq!(close, <() as crate::WeightInfo>::close_task(max));
	// Every call declares a proof size.
	assert!(assign.proof_size() > 0 && close.proof_size() > 0);
}

#[test]
#[should_panic(expected = "MinReward must be at least the existential deposit")]
fn integrity_test_rejects_a_min_reward_below_the_existential_deposit() {
	MinRewardForTest::set(ED - 1);
	<DecentralML as frame_support::traits::Hooks<u64>>::integrity_test();
}

#[test]
fn integrity_test_accepts_a_min_reward_equal_to_the_existential_deposit() {
	MinRewardForTest::set(ED);
	<DecentralML as frame_support::traits::Hooks<u64>>::integrity_test();
}

#[test]
fn try_state_detects_an_escrow_that_does_not_cover_the_unspent_rewards() {
	new_test_ext().execute_with(|| {
		let t = create(2, ValidationStrategy::ManualAccept);
		assert_ok!(DecentralML::do_try_state());
		// Drain the escrow behind the pallet's back.
		<Balances as frame_support::traits::fungible::Mutate<_>>::set_balance(&escrow(t), ED);
		assert_eq!(
			DecentralML::do_try_state(),
			Err("an escrow account holds less than the task's unspent rewards".into())
		);
	});
}

#[test]
fn try_state_detects_a_live_slot_count_that_disagrees_with_the_submissions() {
	new_test_ext().execute_with(|| {
		let t = create(2, ValidationStrategy::ManualAccept);
		assert_ok!(assign(BOB, t));
		assert_ok!(DecentralML::do_try_state());
		Tasks::<Test>::mutate(t, |task| task.as_mut().unwrap().assigned = 0);
		assert_eq!(DecentralML::do_try_state(), Err("a task's assigned is not its live submissions".into()));
	});
}

// ------------------------------------------------------------------ money invariants

mod invariants {
	use super::*;
	use proptest::prelude::*;

	#[derive(Clone, Debug)]
	enum Op {
		Create { max: u32, pays: u32, strategy: u8 },
		Assign { worker: u8, task: u8 },
		Send { worker: u8, sub: u8 },
		Validate { sub: u8, score: u16 },
		Accept { sub: u8 },
		Reject { sub: u8 },
		Close { who: u8, task: u8 },
		Advance { blocks: u8 },
	}

	fn op() -> impl Strategy<Value = Op> {
		prop_oneof![
			(1u32..4, 10_000u32..50_000, 0u8..3).prop_map(|(max, pays, strategy)| Op::Create {
				max,
				pays,
				strategy
			}),
			(2u8..6, 0u8..4).prop_map(|(worker, task)| Op::Assign { worker, task }),
			(2u8..6, 0u8..10).prop_map(|(worker, sub)| Op::Send { worker, sub }),
			(0u8..10, 0u16..10_001).prop_map(|(sub, score)| Op::Validate { sub, score }),
			(0u8..10).prop_map(|sub| Op::Accept { sub }),
			(0u8..10).prop_map(|sub| Op::Reject { sub }),
			(1u8..6, 0u8..4).prop_map(|(who, task)| Op::Close { who, task }),
			(1u8..15).prop_map(|blocks| Op::Advance { blocks }),
		]
	}

	fn apply(o: &Op) {
		let _ = match *o {
			Op::Create { max, pays, strategy } => {
				let strategy = [
					ValidationStrategy::AutoAccept,
					ValidationStrategy::ManualAccept,
					ValidationStrategy::CustomAccept,
				][strategy as usize];
				let now = System::block_number();
				create_with(
					ALICE,
					Params {
						max,
						pays: pays as Balance,
						strategy,
						expiration: now + 30,
						deadline: 8,
						..params(1, strategy)
					},
				)
			}
			Op::Assign { worker, task } => assign(worker, task as u64),
			Op::Send { worker, sub } => send(worker, sub as u64),
			Op::Validate { sub, score } => validate(ALICE, sub as u64, score % 2 == 0, score as u32),
			Op::Accept { sub } => accept(ALICE, sub as u64),
			Op::Reject { sub } => reject(ALICE, sub as u64),
			Op::Close { who, task } => close(who, task as u64),
			Op::Advance { blocks } => {
				System::set_block_number(System::block_number() + blocks as u64);
				Ok(())
			}
		};
	}

	fn check() {
		assert_eq!(DecentralML::do_try_state(), Ok(()), "try_state invariants hold");
		let issuance: Balance = Balances::total_issuance();
		assert_eq!(issuance, 5 * INITIAL, "no money created or destroyed");
		let mut escrow_total = 0;
		let mut paid_total = 0;
		for (id, t) in Tasks::<Test>::iter() {
			let held = free(&escrow(id));
			let subs: Vec<_> = TaskSubmissions::<Test>::iter_prefix(id)
				.map(|(s, _)| Submissions::<Test>::get(s).unwrap())
				.collect();
			let paid: Balance = subs.iter().map(|s| s.paid).sum();
			assert_eq!(paid, t.paid, "task paid equals the sum of submission payments");
			for s in &subs {
				let accepted = s.status == ResultSubmissionStatus::Accepted;
				assert_eq!(s.paid, if accepted { t.pays_amount } else { 0 }, "paid once, only when accepted");
			}
			let accepted =
				subs.iter().filter(|s| s.status == ResultSubmissionStatus::Accepted).count() as u32;
			let live = subs
				.iter()
				.filter(|s| {
					matches!(
						s.status,
						ResultSubmissionStatus::Assigned
							| ResultSubmissionStatus::PendingValidation
							| ResultSubmissionStatus::Validated
					)
				})
				.count() as u32;
			assert_eq!(t.accepted, accepted);
			assert!(t.accepted + t.assigned <= t.max_assignments);
			match t.status {
				TaskStatus::Open => {
					assert_eq!(t.assigned, live);
					assert_eq!(
						held,
						t.pays_amount * t.max_assignments as Balance - t.paid,
						"escrow holds exactly the unspent rewards"
					);
					assert_eq!(LiveSubmissions::<Test>::get(id).len() as u32, live);
					assert!(OpenTasks::<Test>::contains_key(id));
				}
				TaskStatus::Completed | TaskStatus::Closed => {
					assert_eq!(live, 0);
					assert_eq!(held, 0, "nothing left in escrow");
					assert!(!OpenTasks::<Test>::contains_key(id));
				}
			}
			escrow_total += held;
			paid_total += t.paid;
		}
		let creator_loss = INITIAL - free(&acc(ALICE));
		assert_eq!(creator_loss, paid_total + escrow_total, "creator loss = rewards paid + escrow held");
		let workers_gain: Balance = (2..=5).map(|n| free(&acc(n)) - INITIAL).sum();
		assert_eq!(workers_gain, paid_total, "workers received exactly the rewards paid");
	}

	proptest! {
		#![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
		#[test]
		fn money_is_conserved(ops in proptest::collection::vec(op(), 1..60)) {
			new_test_ext().execute_with(|| {
				for o in &ops {
					apply(o);
					check();
				}
			});
		}
	}
}
