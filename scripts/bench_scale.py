#!/usr/bin/env python3
"""Marketplace scale: read commands against chain size, CLI start-up, dev node memory over long chains.

(1) One dev node; tasks are added with pre-signed ``create_task`` extrinsics (//Alice, one nonce
    sequence, so task ids follow the nonces) and all but ``--open`` of them closed again with
    pre-signed ``close_task``, so the chain holds N tasks of which ``--open`` are open (history grows,
    the open set does not). One task gets 100 results (100 funded workers: assign + send_task_result).
    At each size the CLI is timed in a fresh process (median of ``--repeat``): ``list-tasks``,
    ``list-tasks --all --json``, ``show-task``, ``list-results`` (100 results), ``balance``.
(2) Start-up in the same run: ``decentralml --help``, a read command, ``python -c "import substrateinterface"``.
(3) A second dev node producing empty blocks (its own block production, ``dev_newBlocks``): block rate and
    the node's CPU time per block, each the median of three consecutive windows of 2,000 blocks before each
    mark (``--window``, ``--windows``), RSS and SQLite size at each mark, and the time from restart to serving.

Figures are printed with the load average; goals from the README are checked and printed, never asserted.
Usage: python scripts/bench_scale.py [--tasks 100,1000,10000,100000] [--blocks 10000,100000,1000000]
                                     [--parts tasks,startup,blocks]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

UNIT = 10**12
WORKERS = 100
SUBMIT_WINDOW = 2000


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/PID/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dir_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def start_node(base: Path, extra: list[str] = ()) -> tuple[subprocess.Popen[str], str, float]:
    """Start ``python -m decentralml.devnode`` on a free port (``dev_*`` methods allowed: a persistent base path
    makes them unsafe by default); return it, its URL and the seconds to serving."""
    t0 = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "decentralml.devnode", "--base-path", str(base), "--rpc-port", "0", "--rpc-methods", "unsafe", *extra],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        match = re.search(r"RPC \(WebSocket\): (ws://\S+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
            return process, match.group(1), time.perf_counter() - t0
    raise SystemExit(f"the dev node did not start (exit {process.wait()})")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(30)


async def submit_all(url: str, xts: list[str]) -> None:
    """Send extrinsics with author_submitExtrinsic, at most SUBMIT_WINDOW unanswered, refusals fatal."""
    import aiohttp

    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        sent = answered = 0
        while answered < len(xts):
            while sent < len(xts) and sent - answered < SUBMIT_WINDOW:
                await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": sent, "method": "author_submitExtrinsic", "params": [xts[sent]]}))
                sent += 1
            message = json.loads((await ws.receive()).data)
            if "error" in message:
                raise SystemExit(f"extrinsic refused: {message['error']}")
            answered += 1


async def wait_pool_empty(url: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        while True:
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "author_pendingExtrinsics", "params": []}))
            if not json.loads((await ws.receive()).data)["result"]:
                return
            await asyncio.sleep(0.2)


class Chain:
    """Pre-signs this runtime's extrinsics: calls composed once by substrate-interface, ids patched in."""

    def __init__(self, url: str) -> None:
        from bench_devnode import Presigner, Signer
        from substrateinterface import Keypair, SubstrateInterface

        self.url = url
        self.substrate = SubstrateInterface(url=url, ss58_format=42)
        self.presigner = Presigner(self.substrate)
        alice = Keypair.create_from_uri("//Alice", ss58_format=42)
        self.alice = Signer(alice, self.substrate.get_account_nonce(alice.ss58_address))
        self.signer_type = Signer
        self.keypair_type = Keypair

    def next_task_id(self) -> int:
        return int(self.substrate.query("DecentralMLModule", "NextTaskId").value)

    def create_task_call(self, index: int, max_assignments: int = 1) -> bytes:
        head = self.substrate.get_block_number(None)
        return self.presigner.call("DecentralMLModule", "create_task", {
            "task_type": "ModelContributor", "question": f"bench task {index:09d}", "pays_amount": UNIT // 10,
            "max_assignments": max_assignments, "validation_strategy": "ManualAccept", "expiration_block": head + 10_000_000,
            "assignment_deadline": 1_000_000,
            "assets": {"ModelContributor": {"contributor_bundle": {"storage": "IPFS", "uri": f"ipfs://bench/{index:09d}", "digest": "0x" + "ab" * 32}, "base_model": None}},
        })

    def grow(self, total: int, open_tasks: int) -> None:
        """Add tasks until NextTaskId == total, closing new ones so that about ``open_tasks`` stay open."""
        first = self.next_task_id()
        template = self.create_task_call(0)
        marker = b"000000000"
        close_template = self.presigner.call("DecentralMLModule", "close_task", {"task_id": 0})
        xts: list[str] = []
        for task_id in range(first, total):
            digits = f"{task_id:09d}".encode()
            xts.append("0x" + self.presigner.sign(self.alice, template.replace(marker, digits)).hex())
        for task_id in range(first, max(first, total - open_tasks)):
            call = close_template[:-8] + task_id.to_bytes(8, "little")
            xts.append("0x" + self.presigner.sign(self.alice, call).hex())
        for start in range(0, len(xts), SUBMIT_WINDOW):  # the pool holds a bounded number of transactions
            asyncio.run(submit_all(self.url, xts[start : start + SUBMIT_WINDOW]))
            asyncio.run(wait_pool_empty(self.url))
        # The dev node takes a transaction out of its pool before the block holding it is imported,
        # so an empty pool can still precede the last blocks: wait for the chain itself.
        deadline = time.monotonic() + 60
        while self.next_task_id() != total and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.next_task_id() != total:
            raise SystemExit(f"expected {total} tasks, the chain has {self.next_task_id()}")

    def task_with_results(self, results: int) -> int:
        """A task with ``results`` submissions from as many funded workers."""
        task_id = self.next_task_id()
        xts = ["0x" + self.presigner.sign(self.alice, self.create_task_call(task_id, max_assignments=results)).hex()]
        workers = [self.signer_type(self.keypair_type.create_from_uri(f"//bench-worker-{i}", ss58_format=42), 0) for i in range(results)]
        for worker in workers:
            call = self.presigner.call("Balances", "transfer_keep_alive", {"dest": worker.keypair.ss58_address, "value": 10 * UNIT})
            xts.append("0x" + self.presigner.sign(self.alice, call).hex())
        asyncio.run(submit_all(self.url, xts))
        asyncio.run(wait_pool_empty(self.url))
        assign = self.presigner.call("DecentralMLModule", "assign_task", {"task_id": task_id})
        asyncio.run(submit_all(self.url, ["0x" + self.presigner.sign(w, assign).hex() for w in workers]))
        asyncio.run(wait_pool_empty(self.url))
        sends = []
        for worker in workers:
            submission = next(
                int(key.value) for key, _ in self.substrate.query_map("DecentralMLModule", "WorkerSubmissions", [worker.keypair.ss58_address])
            )
            call = self.presigner.call("DecentralMLModule", "send_task_result", {
                "submission_id": submission,
                "result": {"storage": "IPFS", "uri": f"ipfs://bench/result/{submission}", "digest": "0x" + "cd" * 32},
                "inline_result": None, "lineage_digest": None,
            })
            sends.append("0x" + self.presigner.sign(worker, call).hex())
        asyncio.run(submit_all(self.url, sends))
        asyncio.run(wait_pool_empty(self.url))
        return task_id


