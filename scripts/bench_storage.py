#!/usr/bin/env python3
"""Benchmark: 1 GiB upload and download through our S3 and IPFS stores vs the
reference command-line tools against the same servers, in one run.

    . scripts/_env.sh && . scripts/build-services.sh && python scripts/bench_storage.py [--size-mib 1024] [--write-docs]

* S3: ``S3Store.put/get`` vs ``aws s3 cp`` (awscli from PyPI, installed once into
  a separate venv under the build cache) against one MinIO (or moto) server;
* IPFS: ``IpfsStore.put/get`` vs ``ipfs add`` / ``ipfs get`` against one Kubo daemon,
  the CLI given the same options as our store (CID v1, 1 MiB chunks), checked
  by both producing the same CID.

Every operation runs in a fresh process (ours: ``python -c`` importing the
store; theirs: the CLI), so times include start-up on both sides; peak RSS is
the child's VmHWM, sampled every 20 ms. Ratio = their time / our time (>= 1.0: we are at
least as fast). Each pair is run ``--repeat`` times, alternating who goes
first, and the best time of each is kept. Our puts include computing the
SHA-256 digest; our gets include verifying it. Objects are deleted (S3) or
unpinned and garbage-collected (IPFS) between runs so no run is a no-op.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decentralml.storage.ipfs import DEFAULT_CHUNKER  # noqa: E402
from tests.fixtures.services import running_kubo, running_s3_server  # noqa: E402

AWSCLI_VERSION = "1.46.2"
GOAL_RATIO = 1.0
GOAL_RSS_MIB = 256


@dataclass
class Run:
    seconds: float
    peak_rss_mib: float


def _peak_rss_kib(pid: int) -> int:
    """The process's own peak RSS (VmHWM), 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_child(command: list[str], env: dict[str, str], stdout: int | None = subprocess.DEVNULL) -> Run:
    """Run a command; return its wall time and its peak RSS.

    The peak is sampled from /proc/<pid>/status (VmHWM) every 20 ms: the
    kernel's ru_maxrss of a child would include the RSS of this (parent)
    process at fork time."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _peak_rss_kib(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr_bytes = proc.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        stderr = stderr_bytes.decode(errors="replace")
        raise SystemExit(f"bench: {' '.join(command[:4])}... failed ({proc.returncode}): {stderr.strip()[-500:]}")
    return Run(elapsed, peak / 1024)


OUR_OP = """
import json, sys
from pathlib import Path
from decentralml.storage import Reference, StoreSettings, open_store
settings = StoreSettings(**json.loads(sys.argv[1]))
kind, action, arg = sys.argv[2], sys.argv[3], sys.argv[4]
store = open_store(kind, settings)
if action == "put":
    print(store.put(Path(arg)).dumps())
else:
    ref = Reference.from_json(sys.argv[5])
    store.get(ref, Path(arg))
