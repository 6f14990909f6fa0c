"""Identity: gateway tokens, headers, proxy auth, key fingerprints, require_identity; budgets."""
from __future__ import annotations

import base64
import datetime as dt
import json
import time

import pytest
from click.testing import CliRunner

from keeptrusts.audit import AuditWriter
from keeptrusts.cli.main import cli
from keeptrusts.config import parse_config
from keeptrusts.identity import (BUDGETS_SCHEMA, IDENTITY_SCHEMA, Budgets, IdentityResolver, TokenStore,
                                 fingerprint, resolve_identity)
from keeptrusts.schema import validate

from audit_helpers import record

BASE = """
pack: {name: t, version: 0.1.0, enabled: true}
policies: {chain: [audit-logger]}
"""


def cfg(extra: str = ""):
    return parse_config(BASE + extra)


@pytest.fixture
def tokens(tmp_path):
    return TokenStore(tmp_path / "tokens.db")


def resolver(tokens, extra=""):
    return IdentityResolver(cfg(extra), tokens_path=tokens.path)


def bearer(key):
    return {"authorization": f"Bearer {key}"}


def test_token_identifies_the_developer_and_is_stored_hashed(tokens):
    tok = tokens.create("alice")
    assert tok.startswith("kt_gk_") and len(tok) == 46
    ident = resolver(tokens).resolve(bearer(tok))
    assert (ident.developer, ident.source, ident.is_gateway_token, ident.error) == ("alice", "token", True, None)
    assert ident.key_fingerprint == fingerprint(tok)
    assert tok not in tokens.path.read_bytes().decode("latin-1")


def test_unknown_and_revoked_tokens_are_refused(tokens):
    r = resolver(tokens)
    ident = r.resolve(bearer("kt_gk_" + "0" * 40))
    assert ident.error.startswith("401 unknown gateway token") and ident.developer is None
    tok = tokens.create("bob")
    assert r.resolve(bearer(tok)).error is None
    tokens.revoke("bob")
    time.sleep(IdentityResolver.RELOAD_CHECK_S + 0.05)      # revocation is picked up without a restart
    ident = r.resolve(bearer(tok))
    assert ident.error.startswith("401") and "revoked" in ident.error and ident.developer == "bob"


def test_expired_token_is_refused(tokens):
    tok = tokens.create("carol", dt.timedelta(seconds=-1))
    assert "expired" in resolver(tokens).resolve(bearer(tok)).error


def test_identity_headers_then_proxy_auth_then_fingerprint_mapping(tokens):
    key = "sk-test-abc"
    fp = fingerprint(key)
    r = resolver(tokens, f"identity:\n  key_fingerprints: {{{fp}: dave}}\n")
    assert r.resolve({**bearer(key), "x-user-id": "erin"}).developer == "erin"
    assert r.resolve({**bearer(key), "x-keeptrusts-agent-id": "agent-7"}).to_record() == {
        "developer": "agent-7", "developer_source": "header", "key_fingerprint": fp}
    basic = "Basic " + base64.b64encode(b"frank:secret").decode()
    assert r.resolve(bearer(key), proxy_auth=basic).developer == "frank"
    ident = r.resolve(bearer(key))
    assert (ident.developer, ident.source) == ("dave", "key_fingerprint")
    other = r.resolve(bearer("sk-other"))
    assert other.developer == fingerprint("sk-other") and other.error is None


def test_token_as_proxy_auth_password(tokens):
    tok = tokens.create("gina")
    basic = "Basic " + base64.b64encode(f"gina:{tok}".encode()).decode()
    ident = resolver(tokens).resolve({}, proxy_auth=basic)
    assert ident.developer == "gina" and ident.is_gateway_token and ident.error is None


def test_require_identity_rejects_unknown_callers(tokens):
    r = resolver(tokens, "identity:\n  require_identity: true\n  trust_headers: false\n")
    ident = r.resolve({**bearer("sk-anything"), "x-user-id": "spoofed"})
    assert ident.error.startswith("401 identity required")
    assert r.resolve(bearer(tokens.create("hank"))).developer == "hank"
    # gateway.require_identity works too
    r2 = IdentityResolver(cfg("gateway:\n  require_identity: true\n"), tokens_path=tokens.path)
    assert r2.resolve({}).error.startswith("401")


