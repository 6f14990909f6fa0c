"""code-sanitation (alias code-sanitizer): secrets in code context (reference 2.4), in every request
segment and in the model's output.

Reference options: `enabled`, `block_on_match` (block instead of redacting), `additional_patterns`
(extra regexes; a named group `v` narrows what is redacted). Ours: see `redacting.common_schema`.
"""
from __future__ import annotations

from ..recognizers import SECRET_TYPES
from ..schema import Choice, ListOf
from .redacting import RedactingPolicy, Regex, common_schema


class CodeSanitation(RedactingPolicy):
    kind = "code-sanitation"
    aliases = ("code-sanitizer",)
    phases = ("input", "output")
    reason_code = "secret_detected"
    category = "SECRET"
    recognizer_builder = "secret_recognizers"
    custom_type = "custom_pattern"
    options_schema = {
        "enabled": bool,
        "block_on_match": bool,
        "action": Choice("redact", "block", "warn"),   # ours; block_on_match: true wins
        "additional_patterns": ListOf(Regex),
        **common_schema(SECRET_TYPES + ("custom_pattern",)),
    }

    def custom_patterns(self) -> list[str]:
        return list(self.options.get("additional_patterns") or [])

    def default_action(self) -> str:
        return "block" if self.options.get("block_on_match") else self.options.get("action", "redact")
