"""Secret-named assignments in code, .env and config files: `password = "..."`, `API_KEY=...`, `token: ...`.

The name says it is a secret; the value decides: a quoted literal (or an .env/config value) that is
not a placeholder, an identifier, a path, a URL or prose. Password-named values need only look like
a password; token/key/secret-named values must also be high-entropy.
"""
import re

from .base import Recognizer
from .checks import char_classes, looks_identifier, looks_placeholder, random_mixed_case, shannon_entropy

_NAME = (r"[A-Za-z0-9_.-]*(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
         r"private[_-]?key|auth[_-]?key|client[_-]?secret|credentials?|signing[_-]?key|encryption[_-]?key|"
         r"master[_-]?key|session[_-]?key|webhook[_-]?secret|bearer)[A-Za-z0-9_.-]*")
# An optional closing quote (JSON-escaped as \" inside a JSON string) and the assignment operator.
_OP = r"(?:\\?[\"'\]])?\s*(?:=|:=|=>|:|\?\?=|\|\|=)\s*"


class SecretAssignmentRecognizer(Recognizer):
    ENTITY = "secret_assignment"
    FLAGS = 0
    PATTERNS = [
        # name = "value" / name: 'value' / "name": "value" (JSON) / name => 'value'
        ("quoted", r"(?i)(?<![A-Za-z0-9])(?P<name>" + _NAME + r")" + _OP + r"(?:[rbuf]|new\s+String\()?"
                   r"\\?(?P<q>[\"'`])(?P<v>[^\"'`\s\\]{4,200})\\?(?P=q)", 0.8),
        # .env / shell: NAME=value (no spaces around =), optionally `export`
        ("env", r"(?m)^\s*(?:export\s+)?(?P<name>[A-Z0-9_]*(?:PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|API_KEY|APIKEY|"
                r"ACCESS_KEY|PRIVATE_KEY|AUTH|CREDENTIALS?|KEY)[A-Z0-9_]*)=(?P<v>[^\s\"'`#$]{4,200})\s*(?:#.*)?$", 0.8),
        # YAML / TOML / properties: name: value  (unquoted)
        ("config", r"(?im)^\s*-?\s*(?P<name>" + _NAME + r")\s*[:=]\s*(?P<v>[^\s\"'`#,{}\[\]()]{6,200})\s*$", 0.7),
        # Dockerfile: ENV NAME=value, ENV NAME value, ARG NAME=value
        ("dockerfile", r"(?m)^\s*(?:ENV|ARG)\s+(?P<name>(?i:" + _NAME + r"))(?:=|\s+)(?P<v>[^\s\"'`#$]{4,200})\s*$", 0.8),
        # PHP: define('DB_PASSWORD', '...');
        ("php_define", r"(?i)\bdefine\(\s*(?P<q0>['\"])(?P<name>" + _NAME + r")(?P=q0)\s*,\s*(?P<q>['\"])"
                       r"(?P<v>[^'\"\\]{4,200})(?P=q)", 0.8),
        # URL-encoded JSON or form bodies: %22password%22%3A%22...%22, password%3D...
        ("urlencoded", r"(?i)(?<![A-Za-z0-9])(?P<name>" + _NAME + r")(?:%22|%27)?(?:%3D|%3A)(?:%22|%27|%20|\+)*"
                       r"(?P<v>(?:[A-Za-z0-9._~!*()-]|%(?!2[267]|7[BD])[0-9A-Fa-f]{2}){4,200})", 0.8),
        # .NET appSettings: <add key="ApiSecret" value="..."/>; XML elements: <password>...</password>
        ("xml_setting", r"(?i)\bkey\s*=\s*\"(?P<name>" + _NAME + r")\"\s+value\s*=\s*(?P<q>\")(?P<v>[^\"]{4,200})(?P=q)", 0.8),
        ("xml_element", r"(?i)<(?P<name>" + _NAME + r")>(?P<v>[^<\s]{4,200})</", 0.8),
        # Names that only say "key" (SERVICE_KEY, webhookKey, signing.key): the value must look generated.
        ("key_named", r"(?<![A-Za-z0-9])(?P<name>[A-Za-z0-9_.-]*(?i:key))(?:\\?[\"'\]])?\s*(?:=|:=|=>|:)\s*"
                      r"(?P<q>[\"'`]?)(?P<v>[A-Za-z0-9_.+/~=-]{20,200})(?P=q)(?![A-Za-z0-9_.+/~=-])", 0.75),
        # Chat and notes: "my API key is ...", "set the token to ...", "password was ..."
        ("prose", r"(?i)\b(?P<name>api[ _-]?key|access[ _-]?key|secret(?:[ _-]?key)?|token|password|passphrase|passwd|"
                  r"credentials?|key)\s+(?:is|was|to|of)\s+[\"'`]?(?P<v>[A-Za-z0-9_.+/~=!@#$%^&*-]{8,200}?)[\"'`]?(?=[,;.!?)]*(?:\s|$))", 0.75),
    ]
    PREFILTER = [
        r"(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth[_-]?key"
        r"|credential|signing[_-]?key|encryption[_-]?key|master[_-]?key|session[_-]?key|bearer)"
        r"[A-Za-z0-9_.-]*(?:\\?[\"'\]])?\s*(?:=|:|=>|\?\?=|\|\|=)\s*\S",
        r"(?:ENV|ARG)\s+[A-Za-z0-9_.-]*(?:passw|secret|token|key|pwd|auth|credential)[A-Za-z0-9_.-]*\s+[^\s=]",
        r"define\(\s*['\"][A-Za-z0-9_.-]*(?:passw|secret|token|key|pwd|salt|auth)",
        r"(?:passw|secret|token|api[_-]?key|apikey|pwd|credential)[A-Za-z0-9_.-]*(?:%22|%27)?(?:%3D|%3A)",
        r"key\s*=\s*\"[^\"]*(?:passw|secret|token|key|pwd|credential)[^\"]*\"\s+value",
        r"<[A-Za-z0-9_.-]*(?:passw|secret|token|api[_-]?key|apikey|pwd|credential)[A-Za-z0-9_.-]*>[^<\s]{4}",
        r"key(?:\\?[\"'\]])?\s*(?:=|:=|=>|:)\s*[\"'`]?[A-Za-z0-9_.+/~=-]{20}",
        r"(?:key|token|secret|password|passphrase|passwd|credentials?)\s+(?:is|was|to|of)\s+[\"'`]?[A-Za-z0-9_.+/~=!@#$%^&*-]{8}",
    ]
    PREFILTER_CASELESS = True

    def __init__(self) -> None:
        super().__init__()
        self._kinds = {rx.pattern: n for n, rx, _ in self.compiled}

    def _generated(self, v: str, name: str, kind: str):
        """key_named / prose values: a password only has to not be a word; anything else must look generated."""
        if looks_placeholder(v) or v.lower() in _NOT_SECRETS or "://" in v or v.startswith(("/", "./", "~/")):
            return False
        if kind == "prose" and any(w in name for w in ("pass",)):
            if char_classes(v) < 2 or _names_a_field(v) or (looks_identifier(v) and _reads_as_words(v)):
                return False
            return None
        if any(w in name for w in _NON_SECRET_KEY_NAMES) or _HEX_DIGEST.fullmatch(v):
            return False           # sort_key, cache_key, primary_key, a content hash
        if len(v) < 20 or char_classes(v) < 2 or shannon_entropy(v) < 3.5:
            return False
        parts = v.split(".")
        if len(parts) > 1 and all(x.isidentifier() for x in parts) and not any(random_mixed_case(x) for x in parts):
            return False           # crypto_1.default.createHash: a dotted name in code
        if looks_identifier(v) and not random_mixed_case(v):
            return False
        return None if random_mixed_case(v) or (char_classes(v) >= 3 and shannon_entropy(v) >= 4.0) else False
    # Each prefilter wakes only the patterns it stands for: a plain `token = x` line is not read six more times.
    PREFILTER_FOR = [("quoted", "env", "config", "dockerfile"), ("dockerfile",), ("php_define",), ("urlencoded",), ("xml_setting",),
                     ("xml_element",), ("key_named",), ("prose",)]

    def validate(self, value, match, line):
        name = match.group("name").lower()
        v = value
        kind = self._kinds.get(match.re.pattern)
        if kind in ("key_named", "prose"):
            return self._generated(v, name, kind)
        if looks_placeholder(v) or v.lower() in _NOT_SECRETS or _REGEX_LITERAL.search(v):
            return False
        base = name.strip("\"'").replace("-", "_")
        if any(w in base for w in _NON_SECRET_WORDS) or base.endswith(_NON_SECRET_SUFFIXES):
            return False
        if "://" in v or v.startswith(("/", "./", "~/", "http")) or v.endswith((".txt", ".json", ".pem", ".key", ".py")):
            return False
        pw = any(w in name for w in ("passw", "passphrase", "pwd", "pass"))
        kind = match.re.pattern
        if "(?P<q>" not in kind:
            if _CODE_REFERENCE.fullmatch(v) and not random_mixed_case(v.rsplit(".", 1)[-1]):   # obj.attr; — code
                return False
            # Unquoted values are code as often as data: demand the look of a credential.
            if (not pw and looks_identifier(v) and not random_mixed_case(v)) or v.replace(".", "").replace("-", "").isdigit():
                return False
            if v.lower() in ("true", "false", "null", "none", "nil", "yes", "no"):
                return False
            if not pw and not (len(v) >= 12 and shannon_entropy(v) >= 3.0 and char_classes(v) >= 2):
                return False
            if pw and (char_classes(v) < 2 or (looks_identifier(v) and _reads_as_words(v))):
                return False
            return None
        if pw:
            # Passwords are short and human; any literal that is not a plain word or a name of something counts.
            if char_classes(v) < 2 and (v.isalpha() or v.isdigit()):
                return False
            # Field and variable names ("new_password", "DB_PASSWORD", "Password"), plain words.
            if _names_a_field(v) or _SNAKE_WORDS.fullmatch(v):
                return False
            if v.isalpha() and (v.islower() or v.isupper() or v.istitle()):
                return False
            return None
        if len(v) < 12 or shannon_entropy(v) < 3.0 or char_classes(v) < 2:
            return False
        if looks_identifier(v) and not random_mixed_case(v):
            return False
        return None


