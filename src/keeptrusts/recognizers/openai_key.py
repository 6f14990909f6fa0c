"""OpenAI API keys: project/service/admin keys and legacy keys carrying the T3BlbkFJ marker."""
from .base import Recognizer
from .checks import format_placeholder_verdict


class OpenAIKeyRecognizer(Recognizer):
    ENTITY = "openai_api_key"
    PATTERNS = [
        ("scoped", r"(?<![A-Za-z0-9])sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}", 0.95),
        ("marker", r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}", 1.0),
        ("legacy", r"(?<![A-Za-z0-9])sk-[A-Za-z0-9]{48}\b", 0.85),
    ]
    PREFILTER = [r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40}", r"T3BlbkFJ", r"sk-[A-Za-z0-9]{48}"]

    def validate(self, value, match, line):
        return format_placeholder_verdict(value)