"""


def ours(kind: str, settings: dict[str, object], action: str, arg: str, env: dict[str, str],
         ref_json: str = "") -> tuple[Run, str]:
    with tempfile.TemporaryFile() as out:
        command = [sys.executable, "-c", OUR_OP, json.dumps(settings), kind, action, arg]
        if ref_json:
            command.append(ref_json)
        run = run_child(command, env, stdout=out.fileno())
        out.seek(0)
        return run, out.read().decode().strip()


def ensure_awscli(cache: Path) -> Path:
    venv = cache / "tools" / f"awscli-{AWSCLI_VERSION}"
    aws = venv / "bin" / "aws"
    if not (venv / ".complete").exists():
        print(f"bench: installing awscli=={AWSCLI_VERSION} into {venv} (first run only)", file=sys.stderr)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"awscli=={AWSCLI_VERSION}"], check=True)
        (venv / ".complete").touch()
    return aws


def make_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(8 << 20)
    with open(path, "wb") as out:
        written = 0
        while written < size:
            # Vary every block so nothing deduplicates or compresses.
            chunk = hashlib.sha256(written.to_bytes(8, "little")).digest() + block[32:]
            chunk = chunk[: size - written]
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def best(runs: list[Run]) -> Run:
    return Run(min(r.seconds for r in runs), max(r.peak_rss_mib for r in runs))


def bench_s3(work: Path, data: Path, digest: str, repeat: int, cache: Path) -> dict[str, dict[str, Run]]:
    aws = ensure_awscli(cache)
    with running_s3_server(work) as server:
        env = {**os.environ, **server.env()}
        bucket = server.new_bucket("bench")
        settings = {"s3_bucket": bucket, "s3_prefix": "bench", "s3_endpoint_url": server.endpoint_url}
        client = server.client()
        aws_base = [str(aws), "--endpoint-url", server.endpoint_url, "--region", server.region]
        results: dict[str, dict[str, list[Run]]] = {"upload": {"ours": [], "theirs": []},
                                                     "download": {"ours": [], "theirs": []}}

        def clear() -> None:
            for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])

        ref_json = ""
        for i in range(repeat):
            order = ["ours", "theirs"] if i % 2 == 0 else ["theirs", "ours"]
            for who in order:
                clear()
                if who == "ours":
                    run, ref_json = ours("s3", settings, "put", str(data), env)
                else:
                    run = run_child([*aws_base, "s3", "cp", "--only-show-errors", str(data),
                                     f"s3://{bucket}/theirs.bin"], env)
                results["upload"][who].append(run)
            # Both objects in place for the downloads (not timed).
            from decentralml.storage import Reference
            from decentralml.storage.s3 import S3Store

            _, our_key = S3Store.location(Reference.from_json(ref_json))
            for key in (our_key, "theirs.bin"):
                client.upload_file(str(data), bucket, key)
            for who in order:
                out = work / f"down-{who}.bin"
                out.unlink(missing_ok=True)
                if who == "ours":
                    run, _ = ours("s3", settings, "get", str(out), env, ref_json)
                else:
                    run = run_child([*aws_base, "s3", "cp", "--only-show-errors",
                                     f"s3://{bucket}/theirs.bin", str(out)], env)
                if file_sha256(out) != digest:
                    raise SystemExit(f"bench: {who} S3 download is corrupt")
                out.unlink()
                results["download"][who].append(run)
        return {op: {who: best(runs) for who, runs in by.items()} for op, by in results.items()}


def bench_ipfs(work: Path, data: Path, digest: str, repeat: int) -> dict[str, dict[str, Run]]:
    with running_kubo(work) as daemon:
        env = dict(os.environ)
        settings = {"ipfs_api": daemon.api, "ipfs_auth": daemon.auth, "timeout": 600}
        port = daemon.api.rsplit(":", 1)[1]
        cli = [daemon.binary, "--api", f"/ip4/127.0.0.1/tcp/{port}", "--api-auth", daemon.auth]
        cli_env = {**env, "IPFS_PATH": str(daemon.ipfs_path)}
        results: dict[str, dict[str, list[Run]]] = {"upload": {"ours": [], "theirs": []},
                                                     "download": {"ours": [], "theirs": []}}

        def clear() -> None:
            pins = subprocess.run([*cli, "pin", "ls", "--type=recursive", "-q"], env=cli_env,
                                  capture_output=True, check=True).stdout.split()
            for cid in pins:
                subprocess.run([*cli, "pin", "rm", cid.decode()], env=cli_env, capture_output=True, check=True)
            subprocess.run([*cli, "repo", "gc", "-q"], env=cli_env, capture_output=True, check=True)

        ref_json, cid = "", ""
        for i in range(repeat):
            order = ["ours", "theirs"] if i % 2 == 0 else ["theirs", "ours"]
            for who in order:
                clear()
                if who == "ours":
                    run, ref_json = ours("ipfs", settings, "put", str(data), env)
                else:
                    with tempfile.TemporaryFile() as out:
                        run = run_child([*cli, "add", "-Q", "--cid-version=1", f"--chunker={DEFAULT_CHUNKER}",
                                         "--pin=true", str(data)], cli_env,
                                        stdout=out.fileno())
                        out.seek(0)
                        cid = out.read().decode().strip()
                results["upload"][who].append(run)
            ref = json.loads(ref_json)
            if ref["uri"] != f"ipfs://{cid}":
                raise SystemExit(f"bench: our CID {ref['uri']} differs from the CLI's {cid}")
            for who in order:
                out_path = work / f"down-{who}.bin"
                out_path.unlink(missing_ok=True)
                if who == "ours":
                    run, _ = ours("ipfs", settings, "get", str(out_path), env, ref_json)
                else:
                    run = run_child([*cli, "get", "-o", str(out_path), cid], cli_env)
                if file_sha256(out_path) != digest:
                    raise SystemExit(f"bench: {who} IPFS download is corrupt")
                out_path.unlink()
                results["download"][who].append(run)
        return {op: {who: best(runs) for who, runs in by.items()} for op, by in results.items()}


def render(results: dict[str, dict[str, dict[str, Run]]], size: int, server: str, repeat: int, load: str) -> str:
    lines = [
        f"`scripts/bench_storage.py --repeat {repeat}` ({size / (1 << 20):.0f} MiB random file, best of {repeat} "
        f"runs each, S3 server: {server}, {os.cpu_count()} CPUs, load average {load} at start, "
        f"{time.strftime('%Y-%m-%d')}):",
        "",
        "| backend | operation | ours (s) | reference tool (s) | ratio (theirs/ours) | our peak RSS (MiB) | "
        "their peak RSS (MiB) | goal met |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    tools = {"s3": "aws s3 cp", "ipfs": "ipfs add / ipfs get"}
    for backend, ops in results.items():
        for op, by in ops.items():
            ours_, theirs = by["ours"], by["theirs"]
            ratio = theirs.seconds / ours_.seconds
            met = ratio >= GOAL_RATIO and ours_.peak_rss_mib < GOAL_RSS_MIB
            lines.append(
                f"| {backend} (vs {tools[backend]}) | {op} | {ours_.seconds:.2f} | {theirs.seconds:.2f} | "
                f"{ratio:.2f} | {ours_.peak_rss_mib:.0f} | {theirs.peak_rss_mib:.0f} | {'yes' if met else 'NO'} |"
            )
    return "\n".join(lines)


def write_docs(table: str) -> None:
    doc = ROOT / "docs" / "storage.md"
    text = doc.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"bench: {doc} lacks the {start} / {end} markers")
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), f"{start}\n{table}\n{end}", text, flags=re.S)
    doc.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", choices=["s3", "ipfs"], default=None)
    parser.add_argument("--write-docs", action="store_true", help="put the table into docs/storage.md")
    args = parser.parse_args()
    cache = Path(os.environ.get("DECENTRALML_CACHE", Path.home() / ".cache" / "decentralml-build"))
    size = args.size_mib << 20
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        work = Path(tmp)
        data = work / "payload.bin"
        digest = make_file(data, size)
        results: dict[str, dict[str, dict[str, Run]]] = {}
        if args.only in (None, "s3"):
            results["s3"] = bench_s3(work, data, digest, args.repeat, cache)
        if args.only in (None, "ipfs"):
            results["ipfs"] = bench_ipfs(work, data, digest, args.repeat)
    server = os.environ.get("DECENTRALML_S3_SERVER", "minio")
    table = render(results, size, server, args.repeat, load)
    print(table)
    if args.write_docs:
        write_docs(table)


if __name__ == "__main__":
    main()
