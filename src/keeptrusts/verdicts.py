"""Verdicts and findings, with the reference's names (allow, redact, flag, block, escalate)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ALLOW = "allow"
FLAG = "flag"          # a warning: the request passes, the finding is recorded
REDACT = "redact"
ESCALATE = "escalate"
BLOCK = "block"

# Severity order: the exchange's verdict is the most severe of its policies' verdicts.
SEVERITY = {ALLOW: 0, FLAG: 1, REDACT: 2, ESCALATE: 3, BLOCK: 4}
VERDICTS = tuple(SEVERITY)


def worst(verdicts: list[str]) -> str:
    return max(verdicts, key=SEVERITY.__getitem__, default=ALLOW)


@dataclass
class Finding:
    """One thing a policy found. Never holds the matched secret value itself."""

    type: str                        # e.g. "github_token", "EMAIL_ADDRESS", "rm_outside_workspace"
    action: str = FLAG               # what was done about it: redact / flag / block
    where: str = ""                  # segment path (`input[3].output`) or output item
    start: int | None = None
    end: int | None = None
    score: float | None = None
    placeholder: str | None = None   # for redactions
    rule: str | None = None          # the rule or recognizer that matched
    evidence: str | None = None      # safe-to-log evidence (a command, a phrase), never a secret

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Verdict:
    policy: str
    verdict: str = ALLOW
    reason_code: str = "all_policies_passed"
    message: str = ""                 # shown to the client on block
    phase: str = "input"              # "input", "output", "tool"
    findings: list[Finding] = field(default_factory=list)
    score: float | None = None
    duration_ms: float = 0.0
    error: str | None = None          # set when the policy raised (fail mode decided the verdict)

    @property
    def blocks(self) -> bool:
        return self.verdict == BLOCK

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["findings"] = [f.to_dict() for f in self.findings]
        return {k: v for k, v in d.items() if v not in (None, [], "")}
