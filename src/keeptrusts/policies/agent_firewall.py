"""agent-firewall: judges the tool calls the model emits before the agent runs them (reference 2.9).

Tool-name rules (`allowed_tools` / `blocked_tools`, role lists, rate limits, per-session caps) come
from the reference. Because Codex sends every command through one shell tool, the firewall also
parses what each call would do (keeptrusts.toolcalls) and judges every simple command with
command / path / network rules: the built-in set in rules/agent_firewall.yaml plus the `rules` of
the config (checked first, so a config rule can `allow` what a default would block).
"""
from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import threading
import time
from collections import OrderedDict, deque
from functools import lru_cache
from importlib import resources

import yaml

from ..exchange import USER, Exchange, OutputItem
from ..schema import Any, Choice, ListOf, MapOf, Number
from ..toolcalls.actions import extract_actions
from ..toolcalls.paths import PathJudge, guess_home
from ..toolcalls.rules import MATCH_KEYS, Context, Match, Rule, RuleError, judge_commands
from ..toolcalls.shell import DYN
from ..verdicts import BLOCK, FLAG, Finding, Verdict
from .base import Policy

RULE_SCHEMA = {
    "id": str,
    "action": Choice("block", "warn", "flag", "allow"),
    "message": str,
    "tools": ListOf(str),
    "match": {k: Any for k in MATCH_KEYS},
}
DEFAULT_ALLOWED_HOSTS = [
    "localhost", "*.localhost", "127.0.0.1", "::1", "0.0.0.0", "host.docker.internal",
    "github.com", "*.github.com", "*.githubusercontent.com", "gitlab.com", "*.gitlab.com", "bitbucket.org",
    "pypi.org", "upload.pypi.org", "test.pypi.org", "registry.npmjs.org", "registry.yarnpkg.com",
]
DEFAULT_GATEWAY_PORTS = [41002, 41003]
DEFAULT_GATEWAY_PROCESSES = ["mitmdump", "mitmproxy", "mitmweb", "keeptrusts", "kt gateway"]
# Infrastructure guard rails: which targets count as production (context names, URL/host globs, env
# var names). Configurable under `infrastructure.production`.
DEFAULT_PRODUCTION = {"contexts": ["*prod*", "*production*", "*live*"],
                      "hosts": ["*prod*", "*production*", "*live*"],
                      "env_vars": ["*PROD*", "*PRODUCTION*", "*LIVE*"]}
DEFAULT_PROTECTED_BRANCHES = ["main", "master", "trunk", "develop", "production", "prod", "release", "release/*",
                              "release-*"]
CWD_RE = re.compile(r"<cwd>\s*([^<\n]+?)\s*</cwd>")
MAX_SESSIONS = 10_000
MAX_SHOWN = 200   # characters of a command quoted in a verdict message
MAX_REMEMBERED = 2000  # files (all sessions) whose content the firewall remembers from apply_patch adds
MAX_REMEMBERED_CHARS = 16_384


@lru_cache(maxsize=1)
def default_ruleset() -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    """The shipped rules and sensitive path list (parsed once per process)."""
    text = resources.files("keeptrusts.policies").joinpath("rules/agent_firewall.yaml").read_text()
    data = yaml.safe_load(text)
    rules = tuple(Rule.from_dict(r, f"default rule {i}") for i, r in enumerate(data["rules"]))
    return rules, tuple(data.get("sensitive_paths", []))


class _Sessions:
    """Bounded per-session counters: actions, blocked actions, call times per tool."""

    def __init__(self, max_sessions: int = MAX_SESSIONS):
        self._data: OrderedDict[str, dict] = OrderedDict()
        self._max = max_sessions
        self.lock = threading.Lock()
        self._written_order: deque[tuple[str, str]] = deque()   # (session, path), oldest first

    def remember_written(self, key: str, path: str, text: str) -> None:
        written = self.get(key)["written"]
        written[path] = text[:MAX_REMEMBERED_CHARS]
        self._written_order.append((key, path))
        while len(self._written_order) > MAX_REMEMBERED:
            k, p = self._written_order.popleft()
            old = self._data.get(k)
            if old is not None and (k, p) not in self._written_order:
                old["written"].pop(p, None)

    def get(self, key: str) -> dict:
        s = self._data.get(key)
        if s is None:
            s = {"actions": 0, "blocked": 0, "times": {}, "workspace": None, "written": {}}
            self._data[key] = s
            if len(self._data) > self._max:
                self._data.popitem(last=False)
        else:
            self._data.move_to_end(key)
        return s


