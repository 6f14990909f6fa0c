"""Who is calling: per-developer gateway tokens, identity headers, proxy auth, key fingerprints;
and per-developer budgets.

Resolution order (first that applies wins):
1. `Authorization: Bearer kt_gk_...` (or a kt_gk_ token as the proxy-auth password/user): a gateway
   token from `kt tokens create NAME`. The addon then sends the real provider key upstream, so the
   OpenAI key never sits on the developer's machine. Unknown, revoked or expired token -> 401.
2. `X-User-ID`, then `x-keeptrusts-agent-id` (reference 4.2), unless `identity.trust_headers: false`.
3. Proxy authentication in explicit-proxy mode (the user name).
4. `identity.key_fingerprints`: a mapping from API-key fingerprint (`kf_` + 12 hex of its SHA-256)
   to a name, for teams that hand out provider keys per developer.
5. Otherwise the fingerprint itself stands in for the developer (source `key_fingerprint`), or
   nothing at all; with `require_identity: true` both are refused with a 401.

Tokens are stored hashed (SHA-256; they are 160-bit random) in `$KEEPTRUSTS_TOKENS_DB` or
`<state dir>/tokens.db`. Resolution is in memory; the table is re-read when the file changes.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .schema import ListOf, MapOf, Number

TOKEN_PREFIX = "kt_gk_"
IDENTITY_HEADERS = ("x-user-id", "x-keeptrusts-agent-id")

# Config blocks (config.py: "identity": IDENTITY_SCHEMA, "budgets": BUDGETS_SCHEMA).
IDENTITY_SCHEMA = {
    "require_identity": bool,          # refuse callers no rule identifies (401)
    "trust_headers": bool,             # accept X-User-ID / x-keeptrusts-agent-id (default true)
    "headers": ListOf(str),            # which identity headers, in order (default the two above)
    "trust_proxy_auth": bool,          # accept the proxy-auth user name in explicit mode (default true)
    "tokens_db": str,                  # where gateway tokens live (default <state dir>/tokens.db)
    "key_fingerprints": MapOf(str),    # kf_0123456789ab: alice
}
LIMITS_SCHEMA = {"daily_usd": Number, "monthly_usd": Number}
BUDGETS_SCHEMA = {
    "default": LIMITS_SCHEMA,          # for every identified developer without their own entry
    "developers": MapOf(LIMITS_SCHEMA),
    # Before a request leaves, its cost is estimated with at most this many output tokens (or the
    # request's own max_output_tokens / max_tokens when smaller); default OUTPUT_ALLOWANCE_TOKENS.
    "output_allowance_tokens": int,
}
OUTPUT_ALLOWANCE_TOKENS = 4096
CHARS_PER_TOKEN = 4                    # cheap input estimate: OpenAI's rule of thumb for English and code
RESERVATION_TTL_S = 600.0              # a reservation whose turn was never recorded stops counting


def tokens_db() -> Path:
    env = os.environ.get("KEEPTRUSTS_TOKENS_DB")
    return Path(env) if env else paths.state_dir() / "tokens.db"


def fingerprint(api_key: str) -> str:
    return "kf_" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:12]


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class TokenError(Exception):
    """A user error about tokens: one line, saying how to fix it."""


@dataclass
class TokenInfo:
    name: str
    prefix: str
    created: str
    expires: str | None
    revoked: str | None

    @property
    def status(self) -> str:
        if self.revoked:
            return "revoked"
        if self.expires and self.expires < _now():
            return "expired"
        return "active"


class TokenStore:
    """The tokens table. Rollback-journal mode (not WAL) so every change touches the main file,
    which is how resolvers notice it."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else tokens_db()

    def _conn(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=5, isolation_level=None)
        conn.execute("CREATE TABLE IF NOT EXISTS tokens (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                     "token_hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, created TEXT NOT NULL, "
                     "expires TEXT, revoked TEXT)")
        conn.execute("CREATE INDEX IF NOT EXISTS tokens_name ON tokens (name)")
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            pass
        return conn

    def create(self, name: str, expires_in: dt.timedelta | None = None) -> str:
        name = name.strip()
        if not name or any(c.isspace() for c in name) or len(name) > 100:
            raise TokenError(f"bad developer name {name!r}: use a short name without spaces, e.g. alice")
        conn = self._conn()
        try:
            for t in self._infos(conn, name):
                if t.status == "active":
                    raise TokenError(f"{name} already has an active token ({t.prefix}...): "
                                     f"revoke it first with `kt tokens revoke {name}`")
            token = TOKEN_PREFIX + secrets.token_hex(20)
            expires = (dt.datetime.now(dt.timezone.utc) + expires_in).strftime("%Y-%m-%dT%H:%M:%SZ") \
                if expires_in else None
            conn.execute("INSERT INTO tokens (name, token_hash, prefix, created, expires) VALUES (?, ?, ?, ?, ?)",
                         (name, _hash_token(token), token[:12], _now(), expires))
            return token
        finally:
            conn.close()

    def revoke(self, name: str) -> int:
        conn = self._conn()
        try:
            n = conn.execute("UPDATE tokens SET revoked = ? WHERE name = ? AND revoked IS NULL",
                             (_now(), name)).rowcount
        finally:
            conn.close()
        if not n:
            raise TokenError(f"no active token for {name} in {self.path}: see `kt tokens list`")
        return n

    def list(self, include_revoked: bool = False) -> list[TokenInfo]:
        if not self.path.exists():
            return []
        conn = self._conn()
        try:
            infos = self._infos(conn)
        finally:
            conn.close()
        return [t for t in infos if include_revoked or t.status == "active"]

    @staticmethod
    def _infos(conn, name: str | None = None) -> list[TokenInfo]:
        sql = "SELECT name, prefix, created, expires, revoked FROM tokens"
        rows = conn.execute(sql + (" WHERE name = ?" if name else "") + " ORDER BY name, id",
                            (name,) if name else ()).fetchall()
        return [TokenInfo(*r) for r in rows]

    def table(self) -> dict[str, tuple[str, str | None, str | None]]:
        """{token hash: (name, expires, revoked)}."""
        if not self.path.exists():
            return {}
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
        try:
            return {h: (n, e, r) for h, n, e, r in
                    conn.execute("SELECT token_hash, name, expires, revoked FROM tokens")}
        except sqlite3.OperationalError:
            return {}
        finally:
            conn.close()


