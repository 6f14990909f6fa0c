"""Added cost per turn of the blocked-item lookup (keeptrusts.blocked_items.stub_known), in µs.

The session is bench_session's Codex-shaped one (stdlib sources as tool outputs), turn 40 over SSE
(~500 KB, the whole history resent). Measured on the segments the turn pipeline extracts, so the
number is what judge_request adds before the chain runs:

- empty:     the developer has never had anything blocked (the common case)
- one:       one blocked tool output in this developer's memory, carried in the history (stubbed)
- crowded:   1,000 blocked texts in the memory, 50 of them with the lengths of segments in the turn
             (so SHA-256 runs on those segments), one of them carried and stubbed

    scripts/bench blocked [--turn 40] [--reps 200]
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_session import Session  # noqa: E402

from keeptrusts.blocked_items import BlockedItems, stub_known  # noqa: E402
from keeptrusts.exchange import TOOL_OUTPUT  # noqa: E402
from keeptrusts.wire import requests as wire_requests  # noqa: E402


def segments_of(body: bytes):
    return wire_requests.extract_all("responses", json.loads(body))[0]


def measure(store: BlockedItems, body: bytes, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        segs = segments_of(body)   # fresh segments each time: stubbing edits them
        gc.collect()               # the parse's garbage is the parser's cost, not the lookup's
        gc.disable()
        t = time.perf_counter()
        stub_known(store, "dev:alice", segs, None)
        out.append((time.perf_counter() - t) * 1e6)
        gc.enable()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turn", type=int, default=40)
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()
    session = Session(salt="blocked", turns=args.turn)
    body = session.sse_body(args.turn - 1)
    segs = segments_of(body)
    outputs = [s for s in segs if s.kind == TOOL_OUTPUT]
    print(f"turn {args.turn} over SSE: {len(body) / 1024:.0f} KB, {len(segs)} segments, {len(outputs)} tool outputs")

    empty = BlockedItems(None)
    empty.remember("dev:bob", "someone else's block", "prompt-injection", "evt_bob")
    one = BlockedItems(None)
    one.remember("dev:alice", outputs[3].text, "prompt-injection", "evt_one")
    crowded = BlockedItems(None)
    for i in range(950):
        crowded.remember("dev:alice", f"blocked text number {i} " * 3, "prompt-injection", f"evt_{i}")
    for i, seg in enumerate(segs[:50]):   # same lengths as segments of the turn: forces the hash
        crowded.remember("dev:alice", "x" * len(seg.text) if seg is not outputs[3] else seg.text,
                         "prompt-injection", f"evt_len_{i}")
    crowded.remember("dev:alice", outputs[3].text, "prompt-injection", "evt_one")

    print(f"{'memory':10} {'min µs':>8} {'median µs':>10} {'p99 µs':>10}  stubbed")
    for name, store in (("empty", empty), ("one", one), ("crowded", crowded)):
        times = sorted(measure(store, body, args.reps))
        check = segments_of(body)
        n = len(stub_known(store, "dev:alice", check, None).findings) if store.scope_size("dev:alice") else 0
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"{name:10} {times[0]:8.1f} {statistics.median(times):10.1f} {p99:10.1f}  {n}")


if __name__ == "__main__":
    main()
