"""Command rules as data: compile `{id, action, message, tools, match}` dicts into matchers and
judge simple commands with them. The condition keys are documented in docs/agent-firewall.md and
at the top of policies/rules/agent_firewall.yaml."""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from .effects import Effects, effects_of, positionals
from .paths import PathJudge
from .shell import DYN, SimpleCommand

ACTIONS = ("block", "warn", "allow")
PATH_KEYS = ("paths", "reads", "writes", "deletes", "executes", "chmods")
EFFECT_KEYS = ("signals", "persists", "runs_fetched", "production")
MATCH_KEYS = ("command", "not_command", "subcommand", "flags", "args", "not_args", "argv", "text", "script",
              "fed_by", "executes_input", "via", "assigns", "dynamic", "branch", "network") + PATH_KEYS + EFFECT_KEYS
VERBS = {"paths": "touches", "reads": "reads", "writes": "writes", "deletes": "deletes", "executes": "executes",
         "chmods": "changes the mode of"}


LIST_KEYS = ("command", "not_command", "subcommand", "flags", "args", "not_args", "fed_by", "via", "assigns")


class RuleError(ValueError):
    pass


@dataclass
class Context:
    """What a rule may consult besides the command: paths, named lists, the whole script."""

    judge: PathJudge
    lists: dict[str, list[str]] = field(default_factory=dict)   # "@sensitive", "@allowed_hosts", ...
    script: str = ""


