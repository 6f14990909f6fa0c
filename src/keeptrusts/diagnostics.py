"""The checks behind `kt doctor`: each returns a Check with a status, a one-line message and a fix.

Statuses: ok (✓), warn (!: works, but probably not as intended), fail (✗: the gateway or a client
will not work, or traffic can go around the gateway), skip (-: not applicable here). Checks read
the environment and the file system and make at most one loopback and one upstream connection,
each with a timeout; none prints or returns a secret value.

When a gateway answers on the listen address, `probe_gateway` asks it (GET /keeptrusts/status) for
what it really runs: its config file, upstream (--upstream included), key mode, audit database and
listeners. The checks then test those, not this shell's defaults and variables; with no gateway
running they fall back to the config file and the environment.
"""
from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import stat
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from . import admin, paths
from .config import Config, ConfigError, load_config

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
DEFAULT_LISTEN = "127.0.0.1:41002"
DEFAULT_PROXY_LISTEN = "127.0.0.1:41003"
CA_CERT = "mitmproxy-ca-cert.pem"
CA_KEY = "mitmproxy-ca.pem"
TRUST_VARS = ("SSL_CERT_FILE", "CODEX_CA_CERTIFICATE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
CODEX_TRUST_VARS = ("SSL_CERT_FILE", "CODEX_CA_CERTIFICATE")   # what Codex reads (DESIGN.md)
LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}


@dataclass
class Check:
    name: str
    status: str
    message: str
    fix: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Context:
    """What the checks look at; tests build one with tmp paths and a fake environment."""

    config_path: str
    listen: str | None = None
    proxy_listen: str | None = None
    offline: bool = False
    audit_db: str | None = None
    timeout: float = 3.0
    env: dict = field(default_factory=lambda: dict(os.environ))
    config: Config | None = None
    gateway_health: dict | None = None   # filled by probe_gateway when a gateway answers
    gateway_status: dict | None = None   # its GET /keeptrusts/status, when it has that endpoint
    config_explicit: bool = True         # False: `kt doctor` without --policy-config (follow the gateway)
    probed: bool = False

    def var(self, name: str) -> str | None:
        return self.env.get(name) or self.env.get(name.lower()) or None

    @property
    def gateway(self) -> dict:
        return self.config.gateway if self.config else {}

    def listen_addr(self) -> tuple[str, int]:
        return split_hostport(self.listen or self.gateway.get("listen") or DEFAULT_LISTEN)

    def proxy_addr(self) -> tuple[str, int]:
        running = _listener(self.gateway_status, "regular")
        return split_hostport(self.proxy_listen or running or self.gateway.get("proxy_listen") or DEFAULT_PROXY_LISTEN)

    def status(self, key: str):
        """A field of the running gateway's status, or None (no gateway, or one without /keeptrusts/status)."""
        return (self.gateway_status or {}).get(key)

    def base_url(self) -> str:
        host, port = self.listen_addr()
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/v1"

    def explicit_proxy_in_use(self) -> bool:
        """HTTPS_PROXY points at the gateway's explicit-proxy port."""
        return _points_at(self.var("HTTPS_PROXY") or self.var("ALL_PROXY"), self.proxy_addr())


def _listener(status: dict | None, kind: str) -> str | None:
    """HOST:PORT of the running gateway's listener of one kind, from its mitmproxy modes
    ("reverse:https://api.openai.com@127.0.0.1:41002", "regular@127.0.0.1:41003")."""
    for mode in (status or {}).get("listen") or []:
        name, _, addr = str(mode).rpartition("@")
        if addr and name.split(":", 1)[0] == kind:
            return addr
    return None


def split_hostport(addr: str) -> tuple[str, int]:
    addr = addr.strip()
    if addr.startswith("["):
        host, _, port = addr[1:].partition("]:")
    elif addr.count(":") == 1:
        host, _, port = addr.partition(":")
    else:
        host, port = "127.0.0.1", addr
    return host or "127.0.0.1", int(port)


def _connect_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _points_at(url: str | None, addr: tuple[str, int]) -> bool:
    if not url:
        return False
    parts = urlsplit(url if "://" in url else "http://" + url)
    try:
        port = parts.port
    except ValueError:
        return False
    return _is_loopback(parts.hostname or "") and port == addr[1]


