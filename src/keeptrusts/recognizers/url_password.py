"""Passwords in URLs and connection strings: scheme://user:PASSWORD@host and Password=...; pairs."""
from .base import Recognizer
from .checks import looks_placeholder

# Values that are documentation, not credentials.
_FAKE = {"password", "passwd", "pass", "pwd", "secret", "user", "username", "changeme", "admin", "root", "test",
         "guest", "anonymous", "x", "xxx", "***", "****", "p", "pw", "foo", "bar", "baz", "spam", "eggs"}


class UrlPasswordRecognizer(Recognizer):
    ENTITY = "password_in_url"
    PATTERNS = [
        ("url_userinfo", r"\b[A-Za-z][A-Za-z0-9+.-]{1,30}://[^\s:/@'\"`<>]{0,128}:(?P<v>[^\s'\"`<>/]{1,256})@(?:[A-Za-z0-9\[]|<PII:)", 0.9),
        ("conn_string", r"(?i)(?:^|[;\s\"'])(?:password|pwd)\s*=\s*(?P<v>[^;\s'\"]{1,256})(?=;|\s|['\"]|$)", 0.9),
    ]
    PREFILTER = [r"://[^\s:/@'\"`<>]{0,128}:[^\s'\"`<>/]{1,256}@", r"(?i)(?:password|pwd)\s*=\s*[^;\s'\"]{1,256};"]
    CONTEXT = ["connection", "dsn", "database_url", "url", "uri"]

    def validate(self, value, match, line):
        v = value.strip()
        if v.lower() in _FAKE or looks_placeholder(v) or v.startswith(("$", "{", "<")) or v.startswith(("%s", "%(", "%d")):
            return False
        if match.re.pattern.startswith("(?i)"):
            # Password=...; needs the rest of a connection string (another key=value; pair) around it.
            near = line[max(0, match.start() - 300):match.end() + 300]
            return True if near.count("=") >= 2 and ";" in near else False
        return True
