"""Credentials in URL query strings: ?api_key=..., &access_token=..., Azure SAS `sig=`."""
from .base import Recognizer
from .checks import char_classes, looks_identifier, looks_placeholder, random_mixed_case, shannon_entropy


class UrlQuerySecretRecognizer(Recognizer):
    ENTITY = "url_query_secret"
    PATTERNS = [("query", r"(?i)[?&](?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|client[_-]?secret|"
                          r"password|passwd|sig|signature|private[_-]?token)=(?P<v>[^&\s'\"#<>`]{12,512})", 0.8)]
    PREFILTER = [r"[?&](?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|client[_-]?secret|password"
                 r"|passwd|sig|signature|private[_-]?token)=[^&\s'\"#<>`]{12}"]
    PREFILTER_CASELESS = True

    def validate(self, value, match, line):
        v = value.rstrip(".,;)")
        if looks_placeholder(v) or v.startswith(("$", "{", "%s", "%(")):
            return False
        # Percent-encoded base64 (SAS signatures) counts; words and ids with little entropy do not.
        if shannon_entropy(v) < 3.0 or char_classes(v) < 2:
            return False
        if looks_identifier(v) and not random_mixed_case(v):
            return False
        return None