_HEX_DIGEST = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9A-F]{32}|[0-9A-F]{40}|[0-9A-F]{64}")


def _reads_as_words(value: str) -> bool:
    """passwordField, get_password, DEFAULT_PASSWORD: names made of words (avg 4+ letters), not credentials."""
    words = re.findall(r"[A-Z][a-z]+|[a-z]+|[A-Z]+(?![a-z])|\d+", value)
    return bool(words) and sum(map(len, words)) / len(words) >= 4


_FIELD_WORDS = {"pass", "password", "passwd", "pwd", "secret", "token", "key", "auth", "credential", "credentials",
                "apikey", "passphrase"}


def _names_a_field(value: str) -> bool:
    """"new_password", "myPassword", "DB_PASSWORD": the value is itself a name (but "Monkey2024" is not)."""
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", value)
    return any(w.lower() in _FIELD_WORDS for w in words)

# A regular expression written under a secret name (a detector's pattern), not a secret.
_REGEX_LITERAL = re.compile(r"\(\?[:=!<]|\[[^\]]{0,20}-[^\]]{0,20}\]|\]\{\d|\{\d+,?\d*\}|\|[a-z]+\|")
_SNAKE_WORDS = re.compile(r"[a-z]+(?:[_.-][a-z]+)+|[A-Z]+(?:_[A-Z]+)+")
_CODE_REFERENCE = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+;?|.*;")
# Literal values that name a kind of thing, not a secret.
_NOT_SECRETS = {"bearer", "basic", "token", "secret", "password", "oauth", "oauth2", "jwt", "none", "null",
                "required", "optional", "string", "hidden", "text", "auth", "access_token", "refresh_token",
                "id_token", "client_credentials", "authorization_code", "utf-8", "sha256", "hs256", "rs256"}
