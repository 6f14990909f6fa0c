"""Record real Codex CLI sessions with mitmdump into tests/flows/*.mitm (run by scripts/record-codex-flows).

Codex talks to a plain mitmdump (no addon) in reverse mode in front of the fake upstream, so the
recorded flows hold exactly what Codex sends, unredacted (the planted values are fake), for offline
replay through the addon: `mitmdump -nr tests/flows/codex-ws.mitm -s addons/keeptrusts.py`.
"""
from __future__ import annotations

import argparse
import json
import os
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
# name -> (fake's WebSocket answer, explicit proxy?): Responses WebSocket, SSE after a 426, HTTPS_PROXY + CA.
SESSIONS = {"codex-ws": ("accept", False), "codex-sse": ("refuse", False), "codex-proxy": ("accept", True)}


def record(name: str, binary: Path, out_dir: Path) -> dict:
    websocket, explicit = SESSIONS[name]
    with tempfile.TemporaryDirectory(prefix=f"record-{name}-") as tmp:
        tmp = Path(tmp)
        with FakeOpenAI(script=scenario.model_script(), websocket=websocket, tls=explicit) as fake:
            port = free_port()
            flow_file = out_dir / f"{name}.mitm"
            common = ["--set", f"confdir={tmp / 'mitm'}", "-w", str(flow_file), "-q"]
            workspace = scenario.make_workspace(tmp / "ws")
            if explicit:
                # Codex keeps https://api.openai.com and trusts this mitmdump's CA; only API traffic is
                # recorded (other hosts are not decrypted), and api.openai.com is connected to the fake.
                args = ["--mode", f"regular@{port}", "--set", "ssl_insecure=true", "--allow-hosts", r"^api\.openai\.com",
                        "-s", str(HERE / "redirect_addon.py"), *common]
                env = dict(os.environ, REDIRECT_TO=f"127.0.0.1:{fake.port}")
                with Mitmdump(args, port, tmp / "mitmdump.log", env=env):
                    codex = Codex(binary, tmp / "home", workspace, None, env={
                        "HTTPS_PROXY": f"http://127.0.0.1:{port}", "SSL_CERT_FILE": str(tmp / "mitm" / "mitmproxy-ca-cert.pem")})
                    run = codex.run(scenario.PROMPT)
            else:
                args = ["--mode", f"reverse:{fake.url}@{port}", *common]
                with Mitmdump(args, port, tmp / "mitmdump.log"):
                    codex = Codex(binary, tmp / "home", workspace, f"http://127.0.0.1:{port}/v1")
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
        print(json.dumps({name: record(name, binary, a.out)}))


if __name__ == "__main__":
    main()