def cli(url: str, *args: str) -> list[str]:
    """The installed ``decentralml`` console script (what a user runs), else the module."""
    script = shutil.which("decentralml")
    return [script, "--url", url, *args] if script else [sys.executable, "-m", "decentralml.cli.app", "--url", url, *args]


CPU: dict[str, float] = {}  # median CPU seconds (user + system) of the last timed command of each label


def timed(command: list[str], repeat: int, label: str = "", check: bool = True) -> float:
    """Median wall seconds of ``command`` in a fresh process (it must succeed unless ``check`` is false);
    its median CPU seconds go to ``CPU[label]`` (on a loaded machine CPU time says more than wall time)."""
    import resource

    times, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if check and done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    CPU[label] = statistics.median(cpus)
    return statistics.median(times)


def show(row: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.2f} s (CPU {CPU.get(k, float('nan')):.2f})" for k, v in row.items() if not k.endswith(" cpu"))


def part_tasks(sizes: list[int], open_tasks: int, repeat: int) -> dict[str, dict[str, float]]:
    base = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    process, url, _ = start_node(base)
    rows: dict[str, dict[str, float]] = {}
    try:
        chain = Chain(url)
        results_task = chain.task_with_results(WORKERS)
        alice = chain.alice.keypair.ss58_address
        for size in sizes:
            t0 = time.perf_counter()
            chain.grow(size + 1, open_tasks)  # + the task holding the results
            grow_s = time.perf_counter() - t0
            commands = {
                "list-tasks": cli(url, "list-tasks"),
                "list-tasks --all --json": cli(url, "--json", "list-tasks", "--all"),
                "show-task": cli(url, "show-task", str(results_task)),
                "list-results (100)": cli(url, "list-results", str(results_task)),
                "balance": cli(url, "balance", alice),
            }
            row = {name: timed(command, repeat, name) for name, command in commands.items()}
            row.update({f"{name} cpu": CPU[name] for name in commands})
            rows[str(size)] = row
            print(f"{size:>7} tasks ({open_tasks} open; grown in {grow_s:.0f} s) load {load()}: " + show(row), flush=True)
    finally:
        stop(process)
        shutil.rmtree(base, ignore_errors=True)
    return rows