def test_resolve_identity_entry_point_uses_default_tokens_db(tmp_path, monkeypatch):
    monkeypatch.setenv("KEEPTRUSTS_TOKENS_DB", str(tmp_path / "t.db"))
    tok = TokenStore().create("ivy")
    assert resolve_identity(bearer(tok), cfg()).developer == "ivy"


def test_schemas_accept_documented_blocks():
    errors = []
    validate({"require_identity": True, "trust_headers": False, "headers": ["x-user-id"],
              "key_fingerprints": {"kf_0123456789ab": "alice"}}, IDENTITY_SCHEMA, "identity", errors)
    validate({"default": {"daily_usd": 5}, "developers": {"alice": {"monthly_usd": 100.5}}},
             BUDGETS_SCHEMA, "budgets", errors)
    assert errors == []
    validate({"default": {"daily": 5}}, BUDGETS_SCHEMA, "budgets", errors)
    assert errors and errors[0].path == "budgets.default.daily"


def test_tokens_cli(tmp_path):
    db = str(tmp_path / "tokens.db")
    runner = CliRunner()
    r = runner.invoke(cli, ["tokens", "create", "alice", "--db", db])
    assert r.exit_code == 0
    token = r.stdout.strip().splitlines()[0]
    assert token.startswith("kt_gk_")
    r = runner.invoke(cli, ["tokens", "create", "alice", "--db", db])
    assert r.exit_code == 1 and "revoke it first" in r.output
    listed = json.loads(runner.invoke(cli, ["tokens", "list", "--db", db, "--json"]).output)
    assert [(t["name"], t["status"]) for t in listed] == [("alice", "active")]
    assert token not in runner.invoke(cli, ["tokens", "list", "--db", db]).output
    assert runner.invoke(cli, ["tokens", "revoke", "alice", "--db", db]).exit_code == 0
    assert "No tokens" in runner.invoke(cli, ["tokens", "list", "--db", db]).output
    r = runner.invoke(cli, ["tokens", "revoke", "alice", "--db", db])
    assert r.exit_code == 1 and "no active token" in r.output


def test_budget_blocks_over_daily_limit_with_budget_and_spend(tmp_path):
    db = tmp_path / "audit.db"
    config = cfg("budgets:\n  default: {daily_usd: 0.005}\n  developers: {bob: {daily_usd: 1, monthly_usd: 0.008}}\n")
    budgets = Budgets(config, db)
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with AuditWriter(db) as w:
        budgets.attach(w)
        assert budgets.check_budget("alice") is None
        w.submit(record(1, developer="alice", timestamp=now)).result(5)      # $0.00275
        assert budgets.check_budget("alice") is None
        w.submit(record(2, developer="alice", timestamp=now)).result(5)      # $0.0055 > $0.005
        msg = budgets.check_budget("alice")
        assert msg == ("Budget exceeded for alice: daily budget $0.0050, spent $0.0055 today (UTC); "
                       "resets at 00:00 UTC")
        hit = budgets.check("alice")
        assert hit.period == "daily" and hit.spent_usd == pytest.approx(0.0055) and 0 < hit.retry_after_s <= 86401
        w.submit(record(3, developer="bob", timestamp=now)).result(5)
        w.submit(record(4, developer="bob", timestamp=now)).result(5)
        assert budgets.check_budget("bob") is None       # bob's own daily $1 replaces the default
        w.submit(record(5, developer="bob", timestamp=now)).result(5)
        hit = budgets.check("bob")
        assert hit.period == "monthly" and "monthly budget $0.0080, spent $0.0083 this month" in hit.message
    assert Budgets(cfg(), db).check_budget("alice") is None    # no budgets configured


def test_module_level_check_budget_for_the_addon(tmp_path):
    from keeptrusts import identity
    db = tmp_path / "audit.db"
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with AuditWriter(db) as w:
        identity.configure_budgets(cfg("budgets:\n  developers: {zoe: {daily_usd: 0.001}}\n"), db, w)
        assert identity.check_budget("zoe") is None
        w.submit(record(1, developer="zoe", timestamp=now)).result(5)
        assert identity.check_budget("zoe").startswith("Budget exceeded for zoe: daily budget $0.0010")
        assert identity.check_budget("someone-else") is None and identity.check_budget(None) is None
        hit = identity.budget_exceeded("zoe")
        assert hit.period == "daily" and 0 < hit.retry_after_s <= 86401
    identity.configure_budgets(cfg(), db)
    assert identity.check_budget("zoe") is None