@dataclass
class Identity:
    developer: str | None = None
    source: str | None = None            # token | header | proxy_auth | key_fingerprint | None
    key_fingerprint: str | None = None
    is_gateway_token: bool = False
    error: str | None = None             # "401 ...": refuse the request with this message

    def to_record(self) -> dict:
        return {"developer": self.developer, "developer_source": self.source, "key_fingerprint": self.key_fingerprint}


def _block(config, name: str) -> dict:
    if config is None:
        return {}
    if isinstance(config, dict):
        return config.get(name) or {}
    return (getattr(config, "raw", None) or {}).get(name) or {}


class IdentityResolver:
    RELOAD_CHECK_S = 0.5

    def __init__(self, config=None, tokens_path: str | Path | None = None):
        ident = _block(config, "identity")
        gateway = getattr(config, "gateway", None) or (config.get("gateway") if isinstance(config, dict) else None) or {}
        self.require = bool(ident.get("require_identity", gateway.get("require_identity", False)))
        self.headers = [h.lower() for h in ident.get("headers", IDENTITY_HEADERS)] \
            if ident.get("trust_headers", True) else []
        self.trust_proxy_auth = bool(ident.get("trust_proxy_auth", True))
        self.key_names = dict(ident.get("key_fingerprints") or {})
        self.store = TokenStore(tokens_path or ident.get("tokens_db") or None)
        self._tokens: dict = {}
        self._stamp = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def _table(self, force: bool = False) -> dict:
        now = time.monotonic()
        if not force and now - self._checked < self.RELOAD_CHECK_S and self._stamp is not None:
            return self._tokens
        with self._lock:
            self._checked = now
            try:
                st = os.stat(self.store.path)
                stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            except FileNotFoundError:
                stamp = ()
            if stamp != self._stamp:
                self._tokens = self.store.table() if stamp else {}
                self._stamp = stamp
        return self._tokens

    def _token(self, token: str) -> Identity:
        fp = fingerprint(token)
        h = _hash_token(token)
        entry = self._table().get(h)
        if entry is None:            # a token created a moment ago: look at the file now, not in 0.5 s
            entry = self._table(force=True).get(h)
        if entry is None:
            return Identity(None, None, fp, True, f"401 unknown gateway token {token[:10]}...: use the token "
                            "printed by `kt tokens create NAME` as the API key")
        name, expires, revoked = entry
        if revoked:
            return Identity(name, "token", fp, True, f"401 the gateway token of {name} was revoked on {revoked}: "
                            f"ask for a new one (kt tokens create {name})")
        if expires and expires < _now():
            return Identity(name, "token", fp, True, f"401 the gateway token of {name} expired on {expires}: "
                            f"ask for a new one (kt tokens revoke {name} && kt tokens create {name})")
        return Identity(name, "token", fp, True, None)

    def resolve(self, headers: dict[str, str], proxy_auth: str | None = None) -> Identity:
        auth = headers.get("authorization") or ""
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else (headers.get("api-key") or "").strip()
        if key.startswith(TOKEN_PREFIX):
            return self._token(key)
        user, password = _proxy_credentials(proxy_auth)
        for cred in (password, user):
            if cred and cred.startswith(TOKEN_PREFIX):
                return self._token(cred)
        fp = fingerprint(key) if key else None
        for h in self.headers:
            value = (headers.get(h) or "").strip()
            if value:
                return Identity(value[:200], "header", fp)
        if user and self.trust_proxy_auth:
            return Identity(user[:200], "proxy_auth", fp)
        if fp and fp in self.key_names:
            return Identity(self.key_names[fp], "key_fingerprint", fp)
        if self.require:
            return Identity(None, None, fp, False,
                            "401 identity required: use your gateway token (kt tokens create NAME) as the API key, "
                            "or send an X-User-ID header")
        return Identity(fp, "key_fingerprint" if fp else None, fp)


