"""Turn one tool call the model emitted into actions: shell scripts with their simple commands,
and the files a patch touches. Knows the shapes Codex uses:

- function `exec_command` {"cmd": "...", "workdir": "..."}, `shell` {"command": [argv]},
  `shell_command` {"command": "..."}, `container.exec`, `write_stdin` {"chars": "..."}
- `local_shell_call` (text is the JSON of its action: {"type": "exec", "command": [argv]})
- function `apply_patch` {"input": "*** Begin Patch..."} and the freeform custom tool `apply_patch`
- custom tool `exec`: JavaScript calling `tools.exec_command({...})` / `tools.apply_patch(...)`
- `apply_patch <<'EOF' ... EOF` run through a shell tool
"""
from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from .js import tool_calls_in_js
from .patch import FileOp, looks_like_patch, parse_patch
from .shell import DYN, SimpleCommand, parse_shell

SHELL_TOOLS = {"exec_command", "shell", "shell_command", "container.exec", "local_shell", "bash", "run_command",
               "execute_command", "terminal", "run_terminal_cmd", "write_stdin", "run_shell_command"}
PATCH_TOOLS = {"apply_patch", "applypatch", "apply_diff"}
JS_TOOLS = {"exec", "js", "javascript", "code_mode"}
SCRIPT_KEYS = ("cmd", "command", "commands", "script", "chars", "input", "code")


@dataclass
class Action:
    tool: str                       # tool name as the model called it
    kind: str                       # "shell", "patch", "tool"
    source: str                     # the command line / patch summary shown in messages
    commands: list[SimpleCommand] = field(default_factory=list)
    file_ops: list[FileOp] = field(default_factory=list)
    workdir: str | None = None
    args: Any = None                # the parsed arguments (for tool rules)
    via: str = ""                   # "exec js" when it came from Codex's JS exec tool


def _script_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return shlex.join(value) if not any(DYN in v for v in value) else " ".join(value)
    return None


def _load(text: str) -> Any:
    try:
        return json.loads(text) if text and text.lstrip()[:1] in "{[\"" else text
    except ValueError:
        return text


def extract_actions(kind: str, name: str | None, text: str, cwd: str | None = None, home: str = "~",
                    depth: int = 0, written: dict[str, str] | None = None) -> list[Action]:
    """All actions one tool call would perform. `cwd` is the workspace, used for relative paths."""
    name = name or ""
    base = name.rsplit(".", 1)[-1] if name.startswith(("functions.", "tools.")) else name
    args = _load(text) if kind != "custom_tool_call" else text
    if kind == "local_shell_call":
        action = args.get("action", args) if isinstance(args, dict) else {}
        script = _script_of(action.get("command")) if isinstance(action, dict) else None
        wd = action.get("working_directory") if isinstance(action, dict) else None
        return [_shell_action(name or "local_shell", script or "", wd or cwd, cwd, home, written)]
    is_js = kind == "custom_tool_call" and (base in JS_TOOLS or ("tools." in text and base not in PATCH_TOOLS))
    if base in PATCH_TOOLS or (kind == "custom_tool_call" and not is_js and looks_like_patch(text)):
        body = text
        if isinstance(args, dict):
            body = next((v for k, v in args.items() if isinstance(v, str) and looks_like_patch(v)),
                        args.get("input") or args.get("patch") or "")
        ops = parse_patch(body if isinstance(body, str) else "")
        return [Action(base or "apply_patch", "patch", _patch_summary(ops), [_patch_command(ops, cwd)], ops, cwd, args)]
    if is_js and depth < 2:
        out: list[Action] = []
        for call in tool_calls_in_js(text, SHELL_TOOLS | PATCH_TOOLS):
            arg0 = call.args[0] if call.args else {}
            inner_text = json.dumps(arg0) if not isinstance(arg0, str) else arg0
            inner_kind = "function_call" if not isinstance(arg0, str) or call.name not in PATCH_TOOLS else "custom_tool_call"
            for a in extract_actions(inner_kind, call.name, inner_text, cwd, home, depth + 1, written):
                a.via = "exec js"
                out.append(a)
        # Arguments built at run time are unknown (DYN): the script is also judged by the worst
        # its words allow (`tools.exec_command({cmd: 'rm -rf ' + os.homedir()})`).
        worst = _worst_case_commands(text, "node", cwd, home, "exec js (worst case)")
        if worst:
            out.append(Action(base, "shell", text[:200], worst, [], cwd, args, via="exec js"))
        return out or [Action(base, "tool", text[:200], args=args, workdir=cwd)]
    if base in SHELL_TOOLS or (isinstance(args, dict) and base not in PATCH_TOOLS and
                               any(k in args for k in ("cmd", "command")) and kind != "custom_tool_call"):
        script, wd = None, None
        if isinstance(args, dict):
            for k in SCRIPT_KEYS:
                if k in args:
                    script = _script_of(args[k])
                    if script is not None:
                        break
            wd = args.get("workdir") or args.get("cwd") or args.get("working_directory")
        elif isinstance(args, (str, list)):
            script = _script_of(args)
        if script is not None:
            return [_shell_action(base, script, wd if isinstance(wd, str) else None, cwd, home, written)]
    return [_generic_tool_action(base, text, args, cwd)]


