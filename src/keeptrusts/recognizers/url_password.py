"""Passwords in URLs, connection strings and command lines: scheme://user:PASSWORD@host, Password=...;
pairs, `curl -u user:PASSWORD`, `mysql -pPASSWORD`, `--password=PASSWORD`, `sshpass -p PASSWORD`."""
import re

from .base import Recognizer
from .checks import char_classes, high_entropy, looks_identifier, looks_placeholder, random_mixed_case

# Values that are documentation, not credentials.
_FAKE = {"password", "passwd", "pass", "pwd", "secret", "user", "username", "changeme", "admin", "root", "test",
         "guest", "anonymous", "x", "xxx", "***", "****", "p", "pw", "foo", "bar", "baz", "spam", "eggs"}


_SCORED_KINDS = {"secret_flag", "key_header", "inline_env", "var_flag"}
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
        ("mysql_p_quoted", r"\bmysql(?:dump|admin|sh)?\b[^\n]*?\s-p(?P<q>['\"])(?P<v>[^'\"\n]{3,128})(?P=q)", 0.9),
        ("redis_a", r"\b(?:redis-cli|keydb-cli|valkey-cli)\b[^\n]*?\s(?:-a|--pass)\s+['\"]?(?P<v>[^\s'\"]{3,128})", 0.9),
        # registry and cloud logins: docker login -p, az login -p, helm repo add --password ...
        ("login_p", r"\b(?:docker|podman|buildah|skopeo|nerdctl|oras|helm|az|cf|crane|regctl)\b[^\n]*?\s-p[= ]\s*['\"]?"
                    r"(?P<v>[^\s'\"-][^\s'\"]{2,127})", 0.9),
        # FOO_PASSWORD=... cmd: a secret handed to one command through its environment
        ("inline_env", r"(?:^|[\s;&|(])(?P<name>[A-Z][A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|ACCESS_KEY|"
                       r"PRIVATE_KEY|AUTH))=['\"]?(?P<v>[^\s'\"$`;&|]{4,200})['\"]?\s+(?=[a-z./])", 0.85),
        # --token=..., --api-key ..., --client-secret ..., --auth-token ...: a credential on the command line
        ("secret_flag", r"(?i)\s--?(?:[a-z0-9]+-)*(?:token|secret|api-?key|access-key|secret-key|auth|passwd|pass|"
                        r"password)[= ]\s*['\"]?(?P<v>[^\s'\"$<{][^\s'\"]{3,200})", 0.85),
        # terraform -var 'db_password=...', kubectl create secret --from-literal=key=...
        ("var_flag", r"(?i)(?:-var[= ]\s*['\"]?(?P<name>[\w-]*(?:passw|secret|token|key|pwd)[\w-]*)|--from-literal[= ]"
                     r"[\w.-]+)=(?P<v>[^'\"\s]{3,200})", 0.9),
        # HTTP headers that carry a key: -H 'X-API-Key: ...'
        ("key_header", r"(?i)\b(?:x-api-key|api-key|apikey|x-auth-token|x-access-token|private-token|x-vault-token|"
                       r"x-gitlab-token|x-figma-token|ocp-apim-subscription-key|x-functions-key|x-goog-api-key)"
                       r"[\"']?\s*:\s*[\"']?(?P<v>[A-Za-z0-9._~+/=-]{12,})", 0.85),
        # jdbc:...?password=..., ;password=... in URLs (any length; url_query_secret needs 12+ characters)
        ("url_param", r"(?i)(?:://|jdbc:)[^\s'\"]*?[?&;](?:password|passwd|pwd|pass)=(?P<v>[^&;\s'\"#]{3,128})", 0.9),
        ("htpasswd", r"\bhtpasswd\b(?:\s+-[A-Za-z]+)*\s+-[A-Za-z]*b[A-Za-z]*(?:\s+-[A-Za-z]+)*\s+\S+\s+\S+\s+"
                     r"['\"]?(?P<v>[^\s'\"]{3,128})", 0.9),
    ]
    PREFILTER = [r"://[^\s:/@'\"`<>]{0,128}:[^\s'\"`<>/]{1,256}@", r"(?i)(?:password|pwd)\s*=\s*[^;\s'\"]{1,256};",
                 r"\s(?:-u|--user|--http-user)[= ]\s*['\"]?[^\s:'\"]{1,64}:", r"\s-p[^\s'\"-]", r"--password[= ]",
                 r"sshpass\s+-p", r"-p['\"][^'\"]{3}", r"(?:redis-cli|keydb-cli|valkey-cli)\s", r"\s-p[= ]\s*['\"]?[^\s'\"-]",
                 r"[A-Z0-9_](?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY|AUTH)=[^\s'\"$`;&|]{4}",
                 r"(?i)\s--?(?:[a-z0-9]+-)*(?:token|secret|api-?key|access-key|secret-key|auth|passwd|pass|password)[= ]",
                 r"(?i)-var[= ]\s*['\"]?[\w-]*(?:passw|secret|token|key|pwd)", r"--from-literal[= ]",
                 r"(?i)(?:x-api-key|api-key|apikey|x-auth-token|x-access-token|private-token|x-vault-token|x-gitlab-token"
                 r"|x-figma-token|ocp-apim-subscription-key|x-functions-key|x-goog-api-key)[\"']?\s*:",
                 r"(?i)[?&;](?:password|passwd|pwd|pass)=[^&;\s'\"#]{3}", r"htpasswd\s"]
    PREFILTER_FOR = [("url_userinfo",), ("conn_string",), ("cli_user",), ("mysql_p", "login_p"), ("password_flag",),
                     ("sshpass",), ("mysql_p_quoted",), ("redis_a",), ("login_p", "mysql_p"), ("inline_env",),
                     ("secret_flag",), ("var_flag",), ("var_flag",), ("key_header",), ("url_param",), ("htpasswd",)]
    CONTEXT = ["connection", "dsn", "database_url", "url", "uri"]

    def __init__(self) -> None:
        super().__init__()
        self._names = {rx.pattern: n for n, rx, _ in self.compiled}

    def _kind(self, match) -> str:
        return self._names.get(match.re.pattern, "")

    def validate(self, value, match, line):
        v = value.strip()
        if v.lower() in _FAKE or looks_placeholder(v) or v.startswith(("$", "{", "<")):
            return False
        name = match.re.pattern
        if "(?P<q>" not in name and ("secret_flag" in self._kind(match) or "key_header" in self._kind(match)
                                      or ("inline_env" in self._kind(match) and "PASS" not in (match.group("name") or ""))):
            # Token- and key-named values must look generated; a password only has to not be a word.
            if not high_entropy(v, 3.0, 12) or (looks_identifier(v) and not random_mixed_case(v)):
                return False
        if self._kind(match) == "secret_flag" and re.search(r"(?i)pass", match.group(0)) and (
                char_classes(v) < 2 and v.isalpha() or v.startswith("-")):
            return False
        if match.re.pattern == _CONN_STRING:
            # Password=...; needs the rest of a connection string (another key=value; pair) around it.
            near = line[max(0, match.start() - 300):match.end() + 300]
            return True if near.count("=") >= 2 and ";" in near else False
        # The command-line and header forms keep their pattern score, so a provider format on the same
        # value (a ghp_ token after --token) names the type.
        return None if self._kind(match) in _SCORED_KINDS else True
