"""Long-running roles: ``creator run JOB``, ``contributor run`` and ``report JOB``.

Both roles print a live status line (rich) on stderr and one line per event;
under ``--json`` each event is one JSON object on its own stdout line and
nothing else is printed. SIGTERM and Ctrl-C finish the current step and exit 0;
running the same command again continues from the journal.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from decentralml.amounts import TokenInfo, format_amount, parse_amount
from decentralml.cli import common
from decentralml.cli.bounded import COUNT_MAX, SIZE_MAX, amount, uint
from decentralml.cli.context import RunContext, run_context
from decentralml.cli.handler import CliApp
from decentralml.cli.paths import path_parameter
from decentralml.cli.sandbox_options import (
    ConsentOption,
    MaxOutputOption,
    MaxProcessesOption,
    MaxTimeOption,
    MemoryOption,
    NoSandboxOption,
    PipArgOption,
    ask_policy_consent,
    task_runner,
)
from decentralml.errors import UsageError
from decentralml.primitives.keypair import Keypair
from decentralml.primitives.localpaths import local_paths

if TYPE_CHECKING:  # the chain types are imported by the commands that use them, not at start-up
    from decentralml.chain.types import TaskType

creator_app = CliApp(help="A creator's unattended federated job.")
contributor_app = CliApp(help="Offer this machine to the marketplace.")


# ---------------------------------------------------------------- rendering events


def _amount(value: Any, token: TokenInfo) -> str:
    try:
        return format_amount(int(value), token)
    except (TypeError, ValueError):
        return "?"


def _pct(value: Any) -> str:
    return f"{value:.2%}" if isinstance(value, (int, float)) else "-"


def _printable(text: str) -> str:
    """Control characters (terminal escape sequences) shown as U+FFFD."""
    return "".join(c if c.isprintable() or c == " " else "\ufffd" for c in text)


def describe(event: dict[str, Any], token: TokenInfo) -> str | None:
    """One line of text for an event (None: shown only in the status line). Untrusted strings stay text."""
    kind = event.get("type")
    e = {k: escape(_printable(v)) if isinstance(v, str) else v for k, v in event.items()}
    if kind == "round_opened":
        return (f"Round {e['round']}: task {e['task_id']} open until block {e['expiration_block']}"
                f" ({e['slots']} slots, quorum {e['quorum']}, escrow {_amount(event['escrow'], token)})")
    if kind == "judged":
        return (f"  submission {e['submission_id']} from {e['worker']}: held-out accuracy {_pct(event.get('accuracy'))},"
                f" {e['decision']} ({e['reason']})" + (f", paid {_amount(event['reward'], token)}"
                                                     if e["decision"] == "accepted" else ""))
    if kind == "awaiting_decision":
        return (f"  submission {e['submission_id']} from {e['worker']}: held-out accuracy {_pct(event.get('accuracy'))},"
                f" {'passes' if event.get('passed') else 'fails'} validation ({e['reason']}); your decision"
                " (ManualAccept)")
    if kind == "round_closed":
        return (f"Round {e['round']} closed: {e['accepted']} accepted, paid {_amount(event['paid'], token)},"
                f" refund {_amount(event['refund'], token)}")
    if kind == "federated":
        return f"Round {e['round']} federated ({e['strategy']}): global accuracy {_pct(event.get('accuracy'))}"
    if kind == "finished":
        base = event.get("baseline_accuracy")
        return f"Job finished: {e['reason']}" + (f" (centralized baseline {_pct(base)})" if base is not None else "")
    if kind == "node":
        if event.get("connected"):
            return f"Node: {e['message']}"
        retry = event.get("retry_in")
        return f"Node unreachable: {e['message']}" + (f"; retrying in {retry:g} s" if retry else "; retrying")
    if kind == "storage_retry":
        return f"  storage: {e['message']} (will retry)"
    if kind in ("warning", "stopped", "waiting"):
        return str(e.get("message") or f"stopped; earned {_amount(event.get('earned', 0), token)}")
    if kind == "runner":
        return f"Task runner: {e['name']}"
    if kind == "refused":
        return f"Task {e['task_id']} refused: {e['reason']}"
    if kind == "assigned":
        return f"Took task {e['task_id']}: submission {e['submission_id']}, deadline block {e['deadline']}"
    if kind == "running":
        return f"  running task {e['task_id']} ({e['blocks_left']} blocks left)"
    if kind == "sent":
        return f"  sent the result of submission {e['submission_id']}"
    if kind == "paid":
        return f"  submission {e['submission_id']} accepted: paid {_amount(event['amount'], token)}"
    if kind in ("rejected", "expired", "failed", "assign_failed", "adopt_failed"):
        reason = e.get("reason")
        return f"  {kind.replace('_', ' ')}: task {e['task_id']}" + (f" ({reason})" if reason else "")
    return None


def status_line(event: dict[str, Any], token: TokenInfo) -> Text:
    if "round" in event:
        return Text(
            f"round {event['round']}/{event['rounds']} · task {event['task_id']} · block {event['block']}"
            f" ({event['blocks_left']} blocks left) · slots {event['assigned']}/{event['slots']} held ·"
            f" judged {event['judged']} (accepted {event['accepted']}, quorum {event['quorum']}) ·"
            f" accuracy {_pct(event.get('accuracy'))} · paid {_amount(event['paid'], token)}"
        )
    return Text(
        f"block {event['block']} · running {event['running']} · holding {event['holding']} slot(s) ·"
        f" done {event['done']} · earned {_amount(event['earned'], token)}"
    )


@contextmanager
def event_printer(run: RunContext, token: TokenInfo) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A sink for events: JSON lines on stdout under --json, else lines and a live status on stderr."""
    if run.output.json_mode:
        def emit_json(event: dict[str, Any]) -> None:
            if event.get("type") != "status":
                sys.stdout.write(json.dumps(event, sort_keys=True) + "\n")
                sys.stdout.flush()

        yield emit_json
        return
    live = Live(Text(""), console=run.output.err, transient=True, auto_refresh=False,
                redirect_stdout=False, redirect_stderr=False)
    live_on = run.output.err.is_terminal and not run.output.quiet

    def emit(event: dict[str, Any]) -> None:
        if event.get("type") == "status":
            if live_on:
                live.update(status_line(event, token), refresh=True)
            return
        line = describe(event, token)
        if line is not None and not run.output.quiet:
            run.output.err.print(line, highlight=False)

    if live_on:
        with live:
            yield emit
    else:
        yield emit


