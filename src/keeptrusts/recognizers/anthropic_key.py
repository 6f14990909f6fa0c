"""Anthropic API keys: sk-ant-api03-... / sk-ant-admin01-..., ending in AA."""
from .base import Recognizer
from .checks import format_placeholder_verdict


class AnthropicKeyRecognizer(Recognizer):
    ENTITY = "anthropic_api_key"
    PATTERNS = [("key", r"(?<![A-Za-z0-9])sk-ant-(?:api|admin|oat)\d\d-[A-Za-z0-9_-]{80,}", 0.95)]
    PREFILTER = [r"sk-ant-(?:api|admin|oat)\d\d-"]

    def validate(self, value, match, line):
        doc = format_placeholder_verdict(value)
        if doc is not None:
            return doc
        return True if value.endswith("AA") else None
