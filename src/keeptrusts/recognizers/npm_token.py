"""npm access tokens: npm_ + 30 random characters + a base62 CRC32, like GitHub's."""
from .base import Recognizer
from .checks import github_style_checksum_ok, looks_placeholder


class NpmTokenRecognizer(Recognizer):
    ENTITY = "npm_token"
    PATTERNS = [("token", r"\bnpm_[A-Za-z0-9]{36}\b", 0.85)]
    PREFILTER = [r"npm_[A-Za-z0-9]{36}"]

    def validate(self, value, match, line):
        if looks_placeholder(value):
            return False
        return True if github_style_checksum_ok(value) else None
