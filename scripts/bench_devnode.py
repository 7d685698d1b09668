#!/usr/bin/env python3
"""Benchmark the dev node: pre-signed transfers and create_task extrinsics over WebSocket.

Starts ``python -m decentralml.devnode --tmp --rpc-port 0`` (or uses ``--url``),
pre-signs extrinsics from the six dev accounts (nonces in sequence, immortal
era), then measures for each scenario:

* imported extrinsics/s: extrinsics submitted with author_submitAndWatchExtrinsic,
  divided by the time from the first send to the last ``inBlock`` notice
  (every extrinsic sent at once: the node's saturation throughput);
* inclusion latency p50/p99: send -> ``inBlock`` notice, with a bounded number
  of extrinsics in flight per connection (closed loop).

Client and node share the machine; figures are printed, never asserted.
Usage: python scripts/bench_devnode.py [--count 3000] [--connections 1,3] [--block-time S] [--url ws://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

import aiohttp
from substrateinterface import Keypair, SubstrateInterface

from decentralml.devnode.codec import blake2_256, encode_compact

DEV = ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")
UNIT = 10**12


@dataclass
class Signer:
    keypair: Keypair
    nonce: int


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (Linux /proc), to see the node's own cost per extrinsic."""
    if pid is None:
        return None
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    import os

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Saturation watches every extrinsic of a connection at once: more than a node's default of
# 1024 subscriptions per connection, so the benchmark raises the limit as one would on a node.
SUBSCRIPTIONS_PER_CONNECTION = "1000000"


def start_node(extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    tmp = tempfile.mkdtemp(prefix="bench-devnode-")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "decentralml.devnode", "--base-path", tmp, "--rpc-port", "0",
            "--rpc-max-subscriptions-per-connection", SUBSCRIPTIONS_PER_CONNECTION, *extra,
        ],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        match = re.search(r"RPC \(WebSocket\): (ws://\S+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
            return process, match.group(1)
    raise SystemExit(f"the dev node did not start (exit {process.wait()})")


class Presigner:
    """Signs v4 extrinsics directly (same bytes substrate-interface produces, without its per-call overhead)."""

    def __init__(self, substrate: SubstrateInterface) -> None:
        self.substrate = substrate
        version = substrate.rpc_request("state_getRuntimeVersion", [])["result"]
        genesis = bytes.fromhex(substrate.get_block_hash(0)[2:])
        self.tail = version["specVersion"].to_bytes(4, "little") + version["transactionVersion"].to_bytes(4, "little") + genesis + genesis

    def call(self, module: str, function: str, params: dict) -> bytes:
        return bytes(self.substrate.compose_call(module, function, params).data.data)

    def sign(self, signer: Signer, call: bytes) -> bytes:
        extra = b"\x00" + encode_compact(signer.nonce) + encode_compact(0)  # immortal era, nonce, tip
        payload = call + extra + self.tail
        if len(payload) > 256:
            payload = blake2_256(payload)
        signature = signer.keypair.sign(payload)
        body = b"\x84\x00" + signer.keypair.public_key + b"\x01" + signature + extra + call
        signer.nonce += 1
        return encode_compact(len(body)) + body


def presign(url: str, count: int, kind: str) -> list[str]:
    substrate = SubstrateInterface(url=url)
    signers = [Signer(Keypair.create_from_uri(f"//{n}", ss58_format=42), 0) for n in DEV]
    for signer in signers:
        signer.nonce = substrate.get_account_nonce(signer.keypair.ss58_address)
    presigner = Presigner(substrate)
    head = substrate.get_block_number(None)
    xts = []
    for index in range(count):
        signer = signers[index % len(signers)]
        dest = signers[(index + 1) % len(signers)].keypair.ss58_address
        if kind == "transfer":
            call = presigner.call("Balances", "transfer_keep_alive", {"dest": dest, "value": UNIT + index})
        else:
            call = presigner.call("DecentralMLModule", "create_task", {
                "task_type": "ModelContributor", "question": f"bench task {index}", "pays_amount": UNIT // 10,
                "max_assignments": 2, "validation_strategy": "ManualAccept", "expiration_block": head + 1_000_000,
                "assignment_deadline": 100,
                "assets": {"ModelContributor": {"contributor_bundle": {"storage": "IPFS", "uri": f"ipfs://bench/{index}", "digest": "0x" + "ab" * 32}, "base_model": None}},
            })
        xts.append("0x" + presigner.sign(signer, call).hex())
    substrate.close()
    return xts


async def run_connection(url: str, xts: list[str], in_flight: int, sent: dict[int, float], included: dict[int, float]) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        subs: dict[str, int] = {}
        ids: dict[int, int] = {}
        next_index = 0
        outstanding = 0
        done = 0

        async def send(index: int) -> None:
            request_id = index + 1
            ids[request_id] = index
            sent[index] = time.perf_counter()
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "author_submitAndWatchExtrinsic", "params": [xts[index]]}))

        while next_index < len(xts) and outstanding < in_flight:
            await send(next_index)
            next_index += 1
            outstanding += 1
        while done < len(xts):
            message = json.loads((await ws.receive()).data)
            if "id" in message:
                if "error" in message:
                    raise SystemExit(f"extrinsic refused: {message['error']}")
                subs[message["result"]] = ids[message["id"]]
                continue
            params = message.get("params", {})
            result = params.get("result")
            if isinstance(result, dict) and "inBlock" in result:
                included[subs[params["subscription"]]] = time.perf_counter()
                done += 1
                outstanding -= 1
                if next_index < len(xts):
                    await send(next_index)
                    next_index += 1
                    outstanding += 1