@dataclass
class Rule:
    id: str
    action: str
    message: str
    tools: list[str]
    match: dict[str, Any]
    _regex: dict[str, re.Pattern] = field(default_factory=dict, repr=False)
    # `command` split into exact names (a set lookup) and globs, so most rules are skipped fast.
    _names: frozenset[str] | None = field(default=None, repr=False)
    _name_globs: tuple[str, ...] = field(default=(), repr=False)
    # Effect fields that must be non-empty for the rule to match (checked before anything else).
    _needs: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_dict(cls, d: dict, where: str = "rule") -> "Rule":
        rid = d.get("id")
        if not isinstance(rid, str) or not rid:
            raise RuleError(f"{where}: every rule needs an id")
        action = d.get("action", "block")
        if action == "flag":
            action = "warn"
        if action not in ACTIONS:
            raise RuleError(f"{where} ({rid}): action must be one of {', '.join(ACTIONS)}, got {action!r}")
        match = d.get("match") or {}
        if not isinstance(match, dict):
            raise RuleError(f"{where} ({rid}): match must be a mapping")
        unknown = set(match) - set(MATCH_KEYS)
        if unknown:
            raise RuleError(f"{where} ({rid}): unknown match key(s) {', '.join(sorted(unknown))}; "
                            f"valid: {', '.join(MATCH_KEYS)}")
        match = dict(match)
        for key in LIST_KEYS:   # `command: rm` means `command: [rm]`
            if isinstance(match.get(key), str):
                match[key] = [match[key]]
            elif key in match and not isinstance(match[key], list):
                raise RuleError(f"{where} ({rid}): match.{key} must be a list of strings")
        tools = d.get("tools") or []
        if isinstance(tools, str):
            tools = [tools]
        if not match and not tools:
            raise RuleError(f"{where} ({rid}): a rule needs `match` or `tools`")
        rule = cls(rid, action, d.get("message") or rid.replace("-", " "), list(tools), dict(match))
        for key in ("argv", "text", "script"):
            if key in match:
                rule._regex[key] = _compile(match[key], where, rid)
        for key in ("args", "not_args", "assigns"):
            if key in match:
                vals = match[key] if isinstance(match[key], list) else [match[key]]
                rule._regex[key] = _compile("|".join(f"(?:{v})" for v in vals), where, rid)
        if "command" in match:
            names = [str(n) for n in match["command"]]
            rule._names = frozenset(n for n in names if not any(c in n for c in "*?["))
            rule._name_globs = tuple(n for n in names if any(c in n for c in "*?["))
        rule._needs = tuple(k for k in PATH_KEYS + ("signals", "persists") if k in match) + \
            (("runs_fetched",) if match.get("runs_fetched") is True else ()) + \
            (("hosts",) if isinstance(match.get("network"), dict) and
             ("hosts" in match["network"] or "hosts_not" in match["network"]) else ())
        return rule

    def could_match(self, names: set[str]) -> bool:
        """The cheap part of `command`: False when no name of the command can fit."""
        if self._names is None:
            return True
        return bool(self._names & names) or any(fnmatch.fnmatchcase(n, g) for n in names for g in self._name_globs)

    # ---- matching -----------------------------------------------------------------------
    def applies_to_tool(self, tool: str) -> bool:
        return not self.tools or any(fnmatch.fnmatchcase(tool, g) for g in self.tools)

    def matches(self, cmd: SimpleCommand, eff: Effects, ctx: Context, names: set[str] | None = None) -> bool:
        for need in self._needs:   # cheapest first: the rule is about an effect this command does not have
            if not getattr(eff, need):
                return False
        m = self.match
        if names is None:   # judge_commands has checked the names already
            names = cmd.names()
            if not self.could_match(names):
                return False
        if "not_command" in m and any(n in m["not_command"] for n in names):
            return False
        if "dynamic" in m and bool(m["dynamic"]) != cmd.dynamic:
            return False
        if "executes_input" in m and bool(m["executes_input"]) != cmd.executes_input():
            return False
        if "fed_by" in m and not (cmd.feeds & set(m["fed_by"])):
            return False
        if "via" in m and not any(fnmatch.fnmatchcase(cmd.via, g) for g in m["via"]):
            return False
        pos = positionals(cmd) if any(k in m for k in ("subcommand", "args", "not_args", "branch")) else []
        if "subcommand" in m and not (pos and pos[0] in m["subcommand"]):
            return False
        if "flags" in m and not all(_has_flag(cmd.args, alt) for alt in m["flags"]):
            return False
        if "args" in m and not any(self._regex["args"].search(a) for a in (pos or cmd.args)):
            return False
        if "not_args" in m and any(self._regex["not_args"].search(a) for a in cmd.args):
            return False
        if "assigns" in m and not any(self._regex["assigns"].search(k) for k in cmd.assigns):
            return False
        if "argv" in m and not self._regex["argv"].search(" ".join(cmd.argv).replace(DYN, "$")):
            return False
        if "text" in m and not self._regex["text"].search(cmd.text or " ".join(cmd.argv)):
            return False
        if "script" in m and not self._regex["script"].search(ctx.script):
            return False
        if "branch" in m and not _branch_matches(pos, cmd.args, m["branch"], ctx.lists.get("@protected_branches", [])):
            return False
        for key in PATH_KEYS:
            if key in m and not self._paths_match(getattr(eff, key), m[key], cmd, ctx):
                return False
        if "network" in m and not _network_matches(eff, m["network"], ctx):
            return False
        if "runs_fetched" in m and bool(m["runs_fetched"]) != eff.runs_fetched:
            return False
        if "persists" in m and not (eff.persists if m["persists"] in (True, "any") else
                                    any(re.search(str(m["persists"]), p) for p in eff.persists)):
            return False
        if "signals" in m and not _signals_match(eff.signals, m["signals"], cmd, ctx):
            return False
        if "production" in m and bool(m["production"]) != _is_production(cmd, ctx):
            return False
        return True

    def effect(self, cmd: SimpleCommand, eff: Effects, ctx: Context) -> str:
        """The effect this (matching) rule is about, in words: "deletes /home/dev via xargs"."""
        m, parts = self.match, []
        for key in PATH_KEYS:
            if key in m:
                hit = self._paths_match(getattr(eff, key), m[key], cmd, ctx, want_path=True)
                if isinstance(hit, str):
                    parts.append(f"{VERBS[key]} {hit}")
        if "signals" in m and eff.signals:
            parts.append("signals " + ", ".join("every process" if s == "all" else s for s in eff.signals))
        if "persists" in m and eff.persists:
            parts.append("persists " + ", ".join(eff.persists))
        if m.get("runs_fetched") or (m.get("executes_input") and cmd.feeds):
            src = sorted(f for f in cmd.feeds if f in _FETCH_NAMES) or ([] if "(worst case)" in cmd.via else sorted(cmd.feeds))
            parts.append("runs code " + (f"from {', '.join(src)}" if src else "fetched from the network"))
        if "network" in m and (eff.hosts or eff.sends_data):
            parts.append(("sends data to " if eff.sends_data else "contacts ") + (", ".join(eff.hosts) or "the network"))
        if not parts:
            return ""
        via = cmd.via.replace(" (worst case)", "")
        return "; ".join(parts) + (f" via {via}" if via else "") + \
            (" (judged by the worst its code allows)" if "(worst case)" in cmd.via else "")

    def _paths_match(self, paths: list[str], spec: Any, cmd: SimpleCommand, ctx: Context,
                     want_path: bool = False) -> "bool | str":
        if not paths:
            return False
        globs, keyword, outside, except_, contains = None, None, False, [], None
        if isinstance(spec, str) and spec.startswith("@"):
            globs = ctx.lists.get(spec, [])
        elif isinstance(spec, str):
            keyword = spec
        elif isinstance(spec, list):   # "@name" entries stand for that list
            globs = [g for x in spec for g in (ctx.lists.get(x, []) if x.startswith("@") else [x])]
        elif isinstance(spec, dict):
            g = spec.get("globs")
            globs = ctx.lists.get(g, []) if isinstance(g, str) else g
            outside = bool(spec.get("outside_workspace"))
            except_ = spec.get("except") or []
            c = spec.get("contains")
            contains = ctx.lists.get(c, []) if isinstance(c, str) else c
        j = ctx.judge
        for p in paths:
            r = j.resolve(p, cmd.cwd)
            if r is None:
                continue
            if except_ and j.matches(r, except_):
                continue
            if keyword == "outside_workspace" and j.outside_workspace(r):
                return r if want_path else True
            if keyword == "outside_workspace_root" and not j.inside_workspace(r) and not r.startswith(("/dev/null",)):
                return r if want_path else True   # scratch dirs (/tmp) count too: patches judged against the root
            if keyword == "system" and j.is_system(r):
                return r if want_path else True
            if keyword == "workspace_root" and j.is_workspace_root(r):
                return r if want_path else True
            if keyword == "any":
                return r if want_path else True
            if globs is not None and j.matches(r, globs) and (not outside or j.outside_workspace(r)):
                return r if want_path else True
            if contains and not j.inside_workspace(r) and j.contains(r, contains):
                return r if want_path else True
        return False


