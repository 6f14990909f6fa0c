"""Tool calls made from JavaScript: Codex's `exec` custom tool runs JS that calls
`tools.exec_command({cmd: "..."})` (or other tools). We tokenize the JS (strings, template
literals, comments, regex-free enough for this) and evaluate the literal arguments of every
`tools.<name>(...)` call: objects, arrays, strings, `+` concatenations, template literals and
constants declared earlier with `const|let|var NAME = <literal>`. Anything not static becomes
the DYN marker, so the firewall sees "unknown" instead of nothing.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .shell import DYN

_TOKEN = re.compile(r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<tpl>`(?:\\.|\$\{(?:[^{}]|\{[^{}]*\})*\}|[^`\\])*`)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<id>[A-Za-z_$][\w$]*)
  | (?P<punct>\.\.\.|=>|[{}()\[\],:;.+=?!<>*/%&|^~-])
""", re.S | re.X)


@dataclass
class JsCall:
    name: str            # tool name: "exec_command", "apply_patch", ...
    args: list           # evaluated arguments (dicts, lists, str, DYN for unknown)


def tokenize(src: str) -> list[tuple[str, str]]:
    out, i = [], 0
    while i < len(src):
        m = _TOKEN.match(src, i)
        if not m:
            out.append(("punct", src[i]))
            i += 1
            continue
        i = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
    return out


def _unquote(tok: str) -> str:
    body = tok[1:-1]
    try:
        return json.loads('"' + body.replace('\\\'', "'").replace('"', '\\"').replace('\\\\"', '\\"') + '"')
    except ValueError:
        return re.sub(r"\\(.)", r"\1", body)


class _Eval:
    def __init__(self, toks: list[tuple[str, str]], consts: dict[str, object]):
        self.t = toks
        self.consts = consts

    def value(self, i: int) -> tuple[object, int]:
        """Evaluate one expression starting at i (stops at , ) ] } ;)."""
        val, i = self.atom(i)
        while i < len(self.t) and self.t[i] == ("punct", "+"):
            rhs, i = self.atom(i + 1)
            val = _concat(val, rhs)
        # anything else until the end of the expression makes it dynamic
        j, depth, dynamic = i, 0, False
        while j < len(self.t):
            k, v = self.t[j]
            if depth == 0 and v in (",", ")", "]", "}", ";"):
                break
            if v in "([{":
                depth += 1
            elif v in ")]}":
                depth -= 1
            dynamic = True
            j += 1
        return (DYN if dynamic and not isinstance(val, (dict, list)) else val), j

    def atom(self, i: int) -> tuple[object, int]:
        if i >= len(self.t):
            return DYN, i
        kind, v = self.t[i]
        if kind == "str":
            return _unquote(v), i + 1
        if kind == "tpl":
            return self.template(v[1:-1]), i + 1
        if kind == "num":
            return float(v) if "." in v else int(v), i + 1
        if kind == "id":
            if v in ("true", "false"):
                return v == "true", i + 1
            if v in ("null", "undefined"):
                return None, i + 1
            if v == "await":
                return self.atom(i + 1)
            if v in self.consts and not (i + 1 < len(self.t) and self.t[i + 1][1] in (".", "(", "[")):
                return self.consts[v], i + 1
            return DYN, self._skip_member(i + 1)
        if v == "{":
            return self.obj(i + 1)
        if v == "[":
            return self.arr(i + 1)
        if v == "(":
            val, j = self.value(i + 1)
            return val, j + 1
        return DYN, i + 1

    def _skip_member(self, i: int) -> int:
        while i < len(self.t) and self.t[i][1] in (".", "(", "["):
            if self.t[i][1] == ".":
                i += 2
            else:
                i = _close(self.t, i) + 1
        return i

    def template(self, body: str) -> str:
        def rep(m: re.Match) -> str:
            expr = m.group(1).strip()
            v = self.consts.get(expr)
            return v if isinstance(v, str) else DYN
        text = re.sub(r"\$\{((?:[^{}]|\{[^{}]*\})*)\}", rep, body)
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)

    def obj(self, i: int) -> tuple[dict, int]:
        out: dict = {}
        while i < len(self.t) and self.t[i][1] != "}":
            kind, v = self.t[i]
            if v == ",":
                i += 1
                continue
            if v == "...":
                _, i = self.value(i + 1)
                continue
            key = _unquote(v) if kind == "str" else v
            if v == "[":   # computed key
                i = _close(self.t, i)
            i += 1
            if i < len(self.t) and self.t[i][1] == ":":
                out[key], i = self.value(i + 1)
            else:   # shorthand {cmd}
                out[key] = self.consts.get(key, DYN)
        return out, i + 1

    def arr(self, i: int) -> tuple[list, int]:
        out: list = []
        while i < len(self.t) and self.t[i][1] != "]":
            if self.t[i][1] == ",":
                i += 1
                continue
            v, i = self.value(i)
            out.append(v)
        return out, i + 1