@contextmanager
def stop_on_signals(request_stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM/SIGINT ask the role to finish its current step; restored afterwards."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum: int, frame: Any) -> None:
        request_stop()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _connector(run: RunContext) -> Callable[[], Any]:
    from decentralml.chain.client import ChainClient

    logging.getLogger("websocket").setLevel(logging.CRITICAL)  # a dropped socket is reported by us, once
    return lambda: ChainClient.connect(run.settings.url, timeout=run.settings.timeout)


def _first_connection(run: RunContext, connect: Callable[[], Any], stop: threading.Event) -> TokenInfo | None:
    """The chain's token, waiting for the node with back-off (a role may start before its node);
    None when stopped meanwhile."""
    from decentralml.chain.follow import backoff_delays
    from decentralml.errors import NodeUnreachableError

    delay = backoff_delays()
    attempt = 0
    while True:
        try:
            chain = connect()
            try:
                return chain.token
            finally:
                chain.close()
        except NodeUnreachableError as exc:
            wait = delay(attempt)
            attempt += 1
            event = {"type": "node", "connected": False, "message": exc.message, "retry_in": wait,
                     "time": round(time.time(), 3)}
            if run.output.json_mode:
                sys.stdout.write(json.dumps(event, sort_keys=True) + "\n")
                sys.stdout.flush()
            else:
                run.output.message(escape(describe(event, TokenInfo(12, "UNIT")) or ""))
            if stop.wait(wait):
                return None


@contextmanager
def role_signals() -> Iterator[tuple[threading.Event, list[Callable[[], None]]]]:
    """SIGTERM/SIGINT set the event and call the registered stop requests (finish the current step)."""
    stop = threading.Event()
    hooks: list[Callable[[], None]] = []

    def request() -> None:
        stop.set()
        for hook in hooks:
            hook()

    with stop_on_signals(request):
        yield stop, hooks


# ---------------------------------------------------------------- creator run


@creator_app.command("run")
@common.storage_options(upload=True)
def creator_run(
    ctx: typer.Context,
    choice: common.StorageChoice,
    job: Annotated[Path, path_parameter(help="The job's TOML file (see docs/roles.md).")],
    work_dir: Annotated[Optional[Path], path_parameter("--work-dir", help="Job directory (default: from the JOB file,"
                                                     " else JOB's name + .job beside it).")] = None,
) -> None:
    """Run a federated job round after round until its round limit, target accuracy or budget."""
    from decentralml.usecases.creator_job import CreatorJob, load_job

    run = run_context(ctx)
    keypair = common.resolve_signer(run)
    connect = _connector(run)
    with role_signals() as (stop, hooks):
        token = _first_connection(run, connect, stop)
        if token is None:
            return
        spec = load_job(job, token, work_dir=work_dir.expanduser().resolve() if work_dir else None)
        runner = CreatorJob(spec, url=run.settings.url, connect=connect, keypair=keypair, store=common.upload_store(run.settings, choice),
                            open_store=common.download_opener(run.settings, choice), stop=stop)
        hooks.append(runner.request_stop)
        with event_printer(run, token) as emit:
            runner.on_event = emit
            outcome = runner.run()
    if not outcome.stopped:
        from decentralml.usecases.job_report import write_report

        report = write_report(spec.work_dir)
        if run.output.json_mode:
            sys.stdout.write(json.dumps({"type": "report", "html": str(report.html), "png": str(report.png)}) + "\n")
        else:
            run.output.message(f"Report: {report.html}")


# ---------------------------------------------------------------- contributor run


@contributor_app.command("run")
@common.storage_options(upload=True)
def contributor_run(
    ctx: typer.Context,
    choice: common.StorageChoice,
    work_dir: Annotated[Optional[Path], path_parameter("--work-dir", help="The node's directory (journal, tasks);"
                                                     " default <work dir>/node.")] = None,
    data: Annotated[Optional[Path], path_parameter("--data", help="Your own training data (.csv or .npz).")] = None,
    shard: Annotated[Optional[int], uint(COUNT_MAX, "Train on this shard of the creator's dataset instead.", "--shard")] = None,
    task_types: Annotated[Optional[list[str]], typer.Option("--task-type", help="Task types to take"
                                                            " (repeat; default ModelContributor).")] = None,
    frameworks: Annotated[Optional[list[str]], typer.Option("--framework", help="Frameworks this machine offers"
                                                            " (repeat; default torch and tensorflow).")] = None,
    min_reward: Annotated[Optional[str], amount("Smallest reward per slot to take, e.g. '1 UNIT'.", "--min-reward")] = None,
    max_bundle_mib: Annotated[int, uint(SIZE_MAX >> 20, "Largest bundle to take, in MiB.", "--max-bundle-mib", minimum=1)] = 256,
    allow_creators: Annotated[Optional[list[str]], typer.Option("--allow-creator", help="Only these creators (repeat).")] = None,
    block_creators: Annotated[Optional[list[str]], typer.Option("--block-creator", help="Never these creators (repeat).")] = None,
    max_concurrent: Annotated[int, uint(COUNT_MAX, "Tasks run at once.", "--max-concurrent", minimum=1)] = 1,
    yes: ConsentOption = False,
    no_sandbox: NoSandboxOption = False,
    max_time: MaxTimeOption = None,
    memory: MemoryOption = "4GiB",
    max_processes: MaxProcessesOption = 256,
    max_output: MaxOutputOption = "2GiB",
    pip_arg: PipArgOption = None,
) -> None:
    """Watch for tasks, take those the policy admits, run them, send the results, collect the rewards.

    Each task's bundle runs in the same sandbox as `decentralml run-task` (no network, none of
    your files but its work directory and --data read-only, a scrubbed environment, time,
    memory, process and output limits). The node is unattended, so it asks once at start,
    or takes --yes, to run every admitted task's code under the limits it shows.
    """
    from decentralml.chain.types import TaskType
    from decentralml.usecases.contributor_node import FRAMEWORK_PACKAGES

    run = run_context(ctx)
    if (data is None) == (shard is None):
        raise UsageError("Give exactly one of --data FILE (your own data) or --shard N (a shard of the creator's data).")
    if data is not None:
        common.require_path(data)
    keypair = common.resolve_signer(run)
    types: set[TaskType] = set()
    for name in task_types or ["ModelContributor"]:
        try:
            types.add(TaskType(name))
        except ValueError:
            raise UsageError(f"Unknown task type {name!r}: use {', '.join(t.value for t in TaskType)}.") from None
    offered = set(frameworks or FRAMEWORK_PACKAGES)
    unknown = offered - set(FRAMEWORK_PACKAGES)
    if unknown:
        raise UsageError(f"Unknown framework {', '.join(sorted(unknown))}: use torch or tensorflow.")
    runner = task_runner(run, no_sandbox=no_sandbox, max_time=max_time, memory=memory,
                         max_processes=max_processes, max_output=max_output, pip_args=pip_arg or ())
    ask_policy_consent(run, runner, data, yes, command="contributor run",
                       question="Run the code of every task this node takes, under these limits?")
    work_dir = (work_dir or run.settings.work_dir / "node").expanduser().resolve()
    with local_paths(work_dir):  # before connecting: a directory that cannot be made is said at once
        work_dir.mkdir(parents=True, exist_ok=True)
    connect = _connector(run)
    with role_signals() as (stop, hooks):
        token = _first_connection(run, connect, stop)
        if token is None:
            return
        _run_node(run, choice, keypair, connect, token, stop, hooks, work_dir=work_dir, data=data, shard=shard,
                  types=types, offered=offered, min_reward=min_reward, max_bundle_mib=max_bundle_mib,
                  allow_creators=allow_creators, block_creators=block_creators, max_concurrent=max_concurrent,
                  runner=runner)


def _run_node(run: RunContext, choice: common.StorageChoice, keypair: Keypair, connect: Callable[[], Any],
              token: TokenInfo, stop: threading.Event, hooks: list[Callable[[], None]], *, work_dir: Path | None,
              data: Path | None, shard: int | None, types: set[TaskType], offered: set[str], min_reward: str | None,
              max_bundle_mib: int, allow_creators: list[str] | None, block_creators: list[str] | None,
              max_concurrent: int, runner: Any) -> None:
    from decentralml.chain.signer import validate_address
    from decentralml.usecases.contributor_node import ContributorNode, Policy

    policy = Policy(
        task_types=frozenset(types),
        frameworks=frozenset(offered),
        min_reward=parse_amount(min_reward, token) if min_reward else 0,
        max_bundle_bytes=max_bundle_mib * 1024 * 1024,
        allowed_creators=frozenset(validate_address(a) for a in allow_creators or []),
        blocked_creators=frozenset(validate_address(a) for a in block_creators or []),
    )
    node = ContributorNode(
        url=run.settings.url, connect=connect, keypair=keypair, store=common.upload_store(run.settings, choice),
        open_store=common.download_opener(run.settings, choice),
        work_dir=(work_dir or run.settings.work_dir / "node").expanduser().resolve(),
        runner=runner, task_args=["--contributor-index", str(shard)] if shard is not None else [],
        data=data.resolve() if data is not None else None, policy=policy, max_concurrent=max_concurrent,
    )
    hooks.append(node.request_stop)
    if stop.is_set():
        return
    with event_printer(run, token) as emit:
        node.on_event = emit
        node.run()


# ---------------------------------------------------------------- report


def report_cmd(
    ctx: typer.Context,
    job_dir: Annotated[Path, path_parameter(help="The job's directory (where journal.jsonl is) or its TOML file.")],
) -> None:
    """Write the job's HTML report (accuracy per round, contributions, payments) and its accuracy curve PNG."""
    from decentralml.usecases.job_report import resolve_job_dir, write_report

    run = run_context(ctx)
    report = write_report(resolve_job_dir(job_dir))
    run.output.data({"html": str(report.html), "png": str(report.png), "rounds": report.rounds},
                    f"Report: {report.html}\nAccuracy curve: {report.png}")


def register(app: typer.Typer) -> None:
    app.add_typer(creator_app, name="creator")
    app.add_typer(contributor_app, name="contributor")
    app.command("report")(report_cmd)
