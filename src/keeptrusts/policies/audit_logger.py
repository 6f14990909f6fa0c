"""audit-logger: marks the exchange for the audit trail (reference 2.8).

The recording itself is done by the gateway for every exchange (keeptrusts.audit); this policy
carries the options that shape it: `immutable`, `retention_days`, `log_all_access`,
`hipaa_audit_controls`. Placed last in the chain, it sees the final verdicts.
"""
from __future__ import annotations

from ..exchange import Exchange
from ..verdicts import Verdict
from .base import Policy


class AuditLogger(Policy):
    kind = "audit-logger"
    phases = ("input", "output")
    options_schema = {
        "immutable": bool,
        "retention_days": int,
        "log_all_access": bool,
        "hipaa_audit_controls": bool,
    }

    def request(self, exchange: Exchange) -> Verdict:
        exchange.meta["audit"] = {
            "immutable": self.options.get("immutable", True),
            "retention_days": self.options.get("retention_days", 365),
            "log_all_access": self.options.get("log_all_access", True),
        }
        return self.allow()
