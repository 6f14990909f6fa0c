"""What the schema cannot see: build the gateway's runtime from a config, and probe every policy.

Some options are only judged when the gateway builds its runtime (the upstream URL, the fail mode)
or when a policy is built or first runs (a regex in `detect_patterns`, a rule file, a recognizer
engine). The gateway refuses such a config at start or reload, so `kt doctor`, `kt policy test`
(and `kt policy lint`, if it calls `refusals`) report it before the gateway does.
"""
from __future__ import annotations

from .config import Config
from .exchange import USER, Completion, Exchange, OutputItem, Segment
from .policies import REGISTRY, PolicyContext
from .redaction import Redactor

_PROBE_TEXT = "probe: list the files in src/ and run the tests"


def refusals(config: Config) -> list[str]:
    """Everything the gateway would refuse in this config, one line each (empty: it would load)."""
    errors = policy_errors(config)   # first: these lines name the policy and the option
    try:
        from .runtime import Runtime
    except ImportError:
        return errors
    try:
        # Exactly what the gateway does at start and on reload (no upstream override: judge the file).
        Runtime.build(config, PolicyContext(redactor=Redactor(b"preflight-key-000000000000000000")),
                      upstream_override=config.upstream_url())
    except Exception as exc:
        msg = str(exc) or type(exc).__name__
        if not any(msg in e for e in errors):
            errors.append(msg)
    return errors


def policy_errors(config: Config) -> list[str]:
    """One line per policy that cannot be built or raises on a harmless probe: `policy.<kind>: <error>`."""
    errors: list[str] = []
    context = PolicyContext(redactor=Redactor(b"preflight-key-000000000000000000"))
    for kind in config.chain:
        try:
            policy = REGISTRY[kind](config.policy_options.get(kind, {}), context)
        except Exception as exc:   # any construction error is a refused config
            errors.append(_line(kind, exc))
            continue
        exchange = Exchange(api="responses", transport="http", path="/v1/responses", model="probe",
                            segments=[Segment(("input",), USER, _PROBE_TEXT, "user")], session_id="preflight")
        try:
            if "input" in policy.phases:
                policy.request(exchange)
            if "output" in policy.phases:
                item = OutputItem("message", "Done: 3 files, all tests pass.")
                exchange.completion = Completion([item], "stop", status="completed")
                policy.output_item(exchange, item)
                policy.response(exchange)
        except Exception as exc:
            errors.append(_line(kind, exc))
    return errors


def _line(kind: str, exc: Exception) -> str:
    msg = str(exc) or type(exc).__name__
    return msg if msg.startswith(f"policy.{kind}") else f"policy.{kind}: {msg}"