def _proxy_credentials(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    value = value.strip()
    if value[:6].lower() == "basic ":
        try:
            value = base64.b64decode(value[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None, None
    user, _, password = value.partition(":")
    return (user or None), (password or None)


_RESOLVERS: dict = {}


def resolve_identity(headers: dict[str, str], config=None, proxy_auth: str | None = None) -> Identity:
    """The addon's entry point: headers with lower-case names; one cached resolver per config object."""
    resolver = _RESOLVERS.get(id(config))
    if resolver is None or resolver[0] is not config:
        resolver = (config, IdentityResolver(config))
        _RESOLVERS.pop(id(config), None)
        _RESOLVERS[id(config)] = resolver
        while len(_RESOLVERS) > 4:                 # configs replaced by hot reloads
            _RESOLVERS.pop(next(iter(_RESOLVERS)))
    return resolver[1].resolve(headers, proxy_auth)


# ---------------------------------------------------------------------------------------------
# Budgets

@dataclass
class BudgetExceeded:
    message: str
    retry_after_s: int          # seconds until the period resets (for Retry-After)
    period: str                 # "daily" | "monthly"
    limit_usd: float
    spent_usd: float


def _usd(v: float) -> str:
    return f"${v:,.2f}" if v >= 1 else f"${v:.4f}"


def _period_starts(now: dt.datetime) -> tuple[str, str, dt.datetime, dt.datetime]:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    next_day = day + dt.timedelta(days=1)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    fmt = "%Y-%m-%dT%H:%M:%S.000Z"
    return day.strftime(fmt), month.strftime(fmt), next_day, next_month


class Budgets:
    """Per-developer daily/monthly USD limits (UTC days and months) from the `budgets:` block.

    Spend is read from the audit database (read-only), cached per developer for CACHE_S seconds or
    until the attached AuditWriter commits one of their exchanges.
    """
    CACHE_S = 2.0

    def __init__(self, config=None, db_path: str | Path | None = None):
        block = _block(config, "budgets")
        self.default = block.get("default") or {}
        self.per_dev = block.get("developers") or {}
        self.output_allowance = int(block.get("output_allowance_tokens") or OUTPUT_ALLOWANCE_TOKENS)
        self.db_path = Path(db_path) if db_path else paths.audit_db()
        self._cache: dict[str, tuple[float, str, float, float]] = {}
        self._lock = threading.Lock()
        # Estimated costs of requests in flight: event id -> (developer, usd, since). Counted as spent
        # until the turn's audit row (with the real usage) is committed, so parallel requests cannot
        # cross the budget together either.
        self._reserved: dict[str, tuple[str, float, float]] = {}

    @property
    def enabled(self) -> bool:
        return bool(self.default or self.per_dev)

    def reconfigure(self, config) -> "Budgets":
        """New limits from a reloaded config; spend cache and reservations in flight are kept."""
        block = _block(config, "budgets")
        with self._lock:
            self.default = block.get("default") or {}
            self.per_dev = block.get("developers") or {}
            self.output_allowance = int(block.get("output_allowance_tokens") or OUTPUT_ALLOWANCE_TOKENS)
            self._cache.clear()
        return self

    def attach(self, writer) -> "Budgets":
        """Forget a developer's cached spend as soon as the AuditWriter commits their exchange."""
        def forget(rows: list[dict]) -> None:
            with self._lock:
                for r in rows:
                    self._cache.pop(r.get("developer"), None)
                    self._reserved.pop(r.get("id"), None)   # settled: the row carries the real cost
        writer.on_commit(forget)
        return self

    def limits(self, developer: str) -> dict:
        """A developer's entry overrides the limits it names; the others come from `default`."""
        return {**self.default, **(self.per_dev.get(developer) or {})}

    def _spend(self, developer: str, day: str, month: str) -> tuple[float, float]:
        now = time.monotonic()
        hit = self._cache.get(developer)
        if hit and now - hit[0] < self.CACHE_S and hit[1] == day:
            return hit[2], hit[3]
        daily = monthly = 0.0
        if self.db_path.exists():
            conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=2)
            try:
                daily, monthly = conn.execute(
                    "SELECT COALESCE(SUM(CASE WHEN timestamp >= ? THEN cost_usd END), 0), COALESCE(SUM(cost_usd), 0) "
                    "FROM events WHERE developer = ? AND timestamp >= ?", (day, developer, month)).fetchone()
            except sqlite3.OperationalError:
                pass
            finally:
                conn.close()
        with self._lock:
            self._cache[developer] = (now, day, float(daily), float(monthly))
        return float(daily), float(monthly)

    def check(self, developer: str | None, now: dt.datetime | None = None) -> BudgetExceeded | None:
        if not developer or not self.enabled:
            return None
        lim = self.limits(developer)
        if not lim:
            return None
        now = now or dt.datetime.now(dt.timezone.utc)
        day, month, next_day, next_month = _period_starts(now)
        daily, monthly = self._spend(developer, day, month)
        if lim.get("daily_usd") is not None and daily >= float(lim["daily_usd"]):
            return BudgetExceeded(
                f"Budget exceeded for {developer}: daily budget {_usd(float(lim['daily_usd']))}, spent {_usd(daily)} "
                f"today (UTC); resets at 00:00 UTC", int((next_day - now).total_seconds()) + 1,
                "daily", float(lim["daily_usd"]), daily)
        if lim.get("monthly_usd") is not None and monthly >= float(lim["monthly_usd"]):
            return BudgetExceeded(
                f"Budget exceeded for {developer}: monthly budget {_usd(float(lim['monthly_usd']))}, spent "
                f"{_usd(monthly)} this month (UTC); resets on the 1st", int((next_month - now).total_seconds()) + 1,
                "monthly", float(lim["monthly_usd"]), monthly)
        return None

    def check_budget(self, developer: str | None) -> str | None:
        hit = self.check(developer)
        return hit.message if hit else None

    # -------------------------------------------------------------- before the fact
    def reserved(self, developer: str) -> float:
        now = time.monotonic()
        with self._lock:
            for eid in [e for e, (_, _, since) in self._reserved.items() if now - since > RESERVATION_TTL_S]:
                del self._reserved[eid]
            return sum(usd for dev, usd, _ in self._reserved.values() if dev == developer)

    def preflight(self, developer: str | None, event_id: str, estimate: "CostEstimate",
                  now: dt.datetime | None = None) -> BudgetExceeded | None:
        """Refuse a request whose estimated cost would cross a limit; otherwise reserve the estimate
        under `event_id` until its audit row is committed (or `settle` is called)."""
        if not developer or not self.enabled:
            return None
        lim = self.limits(developer)
        if not lim:
            return None
        now = now or dt.datetime.now(dt.timezone.utc)
        day, month, next_day, next_month = _period_starts(now)
        daily, monthly = self._spend(developer, day, month)
        pending = self.reserved(developer)
        for period, spent, key, reset, retry in (
                ("daily", daily, "daily_usd", "today (UTC); resets at 00:00 UTC", next_day),
                ("monthly", monthly, "monthly_usd", "this month (UTC); resets on the 1st", next_month)):
            if lim.get(key) is None:
                continue
            limit = float(lim[key])
            if spent + pending + estimate.usd > limit:
                in_flight = f" plus {_usd(pending)} in flight" if pending else ""
                return BudgetExceeded(
                    f"Budget exceeded for {developer}: this request could cost up to {_usd(estimate.usd)} "
                    f"({estimate.describe()}), and the {period} budget {_usd(limit)} has {_usd(max(limit - spent - pending, 0))} "
                    f"left (spent {_usd(spent)}{in_flight} {reset}); it was not sent",
                    int((retry - now).total_seconds()) + 1, period, limit, spent)
        with self._lock:
            self._reserved[event_id] = (developer, estimate.usd, time.monotonic())
        return None

    def settle(self, event_id: str) -> None:
        with self._lock:
            self._reserved.pop(event_id, None)


# The addon's entry points for budgets: configure once per config (re)load, check per request.
_BUDGETS: Budgets | None = None
_AUTO: tuple | None = None        # (config, writer, Budgets) when check_budget had to work it out


def configure_budgets(config, db_path: str | Path | None = None, writer=None) -> Budgets:
    """Install the budgets of `config` (spend read from `db_path`; `writer` keeps the cache fresh)."""
    global _BUDGETS
    _BUDGETS = Budgets(config, db_path or (writer.db_path if writer is not None else None))
    if writer is not None:
        _BUDGETS.attach(writer)
    return _BUDGETS


def _auto_budgets() -> Budgets | None:
    """Without configure_budgets: the config last given to resolve_identity, the running AuditWriter."""
    global _AUTO
    if not _RESOLVERS:
        return None
    from .audit.writer import active_writer
    config = next(reversed(_RESOLVERS.values()))[0]
    writer = active_writer()
    if _AUTO is None or _AUTO[0] is not config or _AUTO[1] is not writer:
        budgets = Budgets(config, writer.db_path if writer is not None else None)
        if writer is not None and budgets.enabled:
            budgets.attach(writer)
        _AUTO = (config, writer, budgets)
    return _AUTO[2]


def check_budget(developer: str | None) -> str | None:
    """None, or "Budget exceeded for alice: daily budget $20.00, spent $20.13 today (UTC); ..." (answer 429)."""
    budgets = _BUDGETS or _auto_budgets()
    return budgets.check_budget(developer) if budgets is not None else None


def budget_exceeded(developer: str | None, budgets: Budgets | None = None) -> BudgetExceeded | None:
    """Like check_budget, with the period, limit, spend and `retry_after_s` (seconds to the reset).
    The gateway passes the Budgets it built; without one, the module's (configure_budgets) is used."""
    budgets = budgets or _BUDGETS or _auto_budgets()
    return budgets.check(developer) if budgets is not None else None


# ---------------------------------------------------------------------------------------------
# Budgets before the fact: estimate a request's cost before it leaves, settle with the real usage.

@dataclass
class CostEstimate:
    input_tokens: int
    output_tokens: int
    usd: float
    price_source: str

    def describe(self) -> str:
        return (f"about {self.input_tokens:,} input tokens and up to {self.output_tokens:,} output tokens at "
                f"{self.price_source} prices")


def _max_output(body) -> int | None:
    if not isinstance(body, dict):
        return None
    inner = body.get("response") if isinstance(body.get("response"), dict) else {}
    for key in ("max_output_tokens", "max_completion_tokens", "max_tokens"):
        v = body.get(key, inner.get(key))
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    return None


def estimate_cost(model: str | None, forward: str, body=None, allowance: int = OUTPUT_ALLOWANCE_TOKENS,
                  target_pricing: dict | None = None, target_id: str | None = None) -> CostEstimate:
    """Input tokens ~ characters / 4 of the body that will be sent (its JSON syntax and tool definitions
    count too, so it rather over- than under-estimates), priced as uncached input; output: the request's
    own limit or `allowance`, whichever is smaller."""
    from .pricing import price_for

    price = price_for(model, target_pricing, target_id)
    tokens_in = -(-len(forward) // CHARS_PER_TOKEN)
    asked = _max_output(body)
    tokens_out = min(asked, allowance) if asked else allowance
    if isinstance(body, dict) and body.get("generate") is False:
        tokens_out = 0  # Codex's WebSocket warm-up: the context is sent, nothing is generated
    return CostEstimate(tokens_in, tokens_out, price.cost(tokens_in, 0, tokens_out), price.source)


def budget_preflight(developer: str | None, event_id: str, model: str | None, forward: str, body=None,
                     config=None, path: str = "", budgets: Budgets | None = None) -> BudgetExceeded | None:
    """The guards' call before forwarding a judged request: None (reserved until its row commits), or
    why it would cross the budget (answer 429, nothing sent)."""
    if path.endswith("/input_tokens"):
        return None  # counting tokens generates nothing and is not billed as a model call
    budgets = budgets or _BUDGETS or _auto_budgets()
    if budgets is None or not developer or not budgets.enabled or not budgets.limits(developer):
        return None
    target = config.target() if config is not None and hasattr(config, "target") else {}
    estimate = estimate_cost(model, forward, body, budgets.output_allowance, (target or {}).get("pricing"),
                             (target or {}).get("id"))
    return budgets.preflight(developer, event_id, estimate)


def budget_refusal(over: BudgetExceeded):
    """The 429 answer for a budget refusal (Retry-After: seconds to the period's reset)."""
    from . import errors

    err = errors.budget(over.message)
    err.retry_after = over.retry_after_s
    return err


def settle_budget(event_id: str, budgets: Budgets | None = None) -> None:
    """Drop a turn's reservation when no audit row will settle it (not recorded, or refused later)."""
    budgets = budgets or _BUDGETS or _auto_budgets()
    if budgets is not None:
        budgets.settle(event_id)