def _compile(pattern: Any, where: str, rid: str) -> re.Pattern:
    try:
        return re.compile(str(pattern))
    except re.error as exc:
        raise RuleError(f"{where} ({rid}): bad regex {pattern!r}: {exc}") from None


def _has_flag(args: list[str], alternatives: str) -> bool:
    for alt in alternatives.split("|"):
        alt = alt.strip()
        for a in args:
            if a == "--":
                break
            if alt.startswith("--"):
                if a == alt or a.startswith(alt + "="):
                    return True
            elif len(alt) == 2 and alt[0] == "-":
                if re.fullmatch(r"-[A-Za-z0-9]+", a) and alt[1] in a[1:]:
                    return True
            elif a == alt:
                return True
    return False


def _branch_matches(pos: list[str], args: list[str], want: str, protected: list[str]) -> bool:
    """git push: the destination branches of the refspecs (pos = [push, remote, refspec...])."""
    refspecs = pos[2:]
    if any(a in ("--all", "--mirror", "--branches") for a in args):
        dests = ["*"]
    else:
        dests = []
        for r in refspecs:
            d = r.split(":", 1)[1] if ":" in r else r
            d = d.lstrip("+")
            d = d[len("refs/heads/"):] if d.startswith("refs/heads/") else d
            dests.append(d)
    if want == "none":
        return not dests
    if want == "any":
        return True
    if want == "protected":
        return any(d == "*" or DYN in d or any(fnmatch.fnmatchcase(d, p) for p in protected) for d in dests)
    return any(fnmatch.fnmatchcase(d, want) for d in dests)


def _network_matches(eff: Effects, spec: dict, ctx: Context) -> bool:
    if "sends_data" in spec and bool(spec["sends_data"]) != eff.sends_data:
        return False
    if not eff.hosts and ("hosts" in spec or "hosts_not" in spec):
        return False
    if "hosts" in spec:
        globs = ctx.lists.get(spec["hosts"], []) if isinstance(spec["hosts"], str) else spec["hosts"]
        if not any(_host_in(h, globs) for h in eff.hosts):
            return False
    if "hosts_not" in spec:
        globs = ctx.lists.get(spec["hosts_not"], []) if isinstance(spec["hosts_not"], str) else spec["hosts_not"]
        if all(_host_in(h, globs) for h in eff.hosts):
            return False
    return True