def _concat(a: object, b: object) -> object:
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, (str, int, float)) and isinstance(b, (str, int, float)):
        return str(a) + str(b)
    return DYN


def _close(toks, i: int) -> int:
    pairs = {"(": ")", "[": "]", "{": "}"}
    opener = toks[i][1]
    depth = 0
    for j in range(i, len(toks)):
        if toks[j][1] == opener:
            depth += 1
        elif toks[j][1] == pairs.get(opener):
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def tool_calls_in_js(src: str, tool_names: set[str] | None = None) -> list[JsCall]:
    """Calls to `tools.NAME(...)` (and bare `NAME(...)` for names in tool_names)."""
    toks = tokenize(src)
    consts: dict[str, object] = {}
    ev = _Eval(toks, consts)
    calls: list[JsCall] = []
    i = 0
    while i < len(toks):
        kind, v = toks[i]
        if kind == "id" and v in ("const", "let", "var") and i + 2 < len(toks) and toks[i + 2][1] == "=" \
                and toks[i + 1][0] == "id":
            val, _ = ev.value(i + 3)
            consts[toks[i + 1][1]] = val
            i += 3
            continue
        name = None
        if kind == "id" and v == "tools" and i + 3 < len(toks) and toks[i + 1][1] == "." and toks[i + 3][1] == "(":
            name, at = toks[i + 2][1], i + 3
        elif kind == "id" and v == "tools" and i + 4 < len(toks) and toks[i + 1][1] == "[" and toks[i + 2][0] == "str":
            name, at = _unquote(toks[i + 2][1]), _close(toks, i + 1) + 1
            if at >= len(toks) or toks[at][1] != "(":
                name = None
        elif kind == "id" and tool_names and v in tool_names and i + 1 < len(toks) and toks[i + 1][1] == "(" \
                and (i == 0 or toks[i - 1][1] != "."):
            name, at = v, i + 1
        if name:
            end = _close(toks, at)
            args, j = [], at + 1
            while j < end:
                if toks[j][1] == ",":
                    j += 1
                    continue
                val, j = ev.value(j)
                args.append(val)
                if j >= end or toks[j][1] != ",":
                    break
            calls.append(JsCall(name, args))
            i = at + 1
            continue
        i += 1
    return calls


def js_syntax_ok(src: str) -> bool:
    """A cheap structural check for generated JS: brackets balance, strings/comments terminate."""
    stack = []
    pairs = {")": "(", "]": "[", "}": "{"}
    rest = re.sub(r"/\*.*?\*/|//[^\n]*", "", src, flags=re.S)
    if "/*" in rest:
        return False
    for kind, v in tokenize(rest):
        if kind == "punct":
            if v in "([{":
                stack.append(v)
            elif v in ")]}":
                if not stack or stack.pop() != pairs[v]:
                    return False
            elif v in ("'", '"', "`"):
                return False
    return not stack
