#!/usr/bin/env python3
"""A fake event server for working on the logic-analyzer page without the Rust build.

It serves circuit-runtime/src/analyzer.html at `/` (read anew on every request, so
edits show on reload) and the analyzer's event stream at `/events` with the same
protocol as circuit-runtime/src/analyzer.rs: `hello`, the recent history as `change`
messages (older changes folded into `before` when --ring is small), the live changes
of a fake run (clock ticks, acknowledgements, three pin bits per tick and a buzzer
pulse on each rising bit), then `end`. --drop N cuts the first connection(s) after N
live messages (abruptly, or with a close code) to test reconnects; --close-after-end
closes normally after `end`. It prints its URL, then, when the run ends, the counters
and edges a page should show, as JSON. Standard library only (the WebSocket framing
is done by hand); a development tool, not part of any test.

    python3 tests/browser/fake_feed.py --port 0 --ticks 20 --period 0.1
"""

import argparse
import asyncio
import base64
import hashlib
import json
import random
import struct
import time
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "circuit-runtime" / "src" / "analyzer.html"
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HELLO = {
    "type": "hello",
    "title": "circuit",
    "signals": [
        {"id": "clock.tick", "kind": "number"},
        {"id": "clock.ack", "kind": "text"},
        {"id": "iopin.level", "kind": "bit"},
        {"id": "buzzer.buzz", "kind": "bit"},
    ],
    "counters": [
        {"label": "ticks sent", "signal": "clock.tick", "count": "samples"},
        {"label": "acknowledgements", "signal": "clock.ack", "count": "samples"},
        {"label": "bits drawn", "signal": "iopin.level", "count": "samples"},
        {"label": "buzzes", "signal": "buzzer.buzz", "count": "rises"},
    ],
    "buzz": "buzzer.buzz",
}
BITS = {"iopin.level", "buzzer.buzz"}


class Run:
    """The fake run: every change so far, the end, and who waits for more."""

    def __init__(self, args):
        self.args = args
        self.start = time.monotonic()
        self.changes = []  # (t, signal, value), in time order
        self.end = None
        self.drops_left = args.drops

    def now(self):
        return int((time.monotonic() - self.start) * 1e6)

    async def emit(self, signal, value):
        self.changes.append((self.now(), signal, value))

    async def play(self):
        rng = random.Random(self.args.seed)
        level = 0
        extra = 0
        gap = min(0.002, self.args.period / 20)  # between a tick, its bits and its ack
        for tick in range(self.args.ticks):
            await asyncio.sleep(max(0, self.start + tick * self.args.period - time.monotonic()))
            await self.emit("clock.tick", tick)
            bits = [rng.randint(0, 1) for _ in range(3)]
            for bit in bits:
                await asyncio.sleep(gap)
                await self.emit("iopin.level", bit)
                await self.emit("buzzer.buzz", 1 if level == 0 and bit == 1 else 0)
                level = bit
            await asyncio.sleep(gap)
            await self.emit("clock.ack", "[" + ", ".join(map(str, bits)) + "]")
            if self.args.extra and tick % 4 == 0:  # a signal the hello did not announce
                extra += 1
                await self.emit("fake.extra", extra * 100)
        await asyncio.sleep(0.01)
        summary = expected(self.changes)["summary"]
        self.end = {"type": "end", "t": self.now(), "summary": summary}
        print(json.dumps({"expected": expected(self.changes)}), flush=True)


def totals(changes):
    """What a page counts for `changes`: samples, rises, edges and the last value, by signal."""
    out = {}
    for _, signal, value in changes:
        tot = out.setdefault(signal, {"samples": 0, "rises": 0, "edges": 0, "last": None})
        last = tot["last"]
        if last is None and signal in BITS:
            last = 0
        if not (isinstance(last, int) and last != 0) and isinstance(value, int) and value != 0:
            tot["rises"] += 1
        if value != last:
            tot["edges"] += 1
        tot["samples"] += 1
        tot["last"] = value
    return out


def expected(changes):
    tot = totals(changes)
    get = lambda s, f: tot.get(s, {}).get(f, 0)
    counters = {
        c["label"]: get(c["signal"], "rises" if c["count"] == "rises" else "samples")
        for c in HELLO["counters"]
    }
    return {
        "counters": counters,
        "edges": {s: t["edges"] for s, t in tot.items()},
        "summary": f"{counters['ticks sent']} ticks sent, {counters['acknowledgements']} acks received, "
        f"{counters['bits drawn']} bits drawn, {counters['buzzes']} buzzes",
    }