class AgentFirewall(Policy):
    kind = "agent-firewall"
    phases = ("input", "output")
    single_document = True
    options_schema = {
        # reference, simple form
        "allowed_tools": ListOf(str),
        "blocked_tools": ListOf(str),
        "denied_tools": ListOf(str),
        "max_actions_per_session": int,
        # reference, expanded form
        "tools": {"roles": MapOf({"allowed": ListOf(str), "denied": ListOf(str)}),
                  "allowed": ListOf(str), "denied": ListOf(str)},
        "rate_limits": MapOf(Number),
        "rate_limit": {"max_calls_per_minute": Number, "max_calls_per_session": Number},
        "transaction_limits": MapOf(Number),
        "transaction_limit": MapOf(Number),
        "kill_switches": {"max_errors_before_halt": int, "halt_on_pii_in_action": bool,
                          "halt_on_suspicious_pattern": bool},
        "monitoring": {"alert_on_denied_action": bool, "alert_on_rate_limit": bool,
                       "alert_threshold_percent": Number},
        # keeptrusts gateway: command / path / network rules
        "rules": ListOf(RULE_SCHEMA),
        "default_rules": bool,
        "disable_rules": ListOf(str),
        "allowed_hosts": ListOf(str),
        "protected_branches": ListOf(str),
        "sensitive_paths": ListOf(str),
        "workspace": str,
        "role_header": str,
        # self-protection: the gateway's own files, ports and processes (added to the built-in ones)
        "protected_paths": ListOf(str),
        "gateway_ports": ListOf(int),
        # destructive cloud / cluster / database / repository operations
        "infrastructure": {"action": Choice("warn", "block", "allow"),
                           "production_action": Choice("warn", "block", "allow"),
                           "production": {"contexts": ListOf(str), "hosts": ListOf(str), "env_vars": ListOf(str)}},
    }

    def __init__(self, options=None, context=None):
        super().__init__(options, context)
        o = self.options
        user_rules = [Rule.from_dict(r, f"policy.agent-firewall.rules[{i}]") for i, r in enumerate(o.get("rules", []))]
        defaults, sensitive = default_ruleset() if o.get("default_rules", True) else ((), ())
        disabled = set(o.get("disable_rules", []))
        unknown = disabled - {r.id for r in defaults}
        if unknown and o.get("default_rules", True):
            raise RuleError(f"policy.agent-firewall.disable_rules: no default rule named {', '.join(sorted(unknown))}")
        infra = o.get("infrastructure") or {}
        acts = {"infra": infra.get("action", "warn"), "infra-prod": infra.get("production_action",
                                                                             infra.get("action", "warn"))}
        defaults = tuple(_with_action(r, acts) for r in defaults)
        self.rules: list[Rule] = user_rules + [r for r in defaults if r.id not in disabled]
        prod = {k: list(v) + list((infra.get("production") or {}).get(k, [])) for k, v in DEFAULT_PRODUCTION.items()}
        self.lists = {
            "@sensitive": list(sensitive) + list(o.get("sensitive_paths", [])),
            "@allowed_hosts": DEFAULT_ALLOWED_HOSTS + list(o.get("allowed_hosts", [])),
            "@protected_branches": list(o.get("protected_branches", DEFAULT_PROTECTED_BRANCHES)),
            "@gateway_files": gateway_files(self.context) + list(o.get("protected_paths", [])),
            "@gateway_ports": DEFAULT_GATEWAY_PORTS + list(o.get("gateway_ports", [])),
            "@gateway_processes": list(DEFAULT_GATEWAY_PROCESSES),
            "@production_contexts": prod["contexts"],
            "@production_hosts": prod["hosts"],
            "@production_env": prod["env_vars"],
        }
        self.allowed_tools = list(o.get("allowed_tools", []))
        self.blocked_tools = list(o.get("blocked_tools", [])) + list(o.get("denied_tools", []))
        tools = o.get("tools") or {}
        self.allowed_tools += list(tools.get("allowed", []))
        self.blocked_tools += list(tools.get("denied", []))
        self.roles = tools.get("roles") or {}
        rl = o.get("rate_limit") or {}
        self.max_actions = o.get("max_actions_per_session") or rl.get("max_calls_per_session")
        self.rate_limits = dict(o.get("rate_limits") or {})
        if rl.get("max_calls_per_minute"):
            self.rate_limits.setdefault("default", rl["max_calls_per_minute"])
        ks = o.get("kill_switches") or {}
        self.max_errors = ks.get("max_errors_before_halt")
        self.sessions = _Sessions()

    # ---- hooks --------------------------------------------------------------------------
    def request(self, exchange: Exchange) -> Verdict:
        # Remember the workspace Codex announces (<cwd> in its environment_context message);
        # later WebSocket turns carry only new items.
        ws = self._find_cwd(exchange)
        if ws:
            with self.sessions.lock:
                self.sessions.get(self._session_key(exchange))["workspace"] = ws
        return self.allow(phase="input")

    def output_item(self, exchange: Exchange, item: OutputItem) -> Verdict:
        if not item.is_tool_call:
            return self.allow(phase="output")
        tool = item.name or item.kind
        key = self._session_key(exchange)
        with self.sessions.lock:
            session = self.sessions.get(key)
            limit = self._limits(exchange, tool, session)
        if limit:
            return self._deny(session, limit[0], limit[1], tool, item)
        workspace = self._workspace(exchange, session)
        home = self.context.extra.get("home") or guess_home(workspace)
        actions = extract_actions(item.kind, item.name, item.text, workspace, home, written=session["written"])
        judge = PathJudge(workspace, home)
        matches: list[tuple[Match, str]] = []
        for action in actions:
            ctx = Context(judge, self.lists, action.source)
            matches += [(m, action.source) for m in judge_commands(self.rules, action.tool, action.commands, ctx)]
        if not matches or all(m.rule.action != "block" for m, _ in matches):
            self._remember_added_files(key, actions)
        if not matches:
            return self.allow(phase="tool")
        for m, src in matches[:8]:   # name the effect each rule judged ("deletes /home/dev via xargs")
            if m.effects is not None:
                ctx = Context(judge, self.lists, src)
                m.effect = m.rule.effect(m.command, m.effects, ctx)
        findings = [Finding(type=m.rule.id, action=BLOCK if m.rule.action == "block" else FLAG, where=f"output[{item.index}]",
                            rule=m.rule.id, evidence=_show((m.effect + ": " if m.effect else "") +
                                                           (m.command.text or " ".join(m.command.argv) or src)))
                    for m, src in matches]
        findings.sort(key=lambda f: f.action != BLOCK)   # the blocking findings first, in rule order
        blocking = next(((m, src) for m, src in matches if m.rule.action == "block"), None)
        if blocking:
            m, src = blocking
            with self.sessions.lock:
                session["blocked"] += 1
            shown = _show(src if m.command.via in ("apply_patch",) or len(src) <= MAX_SHOWN else
                          (m.command.text or src))
            what = m.effect or m.rule.message   # the effect judged, in words; else what the rule is about
            msg = f"Blocked by keeptrusts agent-firewall: {m.rule.id}: {_show(what)}: {shown}"
            return self.verdict(BLOCK, m.rule.id, msg, phase="tool", findings=findings)
        m, src = matches[0]
        what = m.effect or m.rule.message
        return self.verdict(FLAG, m.rule.id, f"keeptrusts agent-firewall warning: {m.rule.id}: {_show(what)}: {_show(src)}",
                            phase="tool", findings=findings)

    # ---- tool-name rules, caps, rate limits ------------------------------------------------
    def _limits(self, exchange: Exchange, tool: str, session: dict) -> tuple[str, str] | None:
        """(rule, reason) when the call is refused before looking at its arguments."""
        if self.max_errors and session["blocked"] >= self.max_errors:
            return "kill_switch", f"{session['blocked']} actions blocked in this session (max_errors_before_halt)"
        if any(fnmatch.fnmatchcase(tool, g) for g in self.blocked_tools):
            return "blocked_tool", f"tool {tool} is blocked"
        if self.allowed_tools and not any(fnmatch.fnmatchcase(tool, g) for g in self.allowed_tools):
            return "tool_not_allowed", f"tool {tool} is not in allowed_tools"
        role = exchange.headers.get(self.options.get("role_header", "x-keeptrusts-role"), "")
        if self.roles:
            spec = self.roles.get(role) or self.roles.get("default")
            if spec is None:
                return "role_not_allowed", f"no tool rules for role {role or '(none)'}"
            if any(fnmatch.fnmatchcase(tool, g) for g in spec.get("denied", [])):
                return "role_denied_tool", f"tool {tool} is denied for role {role or 'default'}"
            if spec.get("allowed") and not any(fnmatch.fnmatchcase(tool, g) for g in spec["allowed"]):
                return "role_denied_tool", f"tool {tool} is not allowed for role {role or 'default'}"
        session["actions"] += 1
        if self.max_actions and session["actions"] > self.max_actions:
            return "max_actions_per_session", f"more than {self.max_actions} tool calls in this session"
        per_min = self.rate_limits.get(tool, self.rate_limits.get("default"))
        if per_min:
            now = time.monotonic()
            times = session["times"].setdefault(tool, deque(maxlen=int(per_min) + 1))
            while times and now - times[0] > 60:
                times.popleft()
            times.append(now)
            if len(times) > per_min:
                return "rate_limit", f"more than {int(per_min)} {tool} calls per minute"
        return None

    def _remember_added_files(self, key: str, actions) -> None:
        """Files a released patch adds (path -> content), so `bash run.sh` in a later call is judged
        by what run.sh says. Bounded: MAX_REMEMBERED files over all sessions, each cut at 16 KB."""
        for action in actions:
            for op in action.file_ops:
                if op.op == "add" and op.added_text:
                    path = op.path if op.path.startswith("/") else posixpath.join(action.workdir or "", op.path)
                    with self.sessions.lock:
                        self.sessions.remember_written(key, posixpath.normpath(path), op.added_text)

    def _deny(self, session: dict, rule: str, reason: str, tool: str, item: OutputItem) -> Verdict:
        with self.sessions.lock:
            session["blocked"] += 1
        f = Finding(type=rule, action=BLOCK, where=f"output[{item.index}]", rule=rule, evidence=tool)
        return self.verdict(BLOCK, rule, f"Blocked by keeptrusts agent-firewall: {rule}: {reason}",
                            phase="tool", findings=[f])

    # ---- workspace and session --------------------------------------------------------------
    @staticmethod
    def _session_key(exchange: Exchange) -> str:
        return exchange.session_id or f"dev:{exchange.developer or 'default'}"

    @staticmethod
    def _find_cwd(exchange: Exchange) -> str | None:
        for seg in exchange.segments:
            if seg.kind == USER and "<cwd>" in seg.text:
                m = CWD_RE.search(seg.text)
                if m:
                    return m.group(1)
        return None

    def _workspace(self, exchange: Exchange, session: dict) -> str | None:
        return (self.options.get("workspace") or exchange.meta.get("workspace") or self._find_cwd(exchange)
                or session.get("workspace") or self.context.workspace)


