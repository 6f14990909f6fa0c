"""Runs the configured policies in order and combines their verdicts.

A block short-circuits the chain (reference 2.2). A policy that raises is a policy error: under
fail-mode `block` (the default) the exchange is blocked with a message saying so; under `allow`
it passes, flagged as degraded, and the audit records the error. Nothing leaves unscanned
silently.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from .config import Config
from .exchange import Exchange, OutputItem
from .policies import REGISTRY, Policy, PolicyContext
from .verdicts import ALLOW, BLOCK, FLAG, Verdict, worst

log = logging.getLogger("keeptrusts.chain")


@dataclass
class ChainResult:
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return worst([v.verdict for v in self.verdicts])

    @property
    def blocked(self) -> Verdict | None:
        return next((v for v in self.verdicts if v.verdict == BLOCK), None)

    @property
    def reason_code(self) -> str:
        top = self.verdict
        if top == ALLOW:
            return "all_policies_passed"
        return next(v.reason_code for v in self.verdicts if v.verdict == top)

    def extend(self, other: "ChainResult") -> None:
        self.verdicts.extend(other.verdicts)


class Chain:
    def __init__(self, config: Config, context: PolicyContext | None = None, fail_mode: str = "block"):
        self.config = config
        self.fail_mode = fail_mode
        self.context = context or PolicyContext()
        self.policies: list[Policy] = [REGISTRY[k](config.policy_options.get(k, {}), self.context) for k in config.chain]
        self.enabled = config.enabled

    def _run(self, hook: str, phase: str, *args) -> ChainResult:
        result = ChainResult()
        if not self.enabled:
            return result
        for policy in self.policies:
            started = time.perf_counter()
            try:
                v = getattr(policy, hook)(*args)
            except Exception as exc:  # fail closed: a policy that cannot run decides nothing by itself
                log.exception("policy %s failed in %s", policy.kind, hook)
                err = f"{type(exc).__name__}: {exc}"[:300]
                if self.fail_mode == "block":
                    v = Verdict(policy.kind, BLOCK, "policy_error",
                                f"Blocked by keeptrusts {policy.kind}: the policy could not run ({type(exc).__name__}); "
                                "fail-mode is block, so the request was not sent", phase, error=err)
                else:
                    v = Verdict(policy.kind, FLAG, "policy_error_fail_open",
                                f"{policy.kind} could not run; passed unscanned under fail-mode allow", phase, error=err)
            v.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            result.verdicts.append(v)
            if v.verdict == BLOCK:
                break
        return result

    def request(self, exchange: Exchange) -> ChainResult:
        return self._run("request", "input", exchange)

    def output_item(self, exchange: Exchange, item: OutputItem) -> ChainResult:
        return self._run("output_item", "output", exchange, item)

    def response(self, exchange: Exchange) -> ChainResult:
        return self._run("response", "output", exchange)
