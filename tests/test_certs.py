"""`kt certs`: a CA per installation, private key 0600, and the variables a client needs."""
from __future__ import annotations

import json
import stat

from click.testing import CliRunner

from keeptrusts.cli.main import cli


def certs(tmp_path, monkeypatch, name: str) -> dict:
    monkeypatch.setenv("KEEPTRUSTS_CERTS", str(tmp_path / name))
    r = CliRunner().invoke(cli, ["certs", "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_ca_created_private_and_unique(tmp_path, monkeypatch):
    a = certs(tmp_path, monkeypatch, "a")
    b = certs(tmp_path, monkeypatch, "b")
    ca_a = open(a["ca_cert"]).read()
    assert ca_a != open(b["ca_cert"]).read()  # generated per installation, never shipped
    for key in (tmp_path / "a").glob("mitmproxy-ca.*"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert certs(tmp_path, monkeypatch, "a")["ca_cert"] == a["ca_cert"] and open(a["ca_cert"]).read() == ca_a


def test_env_trusts_our_ca_without_dropping_system_roots(tmp_path, monkeypatch):
    out = certs(tmp_path, monkeypatch, "c")
    env = out["env"]
    ca = open(out["ca_cert"]).read()
    bundle = open(env["SSL_CERT_FILE"]).read()
    assert ca in bundle and bundle.count("BEGIN CERTIFICATE") > 10
    assert env["CODEX_CA_CERTIFICATE"] == out["ca_cert"] == env["NODE_EXTRA_CA_CERTS"]
    assert env["REQUESTS_CA_BUNDLE"] == env["SSL_CERT_FILE"]