def part_startup(repeat: int) -> dict[str, float]:
    base = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    process, url, _ = start_node(base)
    try:
        alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        commands = {
            "python -c 'import substrateinterface'": [sys.executable, "-c", "import substrateinterface"],
            "decentralml --help": cli(url, "--help"),
            "decentralml balance": cli(url, "balance", alice),
            "decentralml show-task": cli(url, "show-task", "0"),  # no task 0 on a fresh chain: metadata + one read
        }
        row = {name: timed(command, repeat, name, check=name != "decentralml show-task") for name, command in commands.items()}
        row.update({f"{name} cpu": CPU[name] for name in commands})
        print(f"start-up (median of {repeat}, load {load()}): " + show(row), flush=True)
    finally:
        stop(process)
        shutil.rmtree(base, ignore_errors=True)
    return row


async def new_blocks(url: str, count: int) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.ws_connect(url, timeout=600) as ws:
        left = count
        while left:
            step = min(left, 10_000)
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "dev_newBlocks", "params": [step]}))
            reply = json.loads((await ws.receive(timeout=3600)).data)
            if "error" in reply:
                raise SystemExit(f"dev_newBlocks refused: {reply['error']}")
            left -= step


def part_blocks(marks: list[int], extra: list[str], window: int = 2000, windows: int = 3) -> dict[str, dict[str, float]]:
    """Rate and node CPU per block: the median over ``windows`` consecutive windows of ``window`` blocks before each mark."""
    base = Path(tempfile.mkdtemp(prefix="bench-blocks-"))
    process, url, _ = start_node(base, extra)
    rows: dict[str, dict[str, float]] = {}
    produced = 0
    try:
        for mark in marks:
            asyncio.run(new_blocks(url, mark - produced - window * windows))
            rates, cpus = [], []
            for _ in range(windows):
                t0, cpu0 = time.perf_counter(), cpu_seconds(process.pid)
                asyncio.run(new_blocks(url, window))
                rates.append(window / (time.perf_counter() - t0))
                cpus.append((cpu_seconds(process.pid) - cpu0) / window * 1000)
            rate, cpu_ms = statistics.median(rates), statistics.median(cpus)
            produced = mark
            row = {"blocks_per_s": rate, "cpu_ms_per_block": cpu_ms, "rss_mib": rss_mib(process.pid), "sqlite_mib": dir_mib(base)}
            stop(process)
            process, url, restart = start_node(base, extra)
            row["restart_s"] = restart
            rows[str(mark)] = row
            print(f"{mark:>8} blocks ({' '.join(extra) or 'default pruning'}) load {load()}: {rate:.0f} blocks/s"
                  f" (median of {windows} x {window:,} blocks: {', '.join(f'{r:.0f}' for r in rates)}; node CPU {cpu_ms:.3f} ms per block)  "
                  f"RSS {row['rss_mib']:.0f} MiB  SQLite {row['sqlite_mib']:.1f} MiB  restart to serving {restart:.2f} s", flush=True)
    finally:
        stop(process)
        shutil.rmtree(base, ignore_errors=True)
    return rows


