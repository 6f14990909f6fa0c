"""Passwords in URLs, connection strings and command lines: scheme://user:PASSWORD@host, Password=...;
pairs, `curl -u user:PASSWORD`, `mysql -pPASSWORD`, `--password=PASSWORD`, `sshpass -p PASSWORD`."""
from .base import Recognizer
from .checks import looks_placeholder

# Values that are documentation, not credentials.
_FAKE = {"password", "passwd", "pass", "pwd", "secret", "user", "username", "changeme", "admin", "root", "test",
         "guest", "anonymous", "x", "xxx", "***", "****", "p", "pw", "foo", "bar", "baz", "spam", "eggs"}


_CONN_STRING = r"(?i)(?:^|[;\s\"'])(?:password|pwd)\s*=\s*(?P<v>[^;\s'\"]{1,256})(?=;|\s|['\"]|$)"


class UrlPasswordRecognizer(Recognizer):
    ENTITY = "password_in_url"
    PATTERNS = [
        ("url_userinfo", r"\b[A-Za-z][A-Za-z0-9+.-]{1,30}://[^\s:/@'\"`<>]{0,128}:(?P<v>[^\s'\"`<>/]{1,256})@(?:[A-Za-z0-9\[]|<PII:)", 0.9),
        ("conn_string", _CONN_STRING, 0.9),
        ("cli_user", r"\b(?:curl|wget|http|https|git)\b[^\n]*?\s(?:-u|--user|--http-user)[= ]\s*['\"]?[^\s:'\"]{1,64}:"
                     r"(?P<v>[^\s'\"]{1,128})", 0.9),
        ("mysql_p", r"\bmysql(?:dump|admin)?\b[^\n]*?\s-p(?P<v>[^\s'\"-][^\s'\"]{2,127})", 0.9),
        ("password_flag", r"--password[= ]['\"]?(?P<v>[^\s'\"$]{3,128})", 0.9),
        ("sshpass", r"\bsshpass\s+-p\s*['\"]?(?P<v>[^\s'\"]{3,128})", 0.9),
    ]
    PREFILTER = [r"://[^\s:/@'\"`<>]{0,128}:[^\s'\"`<>/]{1,256}@", r"(?i)(?:password|pwd)\s*=\s*[^;\s'\"]{1,256};",
                 r"\s(?:-u|--user|--http-user)[= ]\s*['\"]?[^\s:'\"]{1,64}:", r"\s-p[^\s'\"-]", r"--password[= ]",
                 r"sshpass\s+-p"]
    CONTEXT = ["connection", "dsn", "database_url", "url", "uri"]

    def validate(self, value, match, line):
        v = value.strip()
        if v.lower() in _FAKE or looks_placeholder(v) or v.startswith(("$", "{", "<")):
            return False
        if match.re.pattern == _CONN_STRING:
            # Password=...; needs the rest of a connection string (another key=value; pair) around it.
            near = line[max(0, match.start() - 300):match.end() + 300]
            return True if near.count("=") >= 2 and ";" in near else False
        return True
