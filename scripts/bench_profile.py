"""Where the gateway's added latency goes: py-spy samples the gateway process during one 40-turn SSE
session and the samples are grouped into the stages of an exchange (ms of gateway time per turn).

    scripts/bench profile [--turns 40] [--rate 500] [--raw FILE]

Needs py-spy (`.venv/bin/pip install py-spy`; not a project dependency) and ptrace rights (root or
CAP_SYS_PTRACE).
"""
from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_client import SSEClient  # noqa: E402
from bench_procs import Stack  # noqa: E402
from bench_session import Session  # noqa: E402

# (stage, predicate on the frame list, outermost first). First match wins; order matters.
STAGES = [
    ("final event waits for the audit commit", lambda fs: any("_terminal" in f for f in fs) and "Condition.wait" in fs[-1]),
    ("audit row build + commit (writer thread)", lambda fs: any("AuditWriter._write_batch" in f for f in fs)),
    ("policy chain (request side)", lambda fs: any("Chain.request" in f for f in fs)),
    ("policy chain (output side)", lambda fs: any("Chain.output_item" in f or "Chain.response" in f for f in fs)),
    ("body re-serialisation after redaction", lambda fs: any("_handle_api_request" in f for f in fs)
     and any(f.startswith("dumps ") for f in fs)),
    ("request parse + segment extraction", lambda fs: any("_parse_body" in f or "extract (keeptrusts" in f
                                                          or "_fill_exchange" in f for f in fs)),
    ("audit record assembly (_submit)", lambda fs: any("Keeptrusts._submit" in f for f in fs)),
    ("SSE relay (framing, parsing events)", lambda fs: any("SSEStream" in f for f in fs)),
    ("other addon hooks", lambda fs: any("keeptrusts/addon.py" in f for f in fs)),
    ("mitmproxy HTTP/socket handling", lambda fs: any("mitmproxy" in f or "asyncio" in f for f in fs)),
]
IDLE = ("EpollSelector.select", "AuditWriter._run (keeptrusts/audit/writer.py:1", "Queue.get", "_queue.get")


def classify(raw: Path) -> tuple[collections.Counter, int]:
    stages: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if any(frames[-1].startswith(i) for i in IDLE) or frames[-1].startswith("AuditWriter._run"):
            continue  # waiting for work, not working
        total += int(n)
        for name, pred in STAGES:
            if pred(frames):
                stages[name] += int(n)
                break
        else:
            stages["other"] += int(n)
    return stages, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=40)
    ap.add_argument("--rate", type=int, default=500, help="samples per second")
    ap.add_argument("--raw", type=Path, default=None, help="keep py-spy's raw (collapsed) stacks here")
    a = ap.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    raw = a.raw or Path(tempfile.mkdtemp(prefix="kt-prof-")) / "gateway.txt"
    with Stack(bare=False) as st:
        c = SSEClient(st.gateway.port)
        warm = Session("warm", turns=3, offset=300)
        for n in range(3):
            c.turn(warm.sse_body(n))
        p = subprocess.Popen([spy, "record", "--pid", str(st.gateway.pid), "-o", str(raw), "--format", "raw",
                              "-r", str(a.rate), "--idle", "--threads"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.5)
        sess = Session("prof")
        t0 = time.perf_counter()
        for n in range(a.turns):
            r = c.turn(sess.sse_body(n))
            if not r.ok:
                print("turn failed:", r.error)
        wall = time.perf_counter() - t0
        time.sleep(0.5)
        p.send_signal(2)
        p.wait(60)
    stages, total = classify(raw)
    per = 1000 / a.rate / a.turns
    print(f"\nGateway CPU by stage, one {a.turns}-turn SSE session (29-514 KB requests), ms per turn "
          f"(py-spy at {a.rate} Hz; client wall time {wall * 1000 / a.turns:.1f} ms per turn)")
    for name, n in stages.most_common():
        print(f"  {n * per:7.2f} ms  {name}")
    print(f"  {total * per:7.2f} ms  total busy (all threads)\nraw stacks: {raw}")


if __name__ == "__main__":
    main()
