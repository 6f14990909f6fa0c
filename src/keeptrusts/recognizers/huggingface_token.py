"""Hugging Face access tokens: hf_ + 34 letters."""
from .base import Recognizer
from .checks import format_placeholder_verdict


class HuggingfaceTokenRecognizer(Recognizer):
    ENTITY = "huggingface_token"
    PATTERNS = [("token", r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{34,40}\b", 0.9)]
    PREFILTER = [r"hf_[A-Za-z0-9]{34}"]

    def validate(self, value, match, line):
        if value[3:].islower():
            return False
        return format_placeholder_verdict(value)
