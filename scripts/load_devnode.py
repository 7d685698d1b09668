"""Abuse the dev node while a well-behaved client works, and report what that client saw.

Starts ``python -m decentralml.devnode --tmp --rpc-port 0`` on 127.0.0.1. For each
abuse below, a *victim* client on its own connection submits pre-signed transfers one
at a time (``author_submitAndWatchExtrinsic``, waiting for ``inBlock``) and reads
``state_getStorage`` in between, while the abuser runs; the script reports the victim's
p50/p99 round-trip latency, the node's peak RSS (``VmHWM``) and whether every
transfer was included (nothing lost). Every abuse is bounded in count and time:

* ``huge-batch``: one ~15 MiB JSON-RPC batch of invalid calls;
* ``no-reader``: a client that subscribes to every block and never reads;
* ``oversize``: messages over ``--rpc-max-request-size`` (1.1x, 2x, 10x; in one frame and in 1 MiB
  fragments; text and binary) on a connection that must survive;
* ``subscriptions``: one connection asking for 5,000 subscriptions (the node's limit is 1,024);
* ``half-open``: 300 HTTP connections that never finish their request head;
* ``foreign-origin``: browser requests with a foreign ``Origin`` trying ``dev_newBlocks``.

Goals (issue "the dev node as a service"): victim p99 < 100 ms, node RSS < 512 MiB,
nothing lost, on an idle machine. Usage:

    python scripts/load_devnode.py [--transfers-per-abuse 60] [--only huge-batch,no-reader]

Prints one line per abuse and a JSON summary as the last line; exits 1 if anything was
lost or an abuse broke the victim's connection.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
import websocket

MIB = 1024 * 1024
SYSTEM_NUMBER = "0x26aa394eea5630e07c48ae0c9558cef702a5c1b19ab7a04f536c519aca4983ac"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_devnode", Path(__file__).with_name("bench_devnode.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    assert spec and spec.loader
    sys.modules["bench_devnode"] = module
    spec.loader.exec_module(module)
    return module


def start_node() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "decentralml.devnode", "--tmp", "--rpc-port", "0", "--rpc-host", "127.0.0.1"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        match = re.search(r"RPC \(WebSocket\): (ws://\S+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
            return process, match.group(1)
    raise SystemExit("the dev node did not start")


def peak_rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def victim(url: str, xts: list[str], stop: asyncio.Event, connected: asyncio.Event) -> dict[str, object]:
    """Submit ``xts`` one at a time (wait for inBlock), with a storage read after each; record latencies."""
    latencies: list[float] = []
    included = 0
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        connected.set()
        await asyncio.sleep(0.3)  # let the abuse start
        next_id = 0

        async def call(method: str, params: list) -> dict:
            nonlocal next_id
            next_id += 1
            start = time.perf_counter()
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": next_id, "method": method, "params": params}))
            while True:
                message = json.loads((await ws.receive(timeout=30)).data)
                if message.get("id") == next_id:
                    latencies.append(time.perf_counter() - start)
                    return message
                if message.get("params", {}).get("result", {}) and isinstance(message["params"]["result"], dict):
                    if "inBlock" in message["params"]["result"]:
                        pending.discard(message["params"]["subscription"])

        pending: set[str] = set()
        for xt in xts:
            reply = await call("author_submitAndWatchExtrinsic", [xt])
            if "error" in reply:
                raise SystemExit(f"victim's transfer refused: {reply['error']}")
            pending.add(reply["result"])
            while pending:  # wait for inBlock, reading storage meanwhile
                await call("state_getStorage", [SYSTEM_NUMBER])
                await asyncio.sleep(0.01)
            included += 1
        stop.set()
    ordered = sorted(latencies)
    return {
        "included": included,
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 1),
        "calls": len(ordered),
    }


async def huge_batch(url: str, stop: asyncio.Event) -> None:
    one = '{"jsonrpc":"2.0","id":1,"method":"no_such_method","params":[]}'
    batch = "[" + ",".join([one] * (15 * MIB // (len(one) + 1) - 8)) + "]"
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        await ws.send_str(batch)
        await ws.receive(timeout=120)


async def no_reader(url: str, stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(*url.removeprefix("ws://").split(":"))
    writer.write(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    mask = b"\x00\x00\x00\x00"
    for i in range(500):
        payload = json.dumps({"jsonrpc": "2.0", "id": i, "method": "state_getMetadata", "params": []}).encode()
        writer.write(bytes((0x81, 0x80 | len(payload))) + mask + payload)
    await writer.drain()
    await stop.wait()  # never reads a byte
    writer.close()


def _masked_head(opcode: int, length: int, fin: bool) -> bytes:
    """A client frame header (RFC 6455 5.2) with an all-zero mask, so the payload goes out as it is."""
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        head = bytes((first, 0x80 | length))
    elif length < 1 << 16:
        head = bytes((first, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((first, 0x80 | 127)) + length.to_bytes(8, "big")
    return head + b"\0\0\0\0"


def _oversize_sync(url: str) -> None:
    # Frames written straight to the socket (sendall releases the GIL): masking 150 MiB in this
    # process would stall the victim's event loop here, not the node's.
    ws = websocket.create_connection(url, timeout=120)
    limit = 15 * MIB  # --rpc-max-request-size's default
    try:
        for tenths, fragment, binary in OVERSIZE_CASES:
            data = memoryview(b"x" * (tenths * limit // 10))
            opcode = 0x2 if binary else 0x1
            step = len(data) if fragment is None else fragment * MIB
            starts = range(0, len(data), step)
            for index, start in enumerate(starts):
                part = data[start : start + step]
                ws.sock.sendall(_masked_head(opcode if index == 0 else 0x0, len(part), index == len(starts) - 1))
                ws.sock.sendall(part)
            reply = json.loads(ws.recv())
            assert reply["error"]["code"] == -32007, reply
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "system_chain", "params": []}))
        assert json.loads(ws.recv())["result"] == "Development"
    finally:
        ws.close()


# (size in tenths of the limit, fragment size in MiB or None for one frame, binary)
OVERSIZE_CASES = [(11, None, False), (20, None, True), (100, None, False), (100, 1, True), (11, 1, False)]


async def oversize(url: str, stop: asyncio.Event) -> None:
    await asyncio.to_thread(_oversize_sync, url)


async def subscriptions(url: str, stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        for i in range(5000):
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": i, "method": "chain_subscribeNewHeads", "params": []}))
        refused = 0
        while not stop.is_set():
            try:
                message = json.loads((await ws.receive(timeout=0.5)).data)
            except asyncio.TimeoutError:
                continue
            if "error" in message:
                refused += 1


async def half_open(url: str, stop: asyncio.Event) -> None:
    host, port = url.removeprefix("ws://").split(":")
    sockets = []
    for _ in range(300):
        try:
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
            sockets.append(sock)
        except OSError:
            break
    await stop.wait()
    for sock in sockets:
        sock.close()


async def foreign_origin(url: str, stop: asyncio.Event) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "dev_newBlocks", "params": [10_000]})
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            async with session.post(url.replace("ws://", "http://"), data=body, headers={"Origin": "https://evil.example", "Content-Type": "application/json"}) as response:
                assert response.status == 403, response.status


ABUSES = {
    "huge-batch": huge_batch,
    "no-reader": no_reader,
    "oversize": oversize,
    "subscriptions": subscriptions,
    "half-open": half_open,
    "foreign-origin": foreign_origin,
}


async def run_abuse(url: str, name: str, xts: list[str]) -> dict[str, object]:
    stop, connected = asyncio.Event(), asyncio.Event()
    work = asyncio.create_task(asyncio.wait_for(victim(url, xts, stop, connected), timeout=300))
    await connected.wait()  # the victim is connected before the abuse begins
    abuser = asyncio.create_task(ABUSES[name](url, stop))
    result = await work
    try:
        await asyncio.wait_for(abuser, timeout=60)
    except (asyncio.TimeoutError, aiohttp.ClientError, ConnectionError):
        abuser.cancel()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transfers-per-abuse", type=int, default=60)
    parser.add_argument("--only", default=",".join(ABUSES))
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(ABUSES)
    if unknown:
        raise SystemExit(f"unknown abuse(s): {', '.join(sorted(unknown))}")
    bench = _bench()
    process, url = start_node()
    summary: dict[str, object] = {}
    try:
        xts = bench.presign(url, args.transfers_per_abuse * len(names), "transfer")
        for index, name in enumerate(names):
            chunk = xts[index * args.transfers_per_abuse : (index + 1) * args.transfers_per_abuse]
            result = asyncio.run(run_abuse(url, name, chunk))
            result["rss_mib"] = round(peak_rss_mib(process.pid), 1)
            result["lost"] = len(chunk) - int(result["included"])  # type: ignore[arg-type]
            summary[name] = result
            print(f"{name:15} victim p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms over {result['calls']} calls; "
                  f"node peak RSS {result['rss_mib']} MiB; lost {result['lost']}", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(json.dumps(summary))
    if any(r["lost"] for r in summary.values()):  # type: ignore[index]
        sys.exit(1)


if __name__ == "__main__":
    main()