def mask_url(url: str) -> str:
    """A proxy URL without its credentials."""
    return re.sub(r"//[^/@\s]*@", "//***@", url)


# ---------------------------------------------------------------------------------------------

def check_config(ctx: Context) -> Check:
    try:
        cfg = load_config(ctx.config_path)
    except ConfigError as exc:
        n = len(exc.errors)
        missing = exc.errors[0].code == "E010"
        return Check("config", FAIL,
                     f"Configuration file {'not found' if missing else 'invalid'} ({ctx.config_path}): "
                     + (exc.errors[0].message if missing else f"{n} error{'s' if n != 1 else ''}, first: {exc.first_line()}"),
                     "kt init (or pass --policy-config policies/codex-cli.yaml)" if missing
                     else f"kt policy lint --file {ctx.config_path} shows every error with its line")
    from .preflight import refusals

    refused = refusals(cfg)
    if refused:
        return Check("config", FAIL, f"Configuration the gateway would refuse ({ctx.config_path}): {'; '.join(refused)}",
                     "fix the option named; kt policy test --file " + ctx.config_path + " runs the same check")
    ctx.config = cfg
    warn = f"; {len(cfg.warnings)} lint warning(s)" if cfg.warnings else ""
    return Check("config", OK, f"Configuration file valid ({ctx.config_path}): {cfg.name_version}, "
                               f"chain {' -> '.join(cfg.chain)}{warn}")


def gateway_health(host: str, port: int, timeout: float) -> dict | None:
    """The /health answer of a Keeptrusts gateway on host:port, or None (nothing there, or not ours)."""
    return _health(host, port, timeout)


def _health(host: str, port: int, timeout: float) -> dict | None:
    conn = http.client.HTTPConnection(_connect_host(host), port, timeout=timeout)
    try:
        conn.request("GET", "/health", headers={"Host": f"{host}:{port}"})
        resp = conn.getresponse()
        body = json.loads(resp.read(65536) or b"null")
        return body if isinstance(body, dict) and "status" in body and "policies_loaded" in body else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _status(host: str, port: int, timeout: float) -> dict | None:
    """GET /keeptrusts/status (503 while the gateway has no valid config still carries the body)."""
    conn = http.client.HTTPConnection(_connect_host(host), port, timeout=timeout)
    try:
        conn.request("GET", "/keeptrusts/status", headers={"Host": f"{host}:{port}", **admin.headers()})
        resp = conn.getresponse()
        body = json.loads(resp.read(262144) or b"null")
        ok = resp.status in (200, 503) and isinstance(body, dict) and "key_mode" in body and "upstream" in body
        return body if ok else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def probe_gateway(ctx: Context) -> None:
    """Ask a gateway on the listen address for its health and status; follow its config file unless
    one was given. Runs once; every check works the same when nothing answers."""
    if ctx.probed:
        return
    ctx.probed = True
    if ctx.config is None and not ctx.listen:
        try:   # only to learn gateway.listen; check_config loads (and reports on) the config itself
            ctx.config = load_config(ctx.config_path)
            host, port = ctx.listen_addr()
        except ConfigError:
            host, port = ctx.listen_addr()
        finally:
            ctx.config = None
    else:
        host, port = ctx.listen_addr()
    if not _port_open(host, port, ctx.timeout):
        return
    ctx.gateway_health = _health(host, port, ctx.timeout)
    if ctx.gateway_health is None:
        return
    ctx.gateway_status = _status(host, port, ctx.timeout)
    running = ctx.status("config_path")
    if running and not ctx.config_explicit and running != ctx.config_path:
        ctx.config_path, ctx.config = running, None


