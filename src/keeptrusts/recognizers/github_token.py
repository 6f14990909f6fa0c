"""GitHub tokens: classic (ghp_/gho_/ghu_/ghs_/ghr_ with a CRC32 checksum) and fine-grained (github_pat_)."""
from .base import Recognizer
from .checks import format_placeholder_verdict, github_style_checksum_ok


class GithubTokenRecognizer(Recognizer):
    ENTITY = "github_token"
    PATTERNS = [
        ("classic", r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36}\b", 0.85),
        ("fine_grained", r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b", 0.95),
    ]
    PREFILTER = [r"gh[pousr]_[A-Za-z0-9]{36}", r"github_pat_[A-Za-z0-9]{22}_"]

    def validate(self, value, match, line):
        doc = format_placeholder_verdict(value)
        if doc is not None:
            return doc
        if value.startswith("github_pat_"):
            return True
        # The CRC32 makes a classic token certain; without it, keep the pattern's score (still redacted).
        return True if github_style_checksum_ok(value) else None