def goals(report: dict) -> None:
    print("goals:")
    tasks = report.get("tasks", {})
    if tasks:
        sizes = sorted(int(k) for k in tasks)
        small, large = tasks[str(sizes[0])], tasks[str(sizes[-1])]
        ratio = large["list-tasks"] / small["list-tasks"]
        print(f"  list-tasks at {sizes[-1]:,} tasks / at {sizes[0]:,}: {ratio:.2f} (goal <= 1.2)")
        if "10000" in tasks:
            print(f"  list-tasks --all --json at 10,000 tasks: {tasks['10000']['list-tasks --all --json']:.2f} s (goal <= 2 s)")
        for size in sizes:
            row = tasks[str(size)]
            print(f"  list-results (100) / show-task at {size:,}: {row['list-results (100)'] / row['show-task']:.2f} (goal <= 1.2)")
    startup = report.get("startup")
    if startup:
        base = startup["python -c 'import substrateinterface'"]
        base_cpu = startup["python -c 'import substrateinterface' cpu"]
        for name in ("decentralml balance", "decentralml show-task"):
            print(f"  {name}: {startup[name]:.2f} s (goal <= 0.40 s), {startup[name] / base:.2f} x import substrateinterface"
                  f" (goal <= 1.6; in CPU time {startup[name + ' cpu'] / base_cpu:.2f} x)")
    blocks = report.get("blocks")
    if blocks:
        marks = sorted(int(k) for k in blocks)
        first, last = blocks[str(marks[0])], blocks[str(marks[-1])]
        print(f"  block rate at {marks[-1]:,} / at {marks[0]:,}: {last['blocks_per_s'] / first['blocks_per_s']:.0%} (goal >= 90 %);"
              f" in node CPU per block (less sensitive to other load): {first['cpu_ms_per_block'] / last['cpu_ms_per_block']:.0%}")
        print(f"  RSS at {marks[-1]:,} / at {marks[0]:,}: {last['rss_mib'] / first['rss_mib']:.2f} (goal <= 1.3)")
        print(f"  restart to serving at {marks[-1]:,} blocks: {last['restart_s']:.2f} s (goal <= 3 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="100,1000,10000,100000")
    parser.add_argument("--open", type=int, default=100, help="open tasks kept at every size")
    parser.add_argument("--blocks", default="10000,100000,1000000")
    parser.add_argument("--window", type=int, default=2000, help="blocks per timed window before each mark")
    parser.add_argument("--windows", type=int, default=3, help="timed windows before each mark (the median is kept)")
    parser.add_argument("--node-args", default="", help="extra dev node arguments for the block part (e.g. '--state-pruning archive')")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--parts", default="tasks,startup,blocks")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    report: dict = {"load_at_start": load(), "cpus": os.cpu_count()}
    print(f"bench_scale: load {report['load_at_start']} on {report['cpus']} CPUs", flush=True)
    if "startup" in parts:
        report["startup"] = part_startup(args.repeat)
    if "tasks" in parts:
        report["tasks"] = part_tasks([int(v) for v in args.tasks.split(",")], args.open, args.repeat)
    if "blocks" in parts:
        report["blocks"] = part_blocks([int(v) for v in args.blocks.split(",")], args.node_args.split(), args.window, args.windows)
    report["load_at_end"] = load()
    goals(report)
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