def _port_open(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((_connect_host(host), port), timeout=timeout):
            return True
    except OSError:
        return False


def check_listen(ctx: Context) -> Check:
    probe_gateway(ctx)
    host, port = ctx.listen_addr()
    if not _port_open(host, port, ctx.timeout):
        return Check("listen", OK, f"Port {port} free on {host}: the gateway is not running (it can start there)",
                     f"kt gateway run --policy-config {ctx.config_path}")
    health = ctx.gateway_health
    if health is None:
        return Check("listen", FAIL, f"Port {port} on {host} is in use by another program (no Keeptrusts /health there)",
                     f"stop that program, or run the gateway elsewhere: kt gateway run --listen 127.0.0.1:PORT "
                     "(and point openai_base_url at it)")
    summary = (f"{health.get('status')}, config {health.get('config')}, "
               f"{health.get('requests_processed', 0)} requests, up {health.get('uptime_seconds', 0):.0f}s")
    if ctx.status("upstream"):
        summary += f", upstream {ctx.status('upstream')}, fail-mode {ctx.status('fail_mode')}"
    if health.get("status") != "healthy":
        problem = health.get("config_error") or (health.get("audit") or {}).get("last_error") or "see its log"
        return Check("listen", FAIL, f"Gateway on {host}:{port} is {health.get('status')}: {problem}",
                     "fix the config (kt policy lint) or the audit database, then POST /keeptrusts/config/reload "
                     "or restart the gateway")
    if ctx.status("fail_mode") == "allow":
        return Check("listen", WARN, f"Gateway answering on http://{host}:{port} ({summary}): when a check cannot "
                                     "run, requests are forwarded unscanned", "restart it without --fail-mode allow")
    if ctx.config and health.get("config") and health["config"] != ctx.config.name_version:
        return Check("listen", WARN, f"Gateway answering on {host}:{port} ({summary}), but it runs a different pack "
                                     f"than {ctx.config_path} ({ctx.config.name_version})",
                     "restart it with --policy-config " + ctx.config_path)
    return Check("listen", OK, f"Gateway answering on http://{host}:{port} ({summary})")


def check_proxy_port(ctx: Context) -> Check:
    host, port = ctx.proxy_addr()
    if not _port_open(host, port, ctx.timeout):
        state = "free" if ctx.gateway_health is None else "closed although the gateway runs"
        status = OK if ctx.gateway_health is None or not ctx.explicit_proxy_in_use() else FAIL
        return Check("proxy_port", status, f"Explicit-proxy port {port} {state}",
                     None if status == OK else "start the gateway with --proxy-listen " + f"{host}:{port}")
    if ctx.gateway_health is None:
        return Check("proxy_port", FAIL, f"Explicit-proxy port {port} on {host} is in use by another program",
                     "stop that program, or pass --proxy-listen 127.0.0.1:PORT and update HTTPS_PROXY")
    return Check("proxy_port", OK, f"Explicit proxy listening on {host}:{port}")


def check_upstream(ctx: Context) -> Check:
    # /health carries the upstream too, for a gateway without /keeptrusts/status.
    running = ctx.status("upstream") or (ctx.gateway_health or {}).get("upstream")
    url = (running or ctx.var("KEEPTRUSTS_UPSTREAM_URL")
           or (ctx.config.upstream_url() if ctx.config else "https://api.openai.com"))
    url = url.rstrip("/")
    url = url[:-3] if url.endswith("/v1") else url
    provider = ctx.config.target().get("provider", "openai") if ctx.config else "openai"
    if running:
        provider += " (the running gateway's upstream)"
    if ctx.offline:
        return Check("upstream", SKIP, f"Provider {provider} at {url} not checked (--offline)")
    # The gateway connects to the upstream directly (no HTTPS_PROXY), so the check does too.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ssl.create_default_context()))
    started = time.perf_counter()
    try:
        with opener.open(urllib.request.Request(url + "/v1/models", method="GET"), timeout=ctx.timeout) as r:
            status = r.status
    except urllib.error.HTTPError as exc:   # 401 without a key is still "reachable"
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check("upstream", FAIL, f"Provider {provider} unreachable at {url}: {reason}",
                     "check DNS, firewall and TLS from this machine (the gateway connects directly, not through "
                     "HTTPS_PROXY); or run kt doctor --offline if this machine is meant to be offline")
    ms = (time.perf_counter() - started) * 1000
    return Check("upstream", OK, f"Provider: {provider} reachable at {url} (latency: {ms:.0f}ms, HTTP {status})")


def check_provider_key(ctx: Context) -> Check:
    if not ctx.config:
        return Check("provider_key", SKIP, "Provider key not checked (no valid config)")
    target = ctx.config.target()
    ref = target.get("secret_key_ref") or {}
    if target.get("api_key"):
        return Check("provider_key", WARN, f"Provider key for {target.get('id')} is written in the config (api_key)",
                     "move it to an environment variable: secret_key_ref: {env: OPENAI_API_KEY}")
    if "store" in ref:
        return Check("provider_key", WARN, f"Provider key comes from config variable store '{ref['store']}', "
                                           "which a local gateway cannot resolve", "use secret_key_ref: {env: NAME}")
    if "env" not in ref:
        return Check("provider_key", OK, "No provider key configured: each client's own OpenAI key is passed through")
    name = ref["env"]
    mode = ctx.status("key_mode")
    if mode == "custody":
        return Check("provider_key", OK, f"The running gateway holds the provider key ({name} set in its environment)")
    if mode == "passthrough":
        return Check("provider_key", FAIL if ctx.gateway.get("require_identity") else WARN,
                     f"The running gateway has no {name} in its environment: only clients that send their own "
                     "OpenAI key will work; gateway tokens get 503 provider_key_missing",
                     f"restart kt gateway run in a shell where {name} is exported")
    if ctx.env.get(name):
        return Check("provider_key", OK, f"Provider key {name} set ({len(ctx.env[name])} characters)")
    return Check("provider_key", FAIL if ctx.gateway.get("require_identity") else WARN,
                 f"Provider key {name} is not set: only clients that send their own OpenAI key will work; "
                 "gateway tokens get 503 provider_key_missing",
                 f"export {name}=... in the shell that runs kt gateway run")


def check_identity(ctx: Context) -> Check:
    if not ctx.config:
        return Check("identity", SKIP, "Identity not checked (no valid config)")
    try:
        from .identity import TokenStore
    except ImportError:
        return Check("identity", SKIP, "Identity not checked (gateway tokens not available)")
    home = Path(ctx.env.get("KEEPTRUSTS_HOME") or Path(ctx.env.get("HOME") or Path.home()) / ".keeptrusts")
    db = Path(ctx.env.get("KEEPTRUSTS_TOKENS_DB") or home / "tokens.db")
    try:
        active = TokenStore(db).list()
    except Exception as exc:   # an unreadable token store is a finding, not a crash
        return Check("identity", FAIL, f"Gateway token store {db} cannot be read: {exc}", f"check {db} and its permissions")
    ident = ctx.config.raw.get("identity") or {}
    required = bool(ident.get("require_identity", ctx.gateway.get("require_identity", False)))
    names = ", ".join(sorted({t.name for t in active})[:5]) + (" ..." if len(active) > 5 else "")
    if required and not active:
        return Check("identity", WARN, "require_identity is on and no gateway token exists: only callers that send "
                                       "X-User-ID (or proxy credentials) get through, the others get 401",
                     "kt tokens create NAME, and give each developer their token as API key")
    if required:
        return Check("identity", OK, f"Identity required; {len(active)} active gateway token(s) ({names})")
    return Check("identity", OK, f"Identity optional: developers are named by gateway token, X-User-ID or key "
                                 f"fingerprint ({len(active)} active token(s))")


def _pem_certs(text: str) -> list[bytes]:
    return [base64.b64decode(re.sub(r"\s+", "", b)) for b in
            re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)]