def _signals_match(signals: list[str], spec: Any, cmd: SimpleCommand, ctx: Context) -> bool:
    """`all` (kill -1, killall5), `gateway` (its port or process, named in the command or what feeds
    it), `any`, or a list of globs over the signal targets."""
    if not signals:
        return False
    if spec == "any":
        return True
    if spec == "all":
        return "all" in signals or "group" in signals
    if spec == "gateway":
        ports = [str(p) for p in ctx.lists.get("@gateway_ports", [])]
        names = ctx.lists.get("@gateway_processes", [])
        for s in signals:
            kind, _, val = s.partition(":")
            if kind == "port" and val in ports:
                return True
            if kind == "name" and any(fnmatch.fnmatchcase(val.lower(), g) or g in val.lower() for g in names):
                return True
        text = (cmd.text or "") + " " + ctx.script
        return any(re.search(rf"(?<![\d]){re.escape(p)}(?![\d])", text) for p in ports) and \
            any(k in s for s in signals for k in ("pid:", "name:", "port:", "file:")) or \
            any(n in text.lower() for n in names if len(n) > 3)
    globs = spec if isinstance(spec, list) else [str(spec)]
    return any(fnmatch.fnmatchcase(s, g) for s in signals for g in globs)


_FETCH_NAMES = {"curl", "wget", "fetch", "aria2c", "http", "https", "xh", "nc", "ncat", "socat", "base64-decode",
                "xxd-decode", "openssl-decode", "base32-decode", "rev", "tr"}
URL_HOST = re.compile(r"[a-z][a-z0-9+.-]*://(?:[^/@\s]*@)?([^/:?#\s]+)", re.I)
ENV_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _is_production(cmd: SimpleCommand, ctx: Context) -> bool:
    """Does the command target production: a context / namespace / stack / bucket argument matching
    @production_contexts, a URL host matching @production_hosts, or an env var named like
    @production_env (`psql "$PROD_DATABASE_URL"`)?"""
    contexts = ctx.lists.get("@production_contexts", [])
    hosts = ctx.lists.get("@production_hosts", [])
    envs = ctx.lists.get("@production_env", [])
    for a in cmd.args:
        a_low = a.lower()
        for h in URL_HOST.findall(a_low):
            if any(fnmatch.fnmatchcase(h, g.lower()) for g in hosts):
                return True
        val = a_low.split("=", 1)[1] if a_low.startswith("--") and "=" in a_low else a_low
        if "://" not in val and any(fnmatch.fnmatchcase(val, g.lower()) for g in contexts):
            return True
    text = cmd.text or ""
    return any(fnmatch.fnmatchcase(n, g) for n in ENV_REF.findall(text) for g in envs) or \
        any(fnmatch.fnmatchcase(k, g) for k in cmd.assigns for g in envs)


def _host_in(host: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(host, g.lower()) for g in globs)


@dataclass
class Match:
    rule: Rule
    command: SimpleCommand
    effects: Effects | None = None
    effect: str = ""        # the effect the rule judged, in words (filled for blocking matches)


_CANDIDATES: dict[int, tuple[list[Rule], dict]] = {}


def _candidates(rules: list[Rule], names: set[str]) -> list[Rule]:
    """The rules, in order, whose `command` could fit these names (cached per rule list and names)."""
    entry = _CANDIDATES.get(id(rules))
    if entry is None or entry[0] is not rules:
        if len(_CANDIDATES) > 64:
            _CANDIDATES.clear()
        entry = (rules, {})   # keeping `rules` referenced keeps its id from being reused
        _CANDIDATES[id(rules)] = entry
    key = frozenset(names)
    hit = entry[1].get(key)
    if hit is None:
        if len(entry[1]) > 4096:
            entry[1].clear()
        hit = [r for r in rules if r.could_match(names)]
        entry[1][key] = hit
    return hit


def judge_commands(rules: list[Rule], tool: str, commands: list[SimpleCommand], ctx: Context) -> list[Match]:
    """Every (rule, command) that matched; an `allow` rule exempts its command from later rules."""
    found: list[Match] = []
    for cmd in commands:
        if not cmd.argv and not cmd.assigns and not cmd.redirects:
            continue
        eff = effects_of(cmd)
        names = cmd.names()
        for rule in _candidates(rules, names):
            if rule.tools and not rule.applies_to_tool(tool):
                continue
            if not rule.match:
                found.append(Match(rule, cmd, eff))
                continue
            if rule.matches(cmd, eff, ctx, names):
                if rule.action == "allow":
                    break
                found.append(Match(rule, cmd, eff))
    return found
