"""PEM private keys (RSA, EC, DSA, OpenSSH, PKCS#8, PGP), including \\n-escaped ones inside JSON strings."""
from .base import Recognizer


class PrivateKeyRecognizer(Recognizer):
    ENTITY = "private_key"
    WINDOW_AFTER = 16_384
    _NL = r"(?:\\r|\\n|\s)"
    PATTERNS = [("pem", r"-----BEGIN ((?:[A-Z]+ ){0,2})PRIVATE KEY(?P<blk> BLOCK|)-----" + _NL + r"+"
                        r"(?P<body>(?:[A-Za-z0-9+/=:,]|-(?!----)|\\r|\\n|\s){40,16000}?)"
                        r"-----END \1PRIVATE KEY(?P=blk)-----", 1.0)]
    PREFILTER = [r"-----BEGIN (?:[A-Z]+ ){0,2}PRIVATE KEY"]

    def validate(self, value, match, line):
        body = match.group("body")
        # Documentation shows "...": a real key body is long base64.
        return sum(c.isalnum() for c in body) >= 60 and "..." not in body