def check_ca(ctx: Context) -> list[Check]:
    d = paths.certs_dir() if "KEEPTRUSTS_CERTS" not in ctx.env else Path(ctx.env["KEEPTRUSTS_CERTS"])
    ca = d / CA_CERT
    explicit = ctx.explicit_proxy_in_use()
    out: list[Check] = []
    if not ca.exists():
        out.append(Check("ca", FAIL if explicit else WARN,
                         f"CA certificate not generated yet ({ca}); explicit-proxy mode needs it",
                         "kt certs (creates it and prints the variables clients need)"))
        return out
    ours = _pem_certs(ca.read_text(errors="replace"))
    key = d / CA_KEY
    if key.exists() and key.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        out.append(Check("ca", FAIL, f"CA private key {key} is readable by other users",
                         f"chmod 600 {key}"))
    else:
        out.append(Check("ca", OK, f"CA certificate present ({ca})"))
    trusted: list[str] = []
    untrusting: list[str] = []
    for var in TRUST_VARS:
        value = ctx.env.get(var)
        if not value:
            continue
        p = Path(value)
        if not p.is_file():
            out.append(Check("ca_trust", FAIL, f"{var} points at {value}, which does not exist: TLS clients that read it fail",
                             f"unset {var}, or eval \"$(kt certs)\""))
            continue
        certs = _pem_certs(p.read_text(errors="replace"))
        if ours and ours[0] in certs:
            trusted.append(var)
            if var != "NODE_EXTRA_CA_CERTS" and len(certs) == 1:
                # Replaces the system store: every other HTTPS host (tunnelled, not intercepted) fails to verify.
                out.append(Check("ca_trust", WARN, f"{var} holds only the gateway CA: clients reading it cannot verify "
                                                   "any other HTTPS host (tunnelled hosts, api.github.com, ...)",
                                 f"point {var} at a bundle: cat /etc/ssl/certs/ca-certificates.crt {ca} > ~/.keeptrusts/bundle.pem"))
        else:
            untrusting.append(var)
    if trusted:
        out.append(Check("ca_trust", OK, "Clients trust the gateway CA through " + ", ".join(trusted)))
    if explicit:
        for var in untrusting:
            if var not in CODEX_TRUST_VARS:
                out.append(Check("ca_trust", WARN, f"{var} does not include the gateway CA: clients reading it "
                                                   "refuse the explicit proxy", f"add {ca} to it (kt certs)"))
        if not any(v in trusted for v in CODEX_TRUST_VARS):
            out.append(Check("ca_trust", FAIL, "HTTPS_PROXY points at the gateway but neither SSL_CERT_FILE nor "
                                               "CODEX_CA_CERTIFICATE trusts its CA: Codex would hang",
                             f"export CODEX_CA_CERTIFICATE={ca}"))
    elif untrusting:
        out.append(Check("ca_trust", SKIP, f"{', '.join(untrusting)} {'do' if len(untrusting) != 1 else 'does'} not "
                                           "include the gateway CA (needed only in explicit-proxy mode)"))
    elif not trusted:
        out.append(Check("ca_trust", SKIP, "No client is set up to trust the gateway CA (needed only in explicit-proxy mode)"))
    return out