async def scenario(url: str, xts: list[str], connections: int, in_flight: int) -> dict[str, float]:
    # Each account's extrinsics stay on one connection, in nonce order (connections must divide 6).
    shards = [[xt for index, xt in enumerate(xts) if (index % len(DEV)) % connections == shard] for shard in range(connections)]
    sent_all: list[dict[int, float]] = [{} for _ in shards]
    inc_all: list[dict[int, float]] = [{} for _ in shards]
    start = time.perf_counter()
    await asyncio.gather(*(run_connection(url, shard, in_flight, sent_all[i], inc_all[i]) for i, shard in enumerate(shards)))
    end = max(max(d.values()) for d in inc_all)
    latencies = [inc_all[i][k] - sent_all[i][k] for i in range(len(shards)) for k in inc_all[i]]
    latencies.sort()
    return {
        "xt_per_s": len(xts) / (end - start),
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="use a running node instead of starting one")
    parser.add_argument("--count", type=int, default=3000, help="extrinsics per saturation scenario")
    parser.add_argument("--latency-count", type=int, default=600, help="extrinsics per latency scenario")
    parser.add_argument("--connections", default="1,3", help="comma-separated connection counts (must divide 6)")
    parser.add_argument("--kinds", default="transfer,create_task")
    parser.add_argument("--block-time", type=float, help="start the node with --block-time (interval sealing)")
    args = parser.parse_args()
    process = None
    url = args.url
    if url is None:
        process, url = start_node([] if args.block_time is None else ["--block-time", str(args.block_time)])
    try:
        print(f"dev node at {url}")
        for kind in args.kinds.split(","):
            for connections in (int(c) for c in args.connections.split(",")):
                t0 = time.perf_counter()
                xts = presign(url, args.count, kind)
                sign_s = time.perf_counter() - t0
                cpu_before = cpu_seconds(process.pid if process else None)
                saturated = asyncio.run(scenario(url, xts, connections, in_flight=len(xts)))
                cpu_after = cpu_seconds(process.pid if process else None)
                node_ms = None if cpu_before is None or cpu_after is None else 1000 * (cpu_after - cpu_before) / len(xts)
                xts = presign(url, args.latency_count, kind)
                closed = asyncio.run(scenario(url, xts, connections, in_flight=1))
                print(
                    f"{kind:<12} conns={connections}  saturation: {saturated['xt_per_s']:7.0f} xt/s "
                    f"(p50 {saturated['p50_ms']:.0f} ms, p99 {saturated['p99_ms']:.0f} ms, {args.count} xts)  |  "
                    f"one in flight per conn: {closed['xt_per_s']:6.0f} xt/s, p50 {closed['p50_ms']:.1f} ms, p99 {closed['p99_ms']:.1f} ms"
                    f"  [presign {args.count / sign_s:.0f} xt/s"
                    + (f"; node CPU {node_ms:.2f} ms/xt -> {1000 / node_ms:.0f} xt/s on a free core]" if node_ms else "]"),
                    flush=True,
                )
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
