"""Record real Codex CLI sessions with mitmdump into tests/flows/*.mitm (run by scripts/record-codex-flows).

Codex talks to a plain mitmdump (no addon) in reverse mode in front of the fake upstream, so the
recorded flows hold exactly what Codex sends, unredacted (the planted values are fake), for offline
replay through the addon: `mitmdump -nr tests/flows/codex-ws.mitm -s addons/keeptrusts.py`.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from codex import DUMMY_KEY, Codex, install_codex  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402
from mitm import Mitmdump, free_port  # noqa: E402
import scenario  # noqa: E402

FLOWS = HERE.parent / "flows"
SESSIONS = {"codex-ws": "accept", "codex-sse": "refuse"}  # transport: Responses WebSocket, then SSE after a 426


def record(name: str, websocket: str, binary: Path, out_dir: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"record-{name}-") as tmp:
        tmp = Path(tmp)
        with FakeOpenAI(script=scenario.model_script(), websocket=websocket) as fake:
            port = free_port()
            flow_file = out_dir / f"{name}.mitm"
            args = ["--mode", f"reverse:{fake.url}@{port}", "--set", f"confdir={tmp / 'mitm'}", "-w", str(flow_file), "-q"]
            with Mitmdump(args, port, tmp / "mitmdump.log"):
                codex = Codex(binary, tmp / "home", scenario.make_workspace(tmp / "ws"), f"http://127.0.0.1:{port}/v1")
                run = codex.run(scenario.PROMPT)
            ws = tmp / "ws"
            summary = {
                "flows": str(flow_file), "codex_exit": run.returncode,
                "seconds": round(run.seconds, 1), "model_requests": len(fake.model_requests()),
                "transports": sorted({r.transport for r in fake.requests}),
                "patched": "DEBUG=true" in (ws / scenario.SETTINGS_PATH).read_text(),
                "allowed_ran": (ws / "allowed.txt").exists(), "denied_ran": (ws / "pwned.txt").exists(),
                "bytes": flow_file.stat().st_size,
            }
            if DUMMY_KEY not in fake.all_text():
                raise SystemExit(f"{name}: Codex did not send the dummy key; refusing to keep flows of unknown auth")
            return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=FLOWS)
    ap.add_argument("sessions", nargs="*", default=list(SESSIONS))
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    binary = install_codex()
    for name in a.sessions:
        print(json.dumps({name: record(name, SESSIONS[name], binary, a.out)}))


if __name__ == "__main__":
    main()