# Names ending in "key" that hold no credential.
_NON_SECRET_KEY_NAMES = ("sort", "cache", "primary", "foreign", "public", "pub", "hot", "monkey", "turkey", "partition",
                         "row", "idempotency", "i18n", "translation", "lookup", "dict", "map", "hash", "group", "index",
                         "unique", "natural", "composite", "shortcut", "hotkey", "keyboard", "object", "s3", "bucket",
                         "storage_key", "file", "path", "react", "list", "item", "cursor", "page", "next", "prev",
                         "schema", "field", "column", "table", "metric", "label", "state", "event", "route", "query",
                         "config", "setting", "env", "lang", "locale", "message", "error", "theme", "store", "redis")
# Names that contain a secret word but hold something else.
_NON_SECRET_WORDS = ("token_type", "tokentype", "token_count", "tokens_count", "num_tokens", "max_tokens",
                     "token_limit", "tokenizer", "token_url", "token_uri", "token_endpoint", "password_field",
                     "password_length", "password_min", "password_max", "password_policy", "env_var", "envvar")
_NON_SECRET_SUFFIXES = ("_name", "name", "_ref", "_id", "keyid", "_file", "file", "_path", "path", "_dir", "_env",
                        "prompt", "label", "placeholder", "hint", "help", "message", "msg", "description", "header",
                        "param", "field", "_len", "_length", "_size", "_type", "_mode", "_format", "_kind",
                        "_prefix", "regex", "pattern", "_re", "_url", "_uri", "_count", "_key_id", "_pattern")
