"""Values of a Kubernetes Secret manifest: every key under `stringData:`, and base64 values under `data:`
whatever the key is called (`db-conn`, `tls.key`, `config.json`), not only secret-named ones."""
import base64
import binascii
import re

from presidio_analyzer import RecognizerResult

from .base import Recognizer
from .checks import filler, looks_placeholder

_ENTRY = re.compile(r"(?P<ind>[ \t]+)(?P<key>[\w.-]+):[ \t]*(?P<q>[\"']?)(?P<v>[^\s\"'#|>][^\s\"'#]*)(?P=q)[ \t]*$")


class KubernetesSecretRecognizer(Recognizer):
    ENTITY = "kubernetes_secret"
    # The hit ends on the newline after `data:` / `stringData:`, so the window opens at the first entry.
    PATTERNS = [("data", r"$^", 0.9), ("stringData", r"$^", 0.9)]
    PREFILTER = [r"\n[ \t]*data:[ \t]*\r?\n[ \t]+[\w.-]+:", r"\n[ \t]*stringData:[ \t]*\r?\n[ \t]+[\w.-]+:"]
    PREFILTER_FOR = [("data",), ("stringData",)]
    WINDOW_AFTER = 8192

    def find(self, window, offset=0, only=None):
        out = []
        kinds = only or frozenset({"data"})
        indent = None
        pos = 0
        for line in window.splitlines(keepends=True):
            start, pos = pos, pos + len(line)
            body = line.rstrip("\r\n")
            m = _ENTRY.match(body)
            if m is None:
                if body.strip() and (indent is None or not body.startswith(indent + " ")):
                    if indent is not None:
                        break          # the block ended
                continue
            if indent is None:
                indent = m.group("ind")
            elif m.group("ind") != indent:
                if len(m.group("ind")) < len(indent):
                    break
                continue
            v = m.group("v")
            if "stringData" in kinds:
                ok = len(v) >= 3 and not filler(v) and not looks_placeholder(v)
            else:
                ok = _is_b64_text(v)
            if ok:
                out.append(RecognizerResult(self.ENTITY, offset + start + m.start("v"), offset + start + m.end("v"), 0.9,
                                            recognition_metadata={"recognizer_name": self.name, "pattern": "entry",
                                                                  "category": self.CATEGORY, "doc": False}))
        return out


def _is_b64_text(v: str) -> bool:
    """base64 of something (at least 4 bytes), as Secret `data:` holds; plain config words are not."""
    if len(v) < 8 or len(v) % 4 or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", v):
        return False
    try:
        raw = base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= 4 and not v.isalpha()
