"""Azure storage account keys (AccountKey=...==, 88 base64) and Entra ID client secrets (xxx8Q~...)."""
from .base import Recognizer
from .checks import format_placeholder_verdict


class AzureKeyRecognizer(Recognizer):
    ENTITY = "azure_key"
    PATTERNS = [
        ("storage_key", r"(?i)(?:AccountKey|SharedAccessKey|azure[\w.-]{0,20}key[\w.\"']{0,5}\s*[=:]\s*[\"']?)\s*=?\s*"
                        r"(?P<v>[A-Za-z0-9+/]{86}==)", 1.0),
        ("client_secret", r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])", 0.9),
    ]
    PREFILTER = [r"[A-Za-z0-9+/]{86}==", r"\dQ~[A-Za-z0-9_~.-]{31}"]

    def validate(self, value, match, line):
        return format_placeholder_verdict(value)
