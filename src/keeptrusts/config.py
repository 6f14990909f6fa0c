"""policy-config.yaml: strict loading of the Keeptrusts config shape (reference section 1).

`load_config(path)` returns a Config or raises ConfigError carrying every problem found, each
with its key path, file line and column, and a "did you mean" where one fits. `kt policy lint`
prints the same errors, so lint catches everything the gateway would refuse.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any as _Any

import yaml

from .identity import BUDGETS_SCHEMA, IDENTITY_SCHEMA
from .otel import OTEL_SCHEMA
from .policies import REGISTRY, canonical_kind
from .pricing import PRICING_SCHEMA
from .schema import Any, Choice, ListOf, MapOf, Number, OneOf, Required, SchemaError, suggest, validate

TARGET_SCHEMA = Required({
    "id": str,
    "provider": str,
    "model": str,
    "base_url": str,
    "secret_key_ref": OneOf(Required({"env": str}, {"env"}), Required({"store": str}, {"store"})),
    "api_key": str,
    "api_key_header": str,
    "api_key_prefix": str,
    "provider_type": str,
    "format": str,
    "data_policy": {"zero_data_retention": bool, "training_opt_out": bool, "retention_days": int},
    "zdr": bool,
    "data_collection": Choice("allow", "deny"),
    "escalation_routing": {"team_id": str, "user_id": str},
    # Prices in USD per million tokens (input, cached_input, output), flat or per model.
    "pricing": PRICING_SCHEMA,
}, {"id", "provider"})

# Gateway settings beyond the reference (the legacy docs had `gateway.listen_port`).
GATEWAY_SCHEMA = {
    "listen": str,
    "proxy_listen": str,
    "listen_port": int,
    "fail_mode": Choice("block", "allow"),
    "intercept_hosts": ListOf(str),
    "egress_allowlist": ListOf(str),
    "unknown_endpoints": Choice("forward", "block"),
    "allowed_hosts": ListOf(str),
    "allowed_origins": ListOf(str),
    "binary_payloads": {"images": Choice("allow", "block"), "files": Choice("allow", "block")},
    "max_body_mb": Number,
    "audit_db": str,
    "require_identity": bool,
    "upstream_timeout_seconds": Number,
}

TOP_LEVEL_SCHEMA: dict = {
    "pack": Required({"name": str, "version": str, "enabled": bool, "id": str, "author": str, "description": str},
                     {"name", "version", "enabled"}),
    "policies": Required({"chain": ListOf(str)}, {"chain"}),
    "policy": MapOf(Any),  # each block is validated by its policy class's schema
    "providers": {
        "strategy": str,
        "targets": ListOf(TARGET_SCHEMA),
        "fallback": MapOf(Any),
        "routing": MapOf(Any),
        "circuit_breaker": Any,
        "mirror": MapOf(Any),
        "ab_test": MapOf(Any),
    },
    "agents": Any,
    "testing": {
        "default_threshold": Number, "plugins": ListOf(Any), "strategies": ListOf(Any),
        "suites": ListOf(Required({"name": str, "description": str, "target": str, "assertions": ListOf(Any),
                                   "cases": ListOf(Any)}, {"name", "cases"})),
    },
    "gateway": GATEWAY_SCHEMA,
    "identity": IDENTITY_SCHEMA,
    "budgets": BUDGETS_SCHEMA,
    "audit": {"otel": OTEL_SCHEMA},    # OpenTelemetry export of exchanges (otel.py), off by default
}

DEFAULT_UPSTREAM = "https://api.openai.com"
# chatgpt.com: Codex signed in with ChatGPT sends its prompts to chatgpt.com/backend-api/codex/...
DEFAULT_INTERCEPT_HOSTS = ["api.openai.com", "chatgpt.com"]


class ConfigError(Exception):
    def __init__(self, file: str, errors: list[SchemaError]):
        self.file = file
        self.errors = errors
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.errors)
        lines = [f"X {self.file} has {n} error{'s' if n != 1 else ''}"]
        for e in self.errors:
            lines.append(f"error[{e.code}]: {e.message}")
            loc = f" ({self.file}:{e.line}:{e.column})" if e.line else ""
            lines.append(f"--> {e.path}{loc}")
            if e.suggestion:
                lines.append(f"help: {e.suggestion}")
        return "\n".join(lines)

    def first_line(self) -> str:
        e = self.errors[0]
        where = f"{self.file}:{e.line}:{e.column}" if e.line else self.file
        return f"{where}: error[{e.code}] {e.message} at {e.path}" + (f" ({e.suggestion})" if e.suggestion else "")


@dataclass
class Config:
    file: str
    raw: dict
    pack: dict
    chain: list[str]                       # canonical kinds, in order
    policy_options: dict[str, dict]        # canonical kind -> options
    providers: dict
    gateway: dict
    warnings: list[SchemaError] = field(default_factory=list)

    @property
    def name_version(self) -> str:
        return f"{self.pack.get('name')}@{self.pack.get('version')}"

    @property
    def enabled(self) -> bool:
        return bool(self.pack.get("enabled", True))

    def target(self) -> dict:
        targets = self.providers.get("targets") or []
        return targets[0] if targets else {"id": "openai", "provider": "openai", "base_url": DEFAULT_UPSTREAM}

    def upstream_url(self) -> str:
        url = (self.target().get("base_url") or DEFAULT_UPSTREAM).rstrip("/")
        return url[:-3] if url.endswith("/v1") else url

    def provider_key(self) -> str | None:
        """The provider API key from `secret_key_ref.env` (or a literal `api_key`), if configured."""
        t = self.target()
        ref = t.get("secret_key_ref") or {}
        if "env" in ref:
            return os.environ.get(ref["env"]) or None
        return t.get("api_key")

    def masked(self) -> dict:
        """The config for `GET /keeptrusts/config`: literal secrets masked."""
        doc = copy.deepcopy(self.raw)
        for t in (doc.get("providers") or {}).get("targets") or []:
            if isinstance(t, dict) and t.get("api_key"):
                t["api_key"] = "***"
        return doc


# ---------------------------------------------------------------------------------------------
# YAML with positions

class _Loader(yaml.SafeLoader):
    pass


def _positions(text: str) -> tuple[_Any, dict[str, tuple[int, int]], list[SchemaError]]:
    """Parse YAML and record the line/column of every key path; report duplicate keys."""
    node = yaml.compose(text, Loader=_Loader)
    marks: dict[str, tuple[int, int]] = {}
    dupes: list[SchemaError] = []

    def walk(n: yaml.Node, path: str) -> None:
        marks.setdefault(path, (n.start_mark.line + 1, n.start_mark.column + 1))
        if isinstance(n, yaml.MappingNode):
            seen: set = set()
            for k, v in n.value:
                key = k.value
                sub = f"{path}.{key}" if path else str(key)
                if key in seen:
                    dupes.append(SchemaError("E006", sub, f"Duplicate key '{key}'", "Remove one of the two entries",
                                             k.start_mark.line + 1, k.start_mark.column + 1))
                seen.add(key)
                marks[sub] = (k.start_mark.line + 1, k.start_mark.column + 1)
                walk(v, sub)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, f"{path}[{i}]")

    if node is not None:
        walk(node, "")
    data = yaml.load(text, Loader=_Loader) if node is not None else None
    return data, marks, dupes


def _parent(path: str) -> str:
    """`a.b[2].c` -> `a.b[2]` -> `a.b` -> `a` -> ``."""
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def _locate(errors: list[SchemaError], marks: dict[str, tuple[int, int]]) -> None:
    """Give each error the line/column of its key path, or of the nearest enclosing key that exists."""
    for e in errors:
        if e.line:
            continue
        p = e.path
        while p and p not in marks:
            p = _parent(p)
        if p in marks:
            e.line, e.column = marks[p]


def _single_to_full(doc: dict) -> dict:
    """A SinglePolicyDocument (`policy: {name, version, enabled}` + kind blocks) as a ConfigDocument."""
    meta = doc["policy"]
    kind = meta.get("name")
    options = {k: v for k, v in doc.items() if k != "policy"}
    return {
        "pack": {"name": kind, "version": meta.get("version"), "enabled": meta.get("enabled")},
        "policies": {"chain": [kind]},
        "policy": {kind: options},
    }


def parse_config(text: str, file: str = "policy-config.yaml", env: dict | None = None) -> Config:
    try:
        data, marks, errors = _positions(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        err = SchemaError("E000", "", f"YAML syntax error: {getattr(exc, 'problem', None) or exc}",
                          "Fix the YAML syntax at that position",
                          mark.line + 1 if mark else None, mark.column + 1 if mark else None)
        raise ConfigError(file, [err]) from None
    if data is None:
        raise ConfigError(file, [SchemaError("E005", "pack", "The config file is empty",
                                             "Start from policies/codex-cli.yaml or run `kt init`")])
    if not isinstance(data, dict):
        raise ConfigError(file, [SchemaError("E004", "", f"The config must be a mapping, got {type(data).__name__}",
                                             None, 1, 1)])
    single = (isinstance(data.get("policy"), dict) and isinstance(data["policy"].get("name"), str)
              and "pack" not in data)
    warnings: list[SchemaError] = []
    if single:
        kind = data["policy"]["name"]
        cls = REGISTRY.get(kind)
        validate(data["policy"], Required({"name": str, "version": str, "enabled": bool}, {"name", "version", "enabled"}),
                 "policy", errors)
        if cls is None:
            hint = suggest(kind, REGISTRY)
            errors.append(SchemaError("E001", "policy.name", f"Unknown policy kind '{kind}'",
                                      f"Did you mean '{hint}'?" if hint else None))
        elif not cls.single_document:
            allowed = sorted(k for k, c in REGISTRY.items() if c.single_document and k == c.kind)
            errors.append(SchemaError("E007", "policy.name",
                                      f"Policy kind '{kind}' cannot be used as a single-policy document",
                                      f"Single-policy documents are allowed for: {', '.join(allowed)}; "
                                      "use the pack/policies.chain shape"))
        if not errors:
            data = _single_to_full(data)
    else:
        validate(data, Required(TOP_LEVEL_SCHEMA, {"pack", "policies"}), "", errors)

    chain: list[str] = []
    options: dict[str, dict] = {}
    if not errors or isinstance((data.get("policies") or {}), dict):
        raw_chain = (data.get("policies") or {}).get("chain") or [] if isinstance(data.get("policies"), dict) else []
        blocks = data.get("policy") or {}
        if not isinstance(blocks, dict):
            blocks = {}
        for i, kind in enumerate(raw_chain if isinstance(raw_chain, list) else []):
            if not isinstance(kind, str):
                continue
            if kind not in REGISTRY:
                hint = suggest(kind, REGISTRY)
                errors.append(SchemaError("E001", f"policies.chain[{i}]", f"Unknown policy kind '{kind}'",
                                          f"Did you mean '{hint}'?" if hint else
                                          "Known kinds: " + ", ".join(sorted(c.kind for c in REGISTRY.values()))))
                continue
            canon = canonical_kind(kind)
            if canon in chain:
                errors.append(SchemaError("E008", f"policies.chain[{i}]", f"Policy kind '{kind}' appears twice in the chain",
                                          "List each policy once"))
                continue
            chain.append(canon)
            block_key = kind if kind in blocks else next((a for a in (canon, *REGISTRY[canon].aliases) if a in blocks), None)
            if block_key is None:
                # The reference's lint calls this E003; its own Codex guide ships chains without blocks,
                # so we run the policy with defaults and warn.
                warnings.append(SchemaError("W003", f"policies.chain[{i}]",
                                            f"Policy '{kind}' is in chain but has no config block; defaults apply"))
        for key, block in blocks.items():
            if key not in REGISTRY:
                hint = suggest(key, REGISTRY)
                errors.append(SchemaError("E001", f"policy.{key}", f"Unknown policy kind '{key}'",
                                          f"Did you mean '{hint}'?" if hint else None))
                continue
            canon = canonical_kind(key)
            block = block if block is not None else {}
            validate(block, REGISTRY[canon].options_schema, f"policy.{key}", errors)
            options[canon] = block if isinstance(block, dict) else {}
            if canon not in chain and canon not in [canonical_kind(k) for k in raw_chain if k in REGISTRY]:
                warnings.append(SchemaError("W001", f"policy.{key}",
                                            f"Policy '{key}' is configured but not in policies.chain, so it does not execute"))
        targets = ((data.get("providers") or {}).get("targets") or []) if isinstance(data.get("providers"), dict) else []
        seen_ids: set = set()
        for i, t in enumerate(targets if isinstance(targets, list) else []):
            if isinstance(t, dict) and t.get("id") in seen_ids:
                errors.append(SchemaError("E009", f"providers.targets[{i}].id", f'duplicate target id "{t["id"]}"',
                                          "Give every target a unique id"))
            if isinstance(t, dict):
                seen_ids.add(t.get("id"))
    errors.extend(e for e in ([] if not single else []) if e)
    all_errors = errors
    _locate(all_errors, marks)
    _locate(warnings, marks)
    if all_errors:
        raise ConfigError(file, all_errors)
    return Config(
        file=file, raw=data, pack=data.get("pack") or {}, chain=chain, policy_options=options,
        providers=data.get("providers") or {}, gateway=data.get("gateway") or {}, warnings=warnings,
    )


def load_config(path: str | os.PathLike) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), [SchemaError("E010", "", f"Config file not found: {path}",
                                                  "Pass --policy-config with an existing file (see policies/)")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [SchemaError("E010", "", f"Cannot read config file: {exc}", None)]) from None
    return parse_config(text, str(path))
