"""One loaded policy config and everything derived from it, swapped whole on reload."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .chain import Chain
from .config import DEFAULT_INTERCEPT_HOSTS, Config
from .policies import PolicyContext


@dataclass
class Upstream:
    scheme: str
    host: str
    port: int
    prefix: str = ""     # path prefix of the base URL, without a trailing /v1

    @classmethod
    def parse(cls, url: str) -> "Upstream":
        u = urlsplit(url if "://" in url else f"https://{url}")
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"invalid upstream URL {url!r}: expected http(s)://host[:port]")
        prefix = u.path.rstrip("/")
        if prefix.endswith("/v1"):
            prefix = prefix[:-3]
        return cls(u.scheme, u.hostname, u.port or (443 if u.scheme == "https" else 80), prefix)

    @property
    def url(self) -> str:
        default = 443 if self.scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}{self.prefix}"


@dataclass
class Runtime:
    config: Config
    chain: Chain
    fail_mode: str
    upstream: Upstream
    upstream_overridden: bool
    intercept_hosts: list[str]
    egress_allowlist: list[str]
    unknown_endpoints: str
    max_body_bytes: int
    binary_payloads: dict
    allowed_hosts: list[str]
    allowed_origins: list[str]
    require_identity: bool
    upstream_timeout: float
    identity: Any = None   # IdentityResolver of this config (tokens, headers, key fingerprints)
    restore: bool = True   # put redacted originals back on the way to the client (both redacting policies agree)
    _intercept_re: list[re.Pattern] = field(default_factory=list)

    @classmethod
    def build(cls, config: Config, context: PolicyContext, upstream_override: str = "", fail_mode: str = "",
              intercept_hosts: str = "") -> "Runtime":
        gw = config.gateway
        override = upstream_override or os.environ.get("KEEPTRUSTS_UPSTREAM_URL", "")
        upstream = Upstream.parse(override or config.upstream_url())
        fm = fail_mode or gw.get("fail_mode") or "block"
        if fm not in ("block", "allow"):
            raise ValueError(f"fail mode must be block or allow, got {fm!r}")
        hosts = [h.strip() for h in intercept_hosts.split(",") if h.strip()] if intercept_hosts else \
            list(gw.get("intercept_hosts") or DEFAULT_INTERCEPT_HOSTS)
        rt = cls(
            config=config, chain=Chain(config, context, fm), fail_mode=fm, upstream=upstream,
            upstream_overridden=bool(override), intercept_hosts=hosts,
            egress_allowlist=list(gw.get("egress_allowlist") or []),
            unknown_endpoints=gw.get("unknown_endpoints") or "block",   # closed world: refuse what we do not model
            binary_payloads=dict(gw.get("binary_payloads") or {}),
            allowed_hosts=list(gw.get("allowed_hosts") or []),
            allowed_origins=list(gw.get("allowed_origins") or []),
            max_body_bytes=int(float(gw.get("max_body_mb") or 32) * 1024 * 1024),
            require_identity=bool(gw.get("require_identity", False)),
            upstream_timeout=float(gw.get("upstream_timeout_seconds") or 600),
        )
        rt._intercept_re = [_host_pattern(h) for h in hosts]
        from .identity import IdentityResolver
        rt.identity = IdentityResolver(config)
        rt.restore = all(config.policy_options.get(k, {}).get("restore", True)
                         for k in ("code-sanitation", "pii-detector"))
        return rt

    def intercepts(self, host: str) -> bool:
        return any(p.fullmatch(host or "") for p in self._intercept_re)

    def egress_allowed(self, host: str) -> bool:
        if not self.egress_allowlist:
            return True
        return self.intercepts(host) or any(_host_pattern(h).fullmatch(host or "") for h in self.egress_allowlist)


def _host_pattern(h: str) -> re.Pattern:
    """`api.openai.com` exact, `*.openai.com` any subdomain."""
    return re.compile(re.escape(h.lower()).replace(r"\*", r"[^.]+(?:\.[^.]+)*"), re.IGNORECASE)
