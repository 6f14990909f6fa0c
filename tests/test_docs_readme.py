"""README.md cannot rot: every `sh` block in it runs, in order, in one bash session.

Mechanical changes a test needs and a user does not: `scripts/run` gets free ports and goes to the
background until it listens (its upstream is a local fake, through KEEPTRUSTS_UPSTREAM_URL), one
request is sent through it so the audit commands have something to show, and `scripts/test` is
skipped (it is what runs this test).
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from fake_openai import FakeOpenAI
from gateway_proc import clean_env, free_port

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def sh_lines(markdown: str) -> list[str]:
    blocks = re.findall(r"^```sh\n(.*?)^```", markdown, re.S | re.M)
    return [line for b in blocks for line in b.splitlines()]


def as_script(port: int, proxy: int) -> str:
    out = ["set -euo pipefail", 'trap \'kill $(cat "$DOCTEST/pid" 2>/dev/null) 2>/dev/null || true\' EXIT',
           'export PATH="$PWD/.venv/bin:$PATH"']
    for line in sh_lines(README.read_text()):
        cmd = line.split("#", 1)[0].strip()
        if cmd == "scripts/run":
            out.append(f'scripts/run --listen 127.0.0.1:{port} --proxy-listen 127.0.0.1:{proxy} '
                       f'>"$DOCTEST/gateway.log" 2>&1 & echo $! >"$DOCTEST/pid"')
            out.append(f'for _ in $(seq 1 900); do curl -sf http://127.0.0.1:{port}/health >/dev/null && break; sleep 0.2; done')
            out.append(f'curl -sf http://127.0.0.1:{port}/v1/chat/completions -H "content-type: application/json" '
                       '-d \'{"model":"gpt-4o","messages":[{"role":"user","content":"mail jane.roe@example-corp.com"}]}\'')
        elif cmd == "scripts/test":
            continue
        elif cmd:
            out.append(cmd)
    return "\n".join(out) + "\n"


def test_readme_has_the_two_setup_commands_first():
    text = README.read_text()
    first = sh_lines(text)[:2]
    assert [l.split("#")[0].strip() for l in first] == ["scripts/run", "scripts/test"]
    assert text.index("scripts/run") < text.index("## What it covers")


def test_every_readme_command_works(tmp_path):
    script = tmp_path / "readme.sh"
    script.write_text(as_script(free_port(), free_port()))
    with FakeOpenAI(script=lambda received: "hello from the fake") as fake:
        env = clean_env(DOCTEST=str(tmp_path), KEEPTRUSTS_HOME=str(tmp_path / "kt"),
                        KEEPTRUSTS_CERTS=str(tmp_path / "certs"), KEEPTRUSTS_UPSTREAM_URL=fake.url)
        env.pop("VIRTUAL_ENV", None)
        try:
            p = subprocess.run(["bash", str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
            produced = {f: (ROOT / f).exists() for f in ("events.csv", "report.html")}
        finally:  # the README's commands write these beside the checkout, as they would for a user
            for f in ("events.csv", "report.html"):
                (ROOT / f).unlink(missing_ok=True)
        log = (tmp_path / "gateway.log").read_text(errors="replace") if (tmp_path / "gateway.log").exists() else ""
        explain = f"--- stdout\n{p.stdout[-4000:]}\n--- stderr\n{p.stderr[-4000:]}\n--- gateway\n{log[-3000:]}"
        assert p.returncode == 0, explain
        assert "hello from the fake" in p.stdout, explain
        assert fake.leaked("jane.roe@example-corp.com") == []
    assert "OK policies/codex-cli.yaml is valid" in p.stdout
    assert "OK" in p.stdout and "kt_gk_" in p.stdout  # audit verify, tokens create
    assert produced == {"events.csv": True, "report.html": True}, explain