def check_audit(ctx: Context) -> Check:
    db = Path(ctx.audit_db or ctx.status("audit_db") or ctx.gateway.get("audit_db") or paths.audit_db())
    if not db.exists():
        parent = next((p for p in [db.parent, *db.parent.parents] if p.exists()), None)
        if parent is None or not os.access(parent, os.W_OK | os.X_OK):
            return Check("audit", FAIL, f"Audit database {db} cannot be created ({parent} is not writable)",
                         "pass --audit-db to a writable path, or fix the folder's permissions")
        return Check("audit", OK, f"Audit database will be created at {db}")
    if not os.access(db, os.W_OK) or not os.access(db.parent, os.W_OK):
        return Check("audit", FAIL, f"Audit database {db} is not writable: the gateway would block every request",
                     f"fix the permissions of {db} and its folder (the gateway writes a -wal file beside it)")
    try:
        from .audit.chain import key_from_env
        from .audit.verify import verify
    except ImportError:
        return Check("audit", OK, f"Audit database {db} writable (chain verification not available)")
    try:
        result = verify(db, key_from_env())
    except Exception as exc:   # a database that cannot even be read is a finding, not a crash
        return Check("audit", FAIL, f"Audit database {db} cannot be verified: {type(exc).__name__}: {exc}",
                     f"kt audit verify --db {db}")
    if getattr(result, "ok", False):
        return Check("audit", OK, f"Audit database writable and verifying ({result.rows} rows, {db})")
    return Check("audit", FAIL, f"Audit database fails verification: {result.render()}",
                 f"kt audit verify --db {db} --json for details; keep the file as evidence and start a new database")


def _codex_config_path(ctx: Context) -> Path:
    home = ctx.env.get("CODEX_HOME")
    return (Path(home) if home else Path(ctx.env.get("HOME") or Path.home()) / ".codex") / "config.toml"


def _same_endpoint(url: str, expected: str) -> bool:
    a, b = urlsplit(url.rstrip("/")), urlsplit(expected)
    return (_is_loopback(a.hostname or "") and a.port == b.port and a.scheme == "http"
            and a.path.rstrip("/") in ("/v1", ""))


