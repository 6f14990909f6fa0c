"""Secrets wrapped in base64: a PEM private key (kubeconfig `client-key-data`, Helm values, CI variables)
and registry credentials (`"auth": base64(user:password)` in Docker's config.json)."""
import base64
import binascii

from .base import Recognizer


def _b64decode(value: str) -> bytes | None:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None


class EncodedSecretRecognizer(Recognizer):
    ENTITY = "encoded_secret"
    PATTERNS = [
        # "-----BEGIN" in base64 starts with LS0tLS1CRUdJTi at any of the three alignments a PEM can have
        ("b64_pem", r"(?<![A-Za-z0-9+/])LS0tLS1CRUdJT[A-Za-z0-9+/]{60,}={0,2}", 0.9),
        ("docker_auth", r"\"(?:auth|identitytoken)\"\s*:\s*\"(?P<v>[A-Za-z0-9+/]{8,}={0,2})\"", 0.8),
    ]
    PREFILTER = [r"LS0tLS1CRUdJT[A-Za-z0-9+/]{60}", r"\"(?:auth|identitytoken)\"\s*:\s*\"[A-Za-z0-9+/]{8}"]
    PREFILTER_FOR = [("b64_pem",), ("docker_auth",)]

    def validate(self, value, match, line):
        raw = _b64decode(value)
        if raw is None:
            return False
        if value.startswith("LS0tLS1CRUdJT"):
            head = raw[:80]
            return True if b"PRIVATE KEY" in head else False      # certificates are public
        text = raw.decode("utf-8", "replace")
        if '"identitytoken"' in match.group(0):
            return None if len(raw) >= 16 else False
        user, sep, password = text.partition(":")
        return True if sep and user and len(password) >= 3 and text.isprintable() else False
