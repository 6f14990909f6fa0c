"""kt doctor: every check says OK when things are right and FAIL (with the fix) when they are not."""
from __future__ import annotations

import base64
import json
import os
import socket
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from keeptrusts.cli.main import cli
from keeptrusts.diagnostics import (FAIL, OK, SKIP, WARN, Context, check_audit, check_ca, check_codex, check_config,
                                    check_listen, check_provider_key, check_proxy_env, check_upstream, mask_url)


def pem(blob: bytes) -> str:
    return "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(blob).decode() + "-----END CERTIFICATE-----\n"


CA_PEM, OTHER_PEM = pem(b"gateway-ca" * 30), pem(b"system-root" * 30)


class Server:
    """A loopback HTTP server answering GET with routes[path] = (status, body), any other path with
    (status, body)."""

    def __init__(self, status: int = 404, body: dict | str = "", routes: dict | None = None):
        def encode(b) -> bytes:
            return (json.dumps(b) if isinstance(b, dict) else b).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                code, payload = (routes or {}).get(self.path, (status, body))
                payload = encode(payload)
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    made = []

    def make(status=200, body=None):
        s = Server(status, body if body is not None else {})
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(config="doc-pack@1.0.0", status="healthy", **over):
    return {"status": status, "uptime_seconds": 12.0, "version": "0.1.0", "config": config, "config_error": None,
            "policies_loaded": 2, "requests_processed": 5, "audit": {"healthy": True, "last_error": None}, **over}


def write_config(tmp_path, upstream="https://api.openai.com", gateway="", *, name="policy-config.yaml",
                 pack="doc-pack@1.0.0", key_env="DOCTOR_TEST_KEY"):
    p = tmp_path / name
    pack_name, version = pack.split("@")
    p.write_text(f"""pack: {{name: {pack_name}, version: {version}, enabled: true}}
policies: {{chain: [audit-logger]}}
providers:
  targets:
    - id: openai
      provider: openai
      base_url: {upstream}
      secret_key_ref: {{env: {key_env}}}
{gateway}""")
    return p


@pytest.fixture
def world(tmp_path, servers):
    """A machine where everything is right: returns (args, env) for `kt doctor`."""
    upstream = servers(401, {"error": "no key"})
    gw_port = free_port()
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "mitmproxy-ca-cert.pem").write_text(CA_PEM)
    (certs / "mitmproxy-ca.pem").write_text("KEY")
    os.chmod(certs / "mitmproxy-ca.pem", 0o600)
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(OTHER_PEM + CA_PEM)
    codex = tmp_path / "codex-home"
    codex.mkdir()
    (codex / "config.toml").write_text(f'model = "gpt-5-codex"\nopenai_base_url = "http://127.0.0.1:{gw_port}/v1"\n')
    cfg = write_config(tmp_path, f"http://127.0.0.1:{upstream.port}")
    env = {"DOCTOR_TEST_KEY": "sk-test-123", "KEEPTRUSTS_CERTS": str(certs), "SSL_CERT_FILE": str(bundle),
           "CODEX_HOME": str(codex), "HOME": str(tmp_path), "KEEPTRUSTS_AUDIT_DB": str(tmp_path / "state" / "audit.db"),
           "PATH": str(tmp_path / "bin")}
    args = ["doctor", "--policy-config", str(cfg), "--listen", f"127.0.0.1:{gw_port}",
            "--proxy-listen", f"127.0.0.1:{free_port()}", "--timeout", "2"]
    return args, env, gw_port


