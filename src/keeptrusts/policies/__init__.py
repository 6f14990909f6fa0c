"""The policy kinds the gateway knows, keyed by the name used in `policies.chain`."""
from __future__ import annotations

from .agent_firewall import AgentFirewall
from .audit_logger import AuditLogger
from .base import Policy, PolicyContext, SegmentPolicy
from .code_sanitation import CodeSanitation
from .pii_detector import PiiDetector
from .prompt_injection import PromptInjection
from .quality_scorer import QualityScorer
from .safety_filter import SafetyFilter

POLICY_CLASSES: tuple[type[Policy], ...] = (
    PiiDetector, CodeSanitation, PromptInjection, SafetyFilter, QualityScorer, AuditLogger, AgentFirewall,
)

REGISTRY: dict[str, type[Policy]] = {}
for _cls in POLICY_CLASSES:
    REGISTRY[_cls.kind] = _cls
    for _alias in _cls.aliases:
        REGISTRY[_alias] = _cls


def canonical_kind(kind: str) -> str:
    return REGISTRY[kind].kind


__all__ = ["REGISTRY", "POLICY_CLASSES", "Policy", "PolicyContext", "SegmentPolicy", "canonical_kind"]