def check_codex(ctx: Context) -> Check:
    path = _codex_config_path(ctx)
    expected = ctx.base_url()
    fix = f"kt codex setup --base-url {expected}  (sets openai_base_url in {path})"
    if not path.exists():
        if shutil.which("codex", path=ctx.env.get("PATH")):
            if ctx.explicit_proxy_in_use():
                return Check("codex", OK, f"Codex has no config.toml; it reaches the gateway through HTTPS_PROXY")
            return Check("codex", FAIL, f"Codex config {path} not found: Codex talks to api.openai.com directly", fix)
        return Check("codex", SKIP, f"Codex CLI not found on PATH and no {path}")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Check("codex", FAIL, f"Codex config {path} is not valid TOML: {exc}", "fix the file; Codex refuses it too")
    provider = doc.get("model_provider")
    if provider and provider != "openai":
        url = ((doc.get("model_providers") or {}).get(provider) or {}).get("base_url")
        where = f"model_providers.{provider}.base_url"
    else:
        url, where = doc.get("openai_base_url"), "openai_base_url"
    if url and _same_endpoint(url, expected):
        return Check("codex", OK, f"Codex points at the gateway ({where} = {url} in {path})")
    if url:
        return Check("codex", FAIL, f"Codex {where} is {url}, not the gateway ({expected}): its traffic goes around it",
                     fix if where == "openai_base_url" else f'set {where} = "{expected}" in {path}')
    if ctx.explicit_proxy_in_use():
        return Check("codex", OK, f"Codex reaches the gateway through HTTPS_PROXY (no {where} in {path})")
    return Check("codex", FAIL, f"Codex config {path} has no {where}: Codex talks to api.openai.com directly", fix)


def _no_proxy_matches(no_proxy: str, host: str) -> bool:
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        entry = entry.split(":")[0].lstrip("*")
        if host == entry.lstrip(".") or host.endswith(entry if entry.startswith(".") else "." + entry):
            return True
    return False


def check_proxy_env(ctx: Context) -> list[Check]:
    out: list[Check] = []
    https, http_, all_ = ctx.var("HTTPS_PROXY"), ctx.var("HTTP_PROXY"), ctx.var("ALL_PROXY")
    no_proxy = ctx.var("NO_PROXY") or ""
    gw_proxy = ctx.proxy_addr()
    # Clients pointed at http://127.0.0.1:41002/v1 use HTTP_PROXY (or ALL_PROXY) for that URL.
    for name, value in (("HTTP_PROXY", http_), ("ALL_PROXY", all_)):
        if value and not _points_at(value, gw_proxy) and not _no_proxy_matches(no_proxy, "127.0.0.1") \
                and not _no_proxy_matches(no_proxy, "localhost"):
            out.append(Check("proxy_env", FAIL, f"{name}={mask_url(value)} would carry requests for {ctx.base_url()} "
                                                "to another proxy instead of the gateway",
                             "export NO_PROXY=127.0.0.1,localhost,::1" + (f",{no_proxy}" if no_proxy else "")))
            break
    https_like = https or all_
    if https_like and _points_at(https_like, gw_proxy):
        if _no_proxy_matches(no_proxy, "api.openai.com"):
            out.append(Check("proxy_env", FAIL, f"NO_PROXY ({no_proxy}) covers api.openai.com: OpenAI requests skip "
                                                "the gateway's explicit proxy", "remove that entry from NO_PROXY"))
        else:
            out.append(Check("proxy_env", OK, f"HTTPS_PROXY points at the gateway's explicit proxy ({mask_url(https_like)})"))
    elif https_like:
        out.append(Check("proxy_env", WARN, f"HTTPS_PROXY={mask_url(https_like)} is another proxy: clients not pointed at "
                                            "the gateway by base URL send OpenAI traffic there, around the gateway",
                         f"point clients at {ctx.base_url()} (openai_base_url), or HTTPS_PROXY at the gateway "
                         f"(http://127.0.0.1:{gw_proxy[1]})"))
    if not out:
        out.append(Check("proxy_env", OK, "No proxy variables route traffic around the gateway"))
    return out


def run_all(ctx: Context) -> list[Check]:
    probe_gateway(ctx)   # first: a running gateway decides which config, upstream and key are checked
    checks = [check_config(ctx), check_listen(ctx), check_proxy_port(ctx), check_upstream(ctx), check_provider_key(ctx),
              check_identity(ctx)]
    checks += check_ca(ctx)
    checks.append(check_audit(ctx))
    checks.append(check_codex(ctx))
    checks += check_proxy_env(ctx)
    return checks
