"""The chain: order, short-circuit on block, and fail-closed on policy errors."""
from __future__ import annotations

from keeptrusts.chain import Chain
from keeptrusts.config import parse_config
from keeptrusts.exchange import Exchange, Segment
from keeptrusts.policies import REGISTRY
from keeptrusts.policies.audit_logger import AuditLogger

CFG = """pack: {name: t, version: 1.0.0, enabled: %s}
policies: {chain: [audit-logger]}
"""


class Boom(AuditLogger):
    def request(self, exchange):
        raise RuntimeError("recognizer crashed")


def chain(fail_mode: str, enabled: str = "true") -> Chain:
    c = Chain(parse_config(CFG % enabled), fail_mode=fail_mode)
    c.policies = [Boom()]
    return c


def ex() -> Exchange:
    return Exchange("chat", "http", segments=[Segment(("messages", 0, "content"), "user", "hello")])


def test_policy_error_blocks_under_fail_mode_block():
    res = chain("block").request(ex())
    assert res.verdict == "block" and res.blocked.reason_code == "policy_error"
    assert "could not run" in res.blocked.message and "fail-mode is block" in res.blocked.message
    assert res.blocked.error.startswith("RuntimeError")


def test_policy_error_is_flagged_not_silent_under_allow():
    res = chain("allow").request(ex())
    assert res.verdict == "flag" and res.verdicts[0].reason_code == "policy_error_fail_open"


def test_disabled_pack_runs_nothing():
    assert chain("block", "false").request(ex()).verdicts == []


def test_block_short_circuits_later_policies():
    seen = []

    class Blocker(AuditLogger):
        def request(self, exchange):
            return self.verdict("block", "nope", "Blocked by keeptrusts test: nope")

    class Later(AuditLogger):
        def request(self, exchange):
            seen.append(1)
            return self.allow()

    c = Chain(parse_config(CFG % "true"))
    c.policies = [Blocker(), Later()]
    res = c.request(ex())
    assert res.verdict == "block" and seen == [] and len(res.verdicts) == 1


def test_every_reference_kind_is_registered():
    for kind in ("pii-detector", "code-sanitation", "code-sanitizer", "prompt-injection", "safety-filter",
                 "quality-scorer", "audit-logger", "agent-firewall"):
        assert kind in REGISTRY
