"""README.md cannot rot: every `sh` block in it runs, in order, in one bash session.

The guide's commands run as written against a fake OpenAI upstream, with four mechanical changes
that a test needs and a user does not: the gateway gets free ports instead of 41002/41003 (every
occurrence is replaced), `scripts/run` goes to the background until its ports listen, `--follow`
is stopped after 3 seconds, and `kt doctor` runs `--offline` (no internet here).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "README.md"
WRITTEN = ("events.csv", "report.html")  # the README's export and report commands write these beside the checkout
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from mitm import free_port  # noqa: E402

ANSWER = "Hello from the fake model"
PLANTED = "AKIAQ7ZK2M4N6P3R5T7V"  # the AWS key id in the guide's curl example

PRELUDE = """set -euo pipefail
doctest_wait() {  # wait (bounded) until every given port on 127.0.0.1 accepts connections
  for port in "$@"; do
    for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || { echo "gateway did not listen on $port"; cat "$DOCTEST/gateway.log"; exit 1; }
  done
}
# scripts/run execs kt, so the recorded pid is the gateway's own; stop it by that id.
trap 'set +e; for p in $(cat "$DOCTEST/pids" 2>/dev/null); do kill $p 2>/dev/null; done; sleep 1' EXIT
"""


def sh_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", markdown, re.S | re.M)


def as_test_script(markdown: str, port: int, proxy_port: int) -> str:
    out = [PRELUDE]
    for block in sh_blocks(markdown):
        for line in block.splitlines():
            s = line.strip()
            if s == "scripts/test":
                continue  # it is what runs this test
            if s == "scripts/run":
                line = ('scripts/run --listen 127.0.0.1:41002 --proxy-listen 127.0.0.1:41003 '
                        '>"$DOCTEST/gateway.log" 2>&1 & echo $! >>"$DOCTEST/pids"; doctest_wait 41002 41003')
            elif s.startswith("kt events tail") and "--follow" in s:
                line = f"{{ timeout 3 {s} || test $? -eq 124; }}"
            elif s == "kt doctor":
                line = "kt doctor --offline --listen 127.0.0.1:41002 --proxy-listen 127.0.0.1:41003"
            out.append(line)
    return "\n".join(out).replace("41002", str(port)).replace("41003", str(proxy_port)) + "\n"


def test_readme_starts_with_the_two_setup_commands():
    blocks = sh_blocks(DOC.read_text())
    assert [b.strip() for b in blocks[:2]] == ["scripts/run", "scripts/test"]


def test_every_sh_block_is_collected():
    blocks = sh_blocks(DOC.read_text())
    assert len(blocks) >= 8
    script = as_test_script(DOC.read_text(), 1111, 2222)
    assert "41002" not in script and "41003" not in script and "doctest_wait 1111 2222" in script


@pytest.mark.e2e
def test_codex_guide_commands_work(tmp_path):
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed: the Codex guide needs Node.js >= 16 with npm")
    port, proxy_port = free_port(), free_port()
    script = tmp_path / "guide.sh"
    script.write_text(as_test_script(DOC.read_text(), port, proxy_port))
    (tmp_path / "home").mkdir()
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower() and k not in ("SSL_CERT_FILE", "CODEX_CA_CERTIFICATE", "OPENAI_BASE_URL",
                                                   "CODEX_HOME", "CODEX_API_KEY", "VIRTUAL_ENV")}
    with FakeOpenAI(script=lambda received: ANSWER) as fake:
        env.update(HOME=str(tmp_path / "home"), DOCTEST=str(tmp_path), OPENAI_API_KEY="sk-test-docs-dummy",
                   KEEPTRUSTS_HOME=str(tmp_path / "kt"), KEEPTRUSTS_CERTS=str(tmp_path / "certs"),
                   KEEPTRUSTS_UPSTREAM_URL=fake.url)
        try:
            p = subprocess.run(["bash", str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
            written = {f: (ROOT / f).exists() for f in WRITTEN}
        finally:
            for f in WRITTEN:
                (ROOT / f).unlink(missing_ok=True)
        log = (tmp_path / "gateway.log").read_text(errors="replace") if (tmp_path / "gateway.log").exists() else ""
        explain = f"--- stdout\n{p.stdout[-5000:]}\n--- stderr\n{p.stderr[-5000:]}\n--- gateway\n{log[-3000:]}"
        assert p.returncode == 0, explain
        # Codex (reverse and explicit), the SDK and both curls got the model's answer...
        assert p.stdout.count(ANSWER) >= 5, explain
        # ...through the gateway: the planted key in the curl example never reached upstream.
        assert fake.leaked(PLANTED) == [] and "my AWS key is <SECRET:" in fake.all_text()
        upgrades = fake.received("websocket_upgrade")
        assert len(upgrades) >= 2, explain  # Codex over WebSocket, once per mode
    assert written == {f: True for f in WRITTEN}, explain
    assert "OK policies/codex-cli.yaml is valid" in p.stdout and "kt_gk_" in p.stdout, explain
    assert "codex-cli 0.169.0" in p.stdout
    assert "blocked" in p.stdout.lower() or "verdict" in p.stdout.lower() or "allow" in p.stdout.lower()
