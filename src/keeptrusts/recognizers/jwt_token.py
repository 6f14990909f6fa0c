"""JSON Web Tokens: three base64url parts whose header decodes to JSON naming an algorithm."""
from .base import Recognizer
from .checks import b64url_json


class JwtRecognizer(Recognizer):
    ENTITY = "jwt"
    PATTERNS = [("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}", 0.6)]
    PREFILTER = [r"eyJ[A-Za-z0-9_-]{8,}\.eyJ"]

    def validate(self, value, match, line):
        header = b64url_json(value.split(".", 1)[0])
        if not header or "alg" not in header:
            return False
        return b64url_json(value.split(".")[1]) is not None
