"""quality-scorer: scores each completion (reference 2.7). Filled in by issue 5."""
from __future__ import annotations

from ..schema import Any, Choice, ListOf, MapOf, Number
from .base import Policy


class QualityScorer(Policy):
    kind = "quality-scorer"
    phases = ("output",)
    single_document = True
    options_schema = {
        "industry": str,
        "min_output_chars": int,
        "min_sentences": int,
        "mock_scoring": bool,
        "min_score": Number,
        "providers": ListOf(Any),
        "benchmarks": MapOf(bool),
        "assertions": ListOf(Any),
        "thresholds": MapOf(Number),
        "weights": MapOf(Number),
        "pass_policy": {"strategy": str, "threshold": Number},
        "failure_action": {"action": Choice("block", "warn", "flag", "escalate")},
    }