def run_doctor(args, env, extra=()):
    clear = {k: None for k in os.environ if k.upper().endswith("_PROXY") or k in (
        "SSL_CERT_FILE", "CODEX_CA_CERTIFICATE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "KEEPTRUSTS_UPSTREAM_URL")}
    return CliRunner().invoke(cli, [*args, *extra], env={**clear, **env})


def test_all_green_prints_the_reference_header_and_exits_zero(world):
    args, env, _ = world
    r = run_doctor(args, env)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "Keeptrusts Gateway Diagnostics" and set(lines[1]) == {"─"}
    assert "✓ Configuration file valid" in r.output
    assert "✓ Provider: openai reachable" in r.output and "latency:" in r.output
    assert "✓ Provider key DOCTOR_TEST_KEY set" in r.output and "sk-test-123" not in r.output
    assert "✓ Clients trust the gateway CA through SSL_CERT_FILE" in r.output
    assert "✓ Codex points at the gateway" in r.output
    assert "✓ No proxy variables" in r.output
    assert "✗" not in r.output


def test_json_output_lists_every_check(world):
    args, env, _ = world
    doc = json.loads(run_doctor(args, env, ["--json"]).output)
    assert doc["ok"] is True
    names = [c["name"] for c in doc["checks"]]
    for n in ("config", "listen", "proxy_port", "upstream", "provider_key", "ca", "ca_trust", "audit", "codex", "proxy_env"):
        assert n in names


def test_any_failure_exits_one_and_prints_the_fix(world, tmp_path):
    args, env, _ = world
    (tmp_path / "codex-home" / "config.toml").write_text('openai_base_url = "https://api.openai.com/v1"\n')
    r = run_doctor(args, env)
    assert r.exit_code == 1
    assert "✗ Codex openai_base_url is https://api.openai.com/v1, not the gateway" in r.output
    assert "fix: kt codex setup --base-url http://127.0.0.1:" in r.output


def test_invalid_config_fails_and_points_at_lint(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("pack: {name: x, version: 1.0.0, enabled: true}\npolicies: {chain: [pii-detectr]}\n")
    c = check_config(Context(str(cfg)))
    assert c.status == FAIL and "Unknown policy kind 'pii-detectr'" in c.message and "kt policy lint" in c.fix
    missing = check_config(Context(str(tmp_path / "nope.yaml")))
    assert missing.status == FAIL and "not found" in missing.message and "kt init" in missing.fix


def ctx_for(tmp_path, port, **kw):
    ctx = Context(str(write_config(tmp_path)), listen=f"127.0.0.1:{port}", timeout=2, **kw)
    check_config(ctx)
    return ctx


def test_listen_port_free_or_gateway_answering_or_taken(tmp_path, servers):
    assert check_listen(ctx_for(tmp_path, free_port())).status == OK
    gw = servers(200, healthy())
    c = check_listen(ctx_for(tmp_path, gw.port))
    assert c.status == OK and "Gateway answering" in c.message and "5 requests" in c.message
    other = servers(404, "<html>not found</html>")
    c = check_listen(ctx_for(tmp_path, other.port))
    assert c.status == FAIL and "in use by another program" in c.message and "--listen" in c.fix
    sick = servers(503, healthy(status="degraded", audit={"healthy": False, "last_error": "database is locked"}))
    c = check_listen(ctx_for(tmp_path, sick.port))
    assert c.status == FAIL and "degraded: database is locked" in c.message
    elsewhere = servers(200, healthy(config="strict@2.0.0"))
    assert check_listen(ctx_for(tmp_path, elsewhere.port)).status == WARN


def test_upstream_unreachable_fails_unless_offline(tmp_path):
    dead = free_port()
    ctx = Context(str(write_config(tmp_path, f"http://127.0.0.1:{dead}/v1")), timeout=2)
    check_config(ctx)
    c = check_upstream(ctx)
    assert c.status == FAIL and f"127.0.0.1:{dead}" in c.message and "--offline" in c.fix
    ctx.offline = True
    assert check_upstream(ctx).status == SKIP


def test_provider_key_unset_warns_and_fails_when_identity_is_required(tmp_path):
    ctx = Context(str(write_config(tmp_path)), env={})
    check_config(ctx)
    c = check_provider_key(ctx)
    assert c.status == WARN and "DOCTOR_TEST_KEY is not set" in c.message and "export DOCTOR_TEST_KEY" in c.fix
    ctx = Context(str(write_config(tmp_path, gateway="gateway: {require_identity: true}\n")), env={})
    check_config(ctx)
    assert check_provider_key(ctx).status == FAIL


def ca_ctx(tmp_path, env):
    certs = tmp_path / "certs"
    certs.mkdir(exist_ok=True)
    ctx = Context(str(write_config(tmp_path)), env={"KEEPTRUSTS_CERTS": str(certs), **env})
    check_config(ctx)
    return ctx, certs


def statuses(checks):
    return [(c.status, c.message) for c in checks]


def test_ca_missing_is_a_warning_in_reverse_mode_and_a_failure_in_explicit_mode(tmp_path):
    ctx, _ = ca_ctx(tmp_path, {})
    assert [c.status for c in check_ca(ctx)] == [WARN]
    ctx, _ = ca_ctx(tmp_path, {"HTTPS_PROXY": "http://127.0.0.1:41003"})
    (c,) = check_ca(ctx)
    assert c.status == FAIL and "kt certs" in c.fix


def test_explicit_mode_without_codex_trust_fails(tmp_path):
    ctx, certs = ca_ctx(tmp_path, {"HTTPS_PROXY": "http://127.0.0.1:41003", "NODE_EXTRA_CA_CERTS": str(tmp_path / "ca.pem")})
    (certs / "mitmproxy-ca-cert.pem").write_text(CA_PEM)
    (tmp_path / "ca.pem").write_text(CA_PEM)
    out = check_ca(ctx)
    assert any(c.status == FAIL and "Codex would hang" in c.message for c in out)
    assert any(c.status == OK and "NODE_EXTRA_CA_CERTS" in c.message for c in out)


def test_trust_file_problems(tmp_path):
    only_ours = tmp_path / "only.pem"
    only_ours.write_text(CA_PEM)
    ctx, certs = ca_ctx(tmp_path, {"SSL_CERT_FILE": str(only_ours), "REQUESTS_CA_BUNDLE": str(tmp_path / "gone.pem")})
    (certs / "mitmproxy-ca-cert.pem").write_text(CA_PEM)
    out = check_ca(ctx)
    assert any(c.status == WARN and "holds only the gateway CA" in c.message for c in out)
    assert any(c.status == FAIL and "REQUESTS_CA_BUNDLE" in c.message and "does not exist" in c.message for c in out)


def test_world_readable_ca_key_fails(tmp_path):
    ctx, certs = ca_ctx(tmp_path, {})
    (certs / "mitmproxy-ca-cert.pem").write_text(CA_PEM)
    (certs / "mitmproxy-ca.pem").write_text("KEY")
    os.chmod(certs / "mitmproxy-ca.pem", 0o644)
    c = check_ca(ctx)[0]
    assert c.status == FAIL and "readable by other users" in c.message and c.fix.startswith("chmod 600")


def test_audit_database_verifies_and_tampering_fails(tmp_path):
    audit = pytest.importorskip("keeptrusts.audit")
    from keeptrusts.audit import store

    from audit_helpers import record

    db = tmp_path / "audit.db"
    assert check_audit(Context("x", audit_db=str(db), env={})).status == OK   # will be created
    w = audit.AuditWriter(db).start()
    try:
        for i in range(3):
            w.submit(record(i)).result(5)
    finally:
        w.close()
    c = check_audit(Context("x", audit_db=str(db), env={}))
    assert c.status == OK and "3 rows" in c.message
    conn = sqlite3.connect(db, isolation_level=None)
    store.drop_triggers(conn)
    conn.execute("UPDATE events SET verdict = 'allow' WHERE seq = 2")
    conn.close()
    c = check_audit(Context("x", audit_db=str(db), env={}))
    assert c.status == FAIL and "seq 2" in c.message and "kt audit verify" in c.fix
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    assert check_audit(Context("x", audit_db=str(junk), env={})).status == FAIL


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_audit_folder_fails(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    c = check_audit(Context("x", audit_db=str(locked / "audit.db"), env={}))
    assert c.status == FAIL


def codex_ctx(tmp_path, toml=None, env=None, codex_on_path=False):
    home = tmp_path / "ch"
    home.mkdir(exist_ok=True)
    if toml is not None:
        (home / "config.toml").write_text(toml)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if codex_on_path:
        (bin_dir / "codex").write_text("#!/bin/sh\n")
        os.chmod(bin_dir / "codex", 0o755)
    return Context("x", listen="0.0.0.0:41002", env={"CODEX_HOME": str(home), "PATH": str(bin_dir), **(env or {})})


@pytest.mark.parametrize("toml, on_path, env, status, text", [
    ('openai_base_url = "http://localhost:41002/v1"\n', False, {}, OK, "points at the gateway"),
    ('openai_base_url = "http://127.0.0.1:9999/v1"\n', False, {}, FAIL, "not the gateway"),
    ('model = "o3"\n', False, {}, FAIL, "has no openai_base_url"),
    ('model = "o3"\n', False, {"HTTPS_PROXY": "http://127.0.0.1:41003"}, OK, "through HTTPS_PROXY"),
    ('model_provider = "kt"\n[model_providers.kt]\nbase_url = "http://127.0.0.1:41002/v1"\n', False, {}, OK,
     "model_providers.kt.base_url"),
    ("openai_base_url = [broken\n", False, {}, FAIL, "not valid TOML"),
    (None, True, {}, FAIL, "not found"),
    (None, False, {}, SKIP, "not found on PATH"),
])
def test_codex_config(tmp_path, toml, on_path, env, status, text):
    c = check_codex(codex_ctx(tmp_path, toml, env, on_path))
    assert c.status == status and text in c.message, c


@pytest.mark.parametrize("env, status, text", [
    ({}, OK, "No proxy variables"),
    ({"HTTP_PROXY": "http://corp:pa55@proxy.corp:8080"}, FAIL, "to another proxy"),
    ({"http_proxy": "http://proxy.corp:8080", "no_proxy": "localhost,127.0.0.1"}, OK, "No proxy variables"),
    ({"HTTPS_PROXY": "http://127.0.0.1:41003"}, OK, "explicit proxy"),
    ({"HTTPS_PROXY": "http://127.0.0.1:41003", "NO_PROXY": ".openai.com"}, FAIL, "covers api.openai.com"),
    ({"HTTPS_PROXY": "http://127.0.0.1:41003", "NO_PROXY": "*"}, FAIL, "covers api.openai.com"),
    ({"HTTPS_PROXY": "http://proxy.corp:3128"}, WARN, "another proxy"),
])
def test_proxy_variables(env, status, text):
    out = check_proxy_env(Context("x", env=env))
    worst = next((c for c in out if c.status == FAIL), None) or next((c for c in out if c.status == WARN), None) or out[0]
    assert worst.status == status and text in worst.message, out
    assert "pa55" not in json.dumps([c.to_dict() for c in out])


def test_mask_url_hides_credentials():
    assert mask_url("http://user:secret@proxy:8080") == "http://***@proxy:8080"


def test_config_the_policies_refuse_fails_even_though_the_schema_accepts_it(tmp_path):
    cfg = tmp_path / "re.yaml"
    cfg.write_text("pack: {name: x, version: 1.0.0, enabled: true}\npolicies: {chain: [pii-detector]}\n"
                   "policy:\n  pii-detector: {detect_patterns: ['(unclosed']}\n")
    c = check_config(Context(str(cfg)))
    assert c.status == FAIL and "would refuse" in c.message and "policy.pii-detector.detect_patterns" in c.message


def test_identity_required_without_tokens_warns_and_with_tokens_is_ok(tmp_path):
    from keeptrusts.diagnostics import check_identity
    from keeptrusts.identity import TokenStore

    db = tmp_path / "tokens.db"
    ctx = Context(str(write_config(tmp_path, gateway="gateway: {require_identity: true}\n")),
                  env={"KEEPTRUSTS_TOKENS_DB": str(db)})
    check_config(ctx)
    c = check_identity(ctx)
    assert c.status == WARN and "no gateway token" in c.message and "kt tokens create" in c.fix
    TokenStore(db).create("alice")
    c = check_identity(ctx)
    assert c.status == OK and "1 active gateway token(s) (alice)" in c.message
    open_ctx = Context(str(write_config(tmp_path)), env={"KEEPTRUSTS_TOKENS_DB": str(db)})
    check_config(open_ctx)
    assert check_identity(open_ctx).status == OK


def test_an_upstream_url_the_gateway_cannot_use_fails_the_config_check(tmp_path):
    c = check_config(Context(str(write_config(tmp_path, "ftp://files.example.com"))))
    assert c.status == FAIL and "invalid upstream URL 'ftp://files.example.com'" in c.message
