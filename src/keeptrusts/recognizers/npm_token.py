"""npm access tokens: npm_ + 30 random characters + a base62 CRC32, like GitHub's."""
from .base import Recognizer
from .checks import format_placeholder_verdict, github_style_checksum_ok


class NpmTokenRecognizer(Recognizer):
    ENTITY = "npm_token"
    PATTERNS = [("token", r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}\b", 0.85)]
    PREFILTER = [r"npm_[A-Za-z0-9]{36}"]

    def validate(self, value, match, line):
        doc = format_placeholder_verdict(value)
        if doc is not None:
            return doc
        return True if github_style_checksum_ok(value) else None