def frame(opcode, payload):
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


async def read_frames(reader, writer):
    """Reads the page's frames until it closes; answers its close."""
    try:
        while True:
            b0, b1 = await reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack(">H", await reader.readexactly(2))
            elif n == 127:
                (n,) = struct.unpack(">Q", await reader.readexactly(8))
            mask = await reader.readexactly(4) if b1 & 0x80 else b"\0\0\0\0"
            data = bytes(c ^ mask[i % 4] for i, c in enumerate(await reader.readexactly(n)))
            if b0 & 0x0F == 0x8:
                writer.write(frame(0x8, data[:2]))
                await writer.drain()
                return
    except (asyncio.IncompleteReadError, ConnectionError):
        return


async def stream(run, reader, writer):
    args = run.args
    held = len(run.changes)
    cut = max(0, held - args.ring)
    hello = dict(HELLO, before=totals(run.changes[:cut]), now=run.now())
    past = [hello] + [{"type": "change", "t": t, "signal": s, "value": v} for t, s, v in run.changes[cut:held]]
    drop = run.drops_left > 0 and args.drop > 0
    if drop:
        run.drops_left -= 1
    print(f"page connected: {len(past) - 1} changes of history, {cut} folded into before", flush=True)
    writer.write(b"".join(frame(0x1, json.dumps(m).encode()) for m in past))
    await writer.drain()
    reading = asyncio.create_task(read_frames(reader, writer))
    sent, index, ended = 0, held, False
    try:
        while not reading.done():  # polls: this is a toy, single-threaded asyncio
            new = run.changes[index:]
            index += len(new)
            end = run.end if run.end and not ended else None
            if not new and not end:
                await asyncio.sleep(0.01)
                continue
            for t, s, v in new:
                writer.write(frame(0x1, json.dumps({"type": "change", "t": t, "signal": s, "value": v}).encode()))
                sent += 1
                if drop and sent >= args.drop:
                    print(f"dropping the connection after {sent} live changes ({args.drop_how})", flush=True)
                    if args.drop_how != "abrupt":
                        code = {"again": 1013, "away": 1001}[args.drop_how]
                        writer.write(frame(0x8, struct.pack(">H", code) + b"bye"))
                        await writer.drain()
                    writer.transport.abort()
                    return
            if end:
                ended = True
                writer.write(frame(0x1, json.dumps(end).encode()))
                if args.close_after_end:
                    writer.write(frame(0x8, struct.pack(">H", 1000)))
            await writer.drain()
            if ended and args.close_after_end:
                await asyncio.wait_for(reading, 2)
                return
    except (ConnectionError, asyncio.TimeoutError):
        return
    finally:
        reading.cancel()
        writer.close()


async def visit(run, reader, writer):
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1].split("?")[0] if len(lines[0].split(" ")) > 1 else "/"
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
    if path == "/events" and headers.get("upgrade", "").lower() == "websocket":
        accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        await stream(run, reader, writer)
        return
    if path in ("/", "/index.html"):
        status, kind, body = "200 OK", "text/html; charset=utf-8", PAGE.read_bytes()
    else:
        status, kind, body = "404 Not Found", "text/plain", b"not found\n"
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
        f"Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode() + body
    )
    await writer.drain()
    writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ticks", type=int, default=30)
    parser.add_argument("--period", type=float, default=0.1, help="seconds between ticks")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--ring", type=int, default=20000, help="changes of history held")
    parser.add_argument("--drop", type=int, default=0, help="cut a connection after N live changes")
    parser.add_argument("--drops", type=int, default=1, help="how many connections to cut")
    parser.add_argument("--drop-how", choices=["abrupt", "again", "away"], default="abrupt")
    parser.add_argument("--close-after-end", action="store_true")
    parser.add_argument("--extra", action="store_true", help="also a signal the hello does not list")
    parser.add_argument("--linger", type=float, default=60, help="seconds to serve after the end")
    args = parser.parse_args()
    run = Run(args)
    server = await asyncio.start_server(lambda r, w: visit(run, r, w), args.host, args.port)
    port = server.sockets[0].getsockname()[1]
    print(f"fake analyzer on http://{args.host}:{port}/", flush=True)
    async with server:
        await run.play()
        await asyncio.sleep(args.linger)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
