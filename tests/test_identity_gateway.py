"""Identity, key custody and budgets through the real gateway process (fake upstream, loopback)."""
from __future__ import annotations

import time

import openai
import pytest
from gateway_proc import wait_rows

from keeptrusts.identity import TokenStore, fingerprint

PROVIDER_KEY = "sk-provider-key-kept-by-the-gateway"

CONFIG = """
pack: {name: identity-test, version: 0.1.0, enabled: true}
policies: {chain: [pii-detector, audit-logger]}
policy:
  pii-detector: {action: redact}
  audit-logger: {}
providers:
  targets:
    - id: openai
      provider: openai
      secret_key_ref: {env: KT_TEST_PROVIDER_KEY}
identity:
  key_fingerprints: {%s: mapped-dev}
budgets:
  developers:
    spender: {daily_usd: 0.000001}
"""


@pytest.fixture
def gw(tmp_path, fake_openai, gateway_factory):
    cfg = tmp_path / "policy-config.yaml"
    cfg.write_text(CONFIG % fingerprint("sk-personal-key"))
    return gateway_factory(upstream=fake_openai.url, config=cfg, env={"KT_TEST_PROVIDER_KEY": PROVIDER_KEY})


def chat(gw, key, **headers):
    c = openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0, default_headers=headers or None)
    return c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


def test_gateway_token_is_swapped_for_the_provider_key_and_names_the_developer(gw, fake_openai):
    token = TokenStore(gw.home / "tokens.db").create("alice")
    fake_openai.script = ["hello"]
    assert chat(gw, token).choices[0].message.content == "hello"
    sent = fake_openai.requests[-1].headers["authorization"]
    assert sent == f"Bearer {PROVIDER_KEY}" and token not in fake_openai.all_text()
    row = wait_rows(gw.audit_db, 1)[-1]
    assert (row["developer"], row["developer_source"]) == ("alice", "token")
    assert row["key_fingerprint"] == fingerprint(token) and token not in str(row)
    assert row["cost_usd"] > 0


def test_revoked_and_unknown_tokens_get_401(gw, fake_openai):
    store = TokenStore(gw.home / "tokens.db")
    token = store.create("bob")
    fake_openai.script = ["one"]
    chat(gw, token)
    store.revoke("bob")
    time.sleep(0.7)
    with pytest.raises(openai.AuthenticationError) as exc:
        chat(gw, token)
    assert "revoked" in str(exc.value)
    with pytest.raises(openai.AuthenticationError):
        chat(gw, "kt_gk_" + "f" * 40)
    assert len(fake_openai.requests) == 1          # neither refused request reached the upstream


def test_headers_and_fingerprint_mapping_identify_without_tokens(gw, fake_openai):
    fake_openai.script = ["a", "b"]
    chat(gw, "sk-some-key", **{"X-User-ID": "carol"})
    chat(gw, "sk-personal-key")
    rows = wait_rows(gw.audit_db, 2)
    assert [(r["developer"], r["developer_source"]) for r in rows[-2:]] == [
        ("carol", "header"), ("mapped-dev", "key_fingerprint")]


def test_over_budget_developer_is_refused_with_budget_and_spend(gw, fake_openai):
    fake_openai.script = ["first", "second"]
    # Even the first request would cost more than the $0.000001 budget: refused before it leaves
    # (tests/test_budget_preflight.py covers the estimate).
    with pytest.raises(openai.RateLimitError) as exc:
        chat(gw, "sk-x", **{"X-User-ID": "spender"})
    assert "Budget exceeded for spender: this request could cost up to" in str(exc.value)
    assert "daily budget $0.0000" in str(exc.value)
    assert len(fake_openai.requests) == 0