def _with_action(rule: Rule, acts: dict[str, str]) -> Rule:
    """Infrastructure rules carry a category instead of a fixed action (`infra`, `infra-prod`):
    warn by default, block where the config (the strict pack) says so."""
    if rule.action in ("warn", "block", "allow") and not rule.id.startswith("infra-"):
        return rule
    want = acts["infra-prod"] if rule.id.startswith("infra-prod-") else acts["infra"]
    if want == rule.action:
        return rule
    import dataclasses
    return dataclasses.replace(rule, action=want)


def gateway_files(context) -> list[str]:
    """The gateway's own files, which an agent must not write, delete, move or chmod: the state dir
    (CA key, tokens, HMAC key, audit DB), the running policy file and its directory, the certs dir,
    and the Codex config that points Codex at the gateway."""
    out = ["~/.keeptrusts/**", "~/.codex/config.toml", "~/.codex/*.toml", "**/.codex/config.toml",
           "**/policy-config.yaml", "**/keeptrusts/certs/**", "**/mitmproxy-ca*.pem", "**/mitmproxy-ca*.p12",
           "~/.mitmproxy/**"]
    for env in ("KEEPTRUSTS_HOME", "KEEPTRUSTS_STATE_DIR"):
        if os.environ.get(env):
            out.append(os.environ[env].rstrip("/") + "/**")
    for env in ("KEEPTRUSTS_AUDIT_DB",):
        if os.environ.get(env):
            out += [os.environ[env], os.environ[env] + "-*"]
    if os.environ.get("KEEPTRUSTS_CERTS"):
        out.append(os.environ["KEEPTRUSTS_CERTS"].rstrip("/") + "/**")
    if os.environ.get("CODEX_HOME"):
        out.append(os.environ["CODEX_HOME"].rstrip("/") + "/config.toml")
    if getattr(context, "state_dir", None):
        out.append(str(context.state_dir).rstrip("/") + "/**")
    extra = getattr(context, "extra", {}) or {}
    for key in ("config_path", "policy_config"):
        if extra.get(key):   # the running policy file and the directory it lives in
            path = os.path.abspath(str(extra[key]))
            out.append(path)
            # its directory too when it is a directory of policies, not a project the agent works in
            if os.path.basename(os.path.dirname(path)) in ("policies", ".keeptrusts", "keeptrusts", "etc"):
                out.append(os.path.dirname(path) + "/**")
    for key in ("audit_db", "certs_dir", "codex_home"):
        if extra.get(key):
            v = str(extra[key]).rstrip("/")
            out += [v, v + "/**"] if key != "audit_db" else [v, v + "-*"]
    return list(dict.fromkeys(out))


def _show(text: str) -> str:
    text = " ".join(text.replace(DYN, "$").split())
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 1] + "…"


__all__ = ["AgentFirewall", "default_ruleset"]