PATH_KEYS = ("path", "paths", "file", "file_path", "filepath", "filename", "files", "target", "target_file",
             "source", "destination", "dest", "directory", "dir", "old_path", "new_path", "uri")
WRITE_NAME = re.compile(r"write|edit|create|save|append|put|move|rename|patch|replace|insert|upload|mkdir|copy", re.I)
DELETE_NAME = re.compile(r"delete|remove|\brm\b|unlink|trash", re.I)


def _generic_tool_action(name: str, text: str, args: Any, cwd: str | None) -> Action:
    """Any other tool (MCP filesystem, an IDE's edit_file): the paths in its arguments, as reads,
    writes or deletes by the tool's name, so path rules apply to it too."""
    action = Action(name, "tool", (text or "")[:200], args=args, workdir=cwd)
    if not isinstance(args, dict):
        return action
    paths: list[str] = []
    for k, v in args.items():
        if k.lower() in PATH_KEYS:
            for p in (v if isinstance(v, list) else [v]):
                if isinstance(p, str) and p:
                    paths.append(p[len("file://"):] if p.startswith("file://") else p)
    if paths:
        op = "delete" if DELETE_NAME.search(name) else "add" if WRITE_NAME.search(name) else "read"
        ops = [FileOp(op, p) for p in paths]
        action.file_ops = ops
        action.commands = [SimpleCommand([name] + paths, cwd=cwd, via="tool", text=f"{name} {' '.join(paths)}",
                                         file_ops=ops)]
    return action


def _shell_action(tool: str, script: str, workdir: str | None, workspace: str | None, home: str,
                  written: dict[str, str] | None = None) -> Action:
    wd = workdir
    if wd and workspace and not wd.startswith(("/", "~")):
        wd = workspace.rstrip("/") + "/" + wd
    if wd and wd.startswith("~"):
        wd = home + wd[1:]
    wd = wd or workspace
    cmds = parse_shell(script, wd, home, written)
    if tool == "write_stdin":
        # typed into a running session, which may be a REPL: `os.system('rm -rf ~')` counts too
        from .embedded import embedded_commands
        scripts, argvs = embedded_commands(script)
        for inner in scripts:
            for c in parse_shell(inner, wd, home):
                c.via = c.via or "write_stdin code"
                cmds.append(c)
        cmds += [SimpleCommand(argv, cwd=wd, via="write_stdin code", text=" ".join(argv)) for argv in argvs]
        cmds += _worst_case_commands(script, "python", wd, home, "write_stdin code (worst case)")
    ops: list[FileOp] = []
    for c in list(cmds):
        if c.name in PATCH_TOOLS:
            body = c.stdin_text if c.stdin_text else next((a for a in c.args if looks_like_patch(a)), "")
            found = parse_patch(body or "")
            ops.extend(found)
            if found:   # `cd sub && apply_patch <<'EOF'`: Codex resolves the paths against sub
                cmds.append(_patch_command(found, c.cwd or wd))
    return Action(tool, "shell", script, cmds, ops, wd)


def _worst_case_commands(code: str, lang: str, cwd: str | None, home: str, via: str) -> list[SimpleCommand]:
    from .embedded import worst_case
    wc = worst_case(code, lang)
    out = [SimpleCommand(argv, cwd=cwd, via=via, text=" ".join(argv)) for argv in wc.argvs]
    if wc.runs_fetched:
        out.append(SimpleCommand(["sh"], feeds={"curl"}, cwd=cwd, via=via, text=code[:200], runs_download=True))
    return out


def _patch_summary(ops: list[FileOp]) -> str:
    return "apply_patch " + " ".join(f"{o.op}:{p}" for o in ops for p in o.paths)


def _patch_command(ops: list[FileOp], cwd: str | None = None) -> SimpleCommand:
    """A patch as a pseudo-command, so path rules (writes/deletes) judge it like shell commands."""
    return SimpleCommand(["apply_patch"] + [p for o in ops for p in o.paths], cwd=cwd, via="apply_patch",
                         text=_patch_summary(ops), file_ops=list(ops))


def tool_call_effects(kind: str, name: str | None, text: str, cwd: str | None = None, home: str = "~"):
    """Everything one tool call would do (shell, patch, JS exec, file tools), as one Effects.

    The seam for redaction: restore a placeholder into this call only when
    `not tool_call_effects(...).egress` (data would not leave the machine)."""
    from .effects import Effects, effects_of
    total = Effects()
    for action in extract_actions(kind, name, text, cwd, home):
        for cmd in action.commands:
            total.merge(effects_of(cmd))
            if cmd.via == "limit":   # too deep to read: assume it may send data
                total.sends_data = True
        if action.kind == "tool" and not action.commands:
            total.sends_data = True   # an unknown tool: its effect is unknown, never assume local
    return total
