"""The real Codex CLI through the real gateway, on every transport Codex uses.

One Codex session per mode (see scenario.py): it reads a file of planted secrets and PII, patches it
with context lines copied from what the model saw, runs an allowed command through the JavaScript
`exec` tool, then is told to run a denied one. Everything is asserted from what the fake upstream
received, the workspace on disk, what Codex printed, and the gateway's audit database.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

import audit
import scenario
from codex import Codex, CodexRun
from fake_openai import FakeOpenAI
from gateway import Gateway

pytestmark = pytest.mark.e2e

# mode -> how the fake upstream behaves and how Codex reaches the gateway
MODES = {
    "reverse-websocket": dict(websocket="accept", tls=False, explicit=False),
    "reverse-sse": dict(websocket="refuse", tls=False, explicit=False),  # 426: Codex falls back to SSE at once
    "explicit-proxy": dict(websocket="accept", tls=True, explicit=True),  # HTTPS_PROXY + our CA, api.openai.com
}


@dataclass
class Session:
    mode: str
    fake: FakeOpenAI
    run: CodexRun
    workspace: Path
    rows: list
    gateway_log: str

    def explain(self) -> str:
        return (f"[{self.mode}] codex exit {self.run.returncode}\n--- codex stdout\n{self.run.stdout[-4000:]}\n"
                f"--- codex stderr\n{self.run.stderr[-2000:]}\n--- gateway log\n{self.gateway_log[-3000:]}")


@pytest.fixture(scope="module", params=list(MODES))
def session(request, codex_binary, priced_policy, tmp_path_factory):
    mode, cfg = request.param, MODES[request.param]
    tmp = tmp_path_factory.mktemp(mode)
    workspace = scenario.make_workspace(tmp / "ws")
    with FakeOpenAI(script=scenario.model_script(), websocket=cfg["websocket"], tls=cfg["tls"]) as fake:
        with Gateway(tmp, fake.url, policy=priced_policy, upstream_ca=fake.ca_path) as gw:
            if cfg["explicit"]:
                # Default base URL (api.openai.com) through the proxy; Codex trusts SSL_CERT_FILE.
                codex = Codex(codex_binary, tmp / "home", workspace, None,
                              env={"HTTPS_PROXY": gw.proxy_url, "SSL_CERT_FILE": str(gw.ca_path)})
            else:
                codex = Codex(codex_binary, tmp / "home", workspace, gw.base_url)
            run = codex.run(scenario.PROMPT)
        # The gateway has stopped: its audit writer has flushed every row.
        yield Session(mode, fake, run, workspace, audit.events(gw.audit_db), gw.log_text())


def test_codex_used_the_transport_of_the_mode(session):
    fake, mode = session.fake, session.mode
    kinds = {r.transport for r in fake.model_requests()}
    assert kinds == ({"http"} if mode == "reverse-sse" else {"websocket"}), session.explain()
    upgrade = fake.received("websocket_upgrade")[0]
    assert upgrade.headers["openai-beta"].startswith("responses_websockets=")
    if mode == "explicit-proxy":
        assert session.fake.tls and upgrade.headers["host"] == f"127.0.0.1:{fake.port}"  # routed by the gateway


def test_no_planted_secret_or_pii_reached_upstream(session):
    fake = session.fake
    assert len(fake.model_requests()) >= 4, session.explain()
    assert fake.leaked(*scenario.planted()) == [], session.explain()
    seen = fake.all_text()
    # The file did go up, redacted: every planted value has a placeholder in its place.
    for key in ("AWS_ACCESS_KEY_ID=<SECRET:", "GITHUB_TOKEN=<SECRET:", "ADMIN_EMAIL=<PII:EMAIL_ADDRESS:"):
        assert key in seen, f"{key!r} not in what upstream received\n{session.explain()}"


def test_placeholders_restored_so_the_patch_applied_to_the_real_file(session):
    content = (session.workspace / scenario.SETTINGS_PATH).read_text()
    assert "DEBUG=true" in content and "DEBUG=false" not in content, session.explain()
    assert content == scenario.SETTINGS.replace("DEBUG=false", "DEBUG=true")  # originals kept, no placeholder
    [change] = session.run.items("file_change")
    assert change["status"] == "completed"


def test_allowed_command_ran(session):
    assert (session.workspace / "allowed.txt").read_text() == "allowed\n", session.explain()
    ran = [c for c in session.run.commands if scenario.ALLOWED_CMD in c["command"]]
    assert ran and ran[0]["exit_code"] == 0


def test_denied_command_was_blocked_shown_and_never_ran(session):
    assert not (session.workspace / "pwned.txt").exists(), session.explain()
    assert not [c for c in session.run.commands if "attacker.invalid" in c["command"]]
    shown = "\n".join(session.run.errors)
    assert "Blocked by keeptrusts agent-firewall" in shown, session.explain()
    assert session.run.returncode == 1  # codex exec fails the turn (response.failed, invalid_prompt)
    # Shown once: not retried (a retried block would send the same turn upstream again).
    assert sum("attacker.invalid" in r.text for r in session.fake.model_requests()) == 0


def test_every_turn_has_audit_rows_with_verdicts_and_cost(session):
    turns = audit.model_turns(session.rows)
    assert len(turns) == len(session.fake.model_requests()), session.explain()
    for row in turns:
        assert row["verdict"] in ("allow", "flag", "redact", "escalate", "block")
        assert row["policies"], row
        assert row["transport"] == ("sse" if session.mode == "reverse-sse" else "websocket")
        assert row["mode"] == ("explicit" if session.mode == "explicit-proxy" else "reverse")
    answered = [r for r in turns if r["verdict"] != "block"]
    assert all(r["input_tokens"] and r["cost_usd"] > 0 for r in answered), answered
    assert any(r["verdict"] == "redact" for r in turns)
    [blocked] = [r for r in turns if r["verdict"] == "block"]
    assert "agent-firewall" in {p["policy"] for p in blocked["policies"] if p["verdict"] == "block"}


def test_explicit_proxy_with_codex_ca_certificate_only(codex_binary, priced_policy, tmp_path):
    """CODEX_CA_CERTIFICATE alone (no SSL_CERT_FILE) is enough for Codex to trust the gateway."""
    with FakeOpenAI(script=lambda received: "hello via CODEX_CA_CERTIFICATE", tls=True) as fake:
        with Gateway(tmp_path, fake.url, policy=priced_policy, upstream_ca=fake.ca_path) as gw:
            codex = Codex(codex_binary, tmp_path / "home", tmp_path / "ws", None,
                          env={"HTTPS_PROXY": gw.proxy_url, "CODEX_CA_CERTIFICATE": str(gw.ca_path)})
            run = codex.run("say hello", sandbox="read-only")
        assert run.messages == ["hello via CODEX_CA_CERTIFICATE"], run.stdout + run.stderr
        assert {r.transport for r in fake.model_requests()} == {"websocket"}
    rows = audit.model_turns(audit.events(gw.audit_db))
    assert rows and {r["mode"] for r in rows} == {"explicit"}
