"""Commands hidden in inline code: `python -c "import os; os.system('rm -rf ~')"`, `node -e
"require('child_process').execSync('curl x | sh')"`, `python - <<EOF ... shutil.rmtree(...)`.

Regex-level, on purpose: it finds string-literal arguments of the calls that run a shell or touch
files, and turns them into shell text or equivalent argv (`shutil.rmtree(p)` -> `rm -rf p`) for the
same rules to judge. Code that builds its strings at run time is beyond it.
"""
from __future__ import annotations

import ast
import json
import re

_STR = r"""(?:[rbfu]{0,2})(?:'''(?P<q3>.*?)'''|\"\"\"(?P<d3>.*?)\"\"\"|'(?P<q>(?:\\.|[^'\\\n])*)'|"(?P<d>(?:\\.|[^"\\\n])*)"|`(?P<t>(?:\\.|[^`\\])*)`)"""
_PATHARG = r"\(\s*(?:os\.path\.expanduser\(\s*|Path\(\s*|pathlib\.Path\(\s*)?" + _STR

SHELL_CALL = re.compile(r"(?:\bos\.(?:system|popen)|\bIO\.popen|\bKernel\.(?:system|spawn|exec)|\bOpen3\.\w+|\bspawn|\bexec|\bpopen|\bsubprocess\.(?:run|call|check_call|check_output|Popen|getoutput|"
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
            return _unescape(v) if g in ("q", "d") else v
    return ""


_ESC = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "e": "\x1b"}


def _unescape(v: str) -> str:
    """A string literal's value, for the escapes Python, JS, Perl, Ruby and awk share."""
    def rep(m: re.Match) -> str:
        e = m.group(1)
        if e[0] in "xu" and len(e) > 1:
            try:
                return chr(int(e[1:], 16))
            except ValueError:
                return e
        return _ESC.get(e, e)
    return re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", rep, v, flags=re.S)


BACKTICKS = re.compile(r"`((?:\\.|[^`\\])*)`|%x\(([^)]*)\)|\bqx\(([^)]*)\)")


_LIT = r"'(?:[^'\\\n]|\\.)*'" + "|" + r'"(?:[^"\\\n]|\\.)*"'
_LIT_RE = re.compile(_LIT)
_JOIN_GAP = re.compile(r"\s*[+.]?\s*")


def join_literals(code: str) -> str:
    """`'r' + 'm -rf /'` (Python, JS), `'r' . 'm'` (Perl), `'r' 'm'` (Python): one literal.
    Literals are found left to right, so quotes inside a string are never taken for literals."""
    lits = list(_LIT_RE.finditer(code))
    if len(lits) < 2:
        return code
    out, pos, k = [], 0, 0
    while k < len(lits):
        m = lits[k]
        value, end, j = _unescape(m.group(0)[1:-1]), m.end(), k
        while j + 1 < len(lits) and _JOIN_GAP.fullmatch(code, end, lits[j + 1].start()):
            j += 1
            value += _unescape(lits[j].group(0)[1:-1])
            end = lits[j].end()
        out.append(code[pos:m.start()])
        out.append(json.dumps(value) if j > k else m.group(0))
        pos, k = end, j + 1
    out.append(code[pos:])
    return "".join(out)


AWK_PIPE = re.compile(r"\|\s*(?:&\s*)?" + _STR, re.S)            # print ... | "sh"
AWK_GETLINE = re.compile(_STR + r"\s*\|\s*getline", re.S)          # "cmd" | getline
VIM_SHELL = re.compile(r"\b(?:system|systemlist|jobstart|termopen)\s*\(\s*" + _STR, re.S)


def embedded_commands(code: str, lang: str = "python") -> tuple[list[str], list[list[str]]]:
    """(shell scripts, argv lists) that `code` would run or amounts to. In ruby and perl a
    backtick string (or %x(), qx()) runs a shell; in JavaScript it is only a string. In awk,
    `print | "sh"` and `"cmd" | getline` run a shell too."""
    code = join_literals(code)
    scripts = [_lit(m) for m in SHELL_CALL.finditer(code)]
    if lang in ("ruby", "perl", "php"):
        scripts += [next(g for g in m.groups() if g is not None) for m in BACKTICKS.finditer(code)]
    if lang == "awk":
        piped = [_lit(m) for m in AWK_PIPE.finditer(code)]
        if any(re.fullmatch(r"\s*(?:/bin/|/usr/bin/)?(?:ba|z|da|k)?sh\s*", p) for p in piped):
            # print "cmd" | "sh": what is printed is the script; every string literal may be printed
            scripts += [_lit(m) for m in re.finditer(_STR, code)]
        scripts += piped + [_lit(m) for m in AWK_GETLINE.finditer(code)]
    if lang == "vim":
        scripts += [_lit(m) for m in VIM_SHELL.finditer(code)]
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


# ---- worst case: code we cannot follow, judged by the effects its words allow ----------------
HOME_REF = re.compile(r"os\.homedir\(\)|\$ENV\{\s*['\"]?HOME|ENV\[\s*['\"]HOME|ENVIRON\[\s*['\"]HOME|expanduser\(|"
                      r"Path\.home\(\)|process\.env\.HOME|process\.env\[['\"]HOME|\bDir\.home\b|getenv\(\s*['\"]HOME|"
                      r"environ(?:\.get\(|\[)\s*['\"]HOME|\$HOME\b|\$\{HOME\}|\bHOME\b|File\.expand_path\(\s*['\"]~|"
                      r"['\"]~/?['\"]|\bglob\(['\"]~|\$_SERVER\[['\"]HOME|homedir|home_dir|user\.home")
ROOT_REF = re.compile(r"""['"]/\*?['"]""")
DELETE_PRIM = re.compile(r"rm\s+-[a-zA-Z]*[rRf]|\brmtree\b|\brmSync\b|\brmdirSync\b|\brm_rf\b|\brm_r\b|\bremove_tree\b|"
                         r"\bunlinkSync\b|\brimraf\b|\bremovedirs\b|\bfs\.rm\b|\bpromises\.rm\b|\bunlink\b|\brmdir\b|"
                         r"\bos\.remove\b|\bdelete_tree\b|\bdeleteRecursively\b|\bFileUtils\.rm\w*|\bremove_dir_all\b|"
                         r"\bshutil\.rmtree\b|\bFile::Path\b|\bRemove-Item\b|\bdel\s+/")
FETCH_PRIM = re.compile(r"\burlopen\b|\burllib\b|\brequests\.(?:get|post)\b|\bhttpx\b|\bhttp\.client\b|\bfetch\s*\(|"
                        r"\bhttps?\.get\b|\baxios\b|LWP|HTTP::Tiny|\bget\(\s*['\"]https?:|open-uri|Net::HTTP|"
                        r"URI\.open|\bcurl\b|\bwget\b|file_get_contents\(\s*['\"]https?:|\bsocket\b|Invoke-WebRequest|"
                        r"\biwr\b|DownloadString|\bnew\s+WebClient|https?://")
EVAL_PRIM = re.compile(r"\bexec\s*\(|\beval\b|\bFunction\s*\(|\bvm\.run\w*|\binstance_eval\b|\bmarshal\.loads\b|"
                       r"\bpickle\.loads?\b|"
                       r"\|\s*(?:ba|z|da)?sh\b|\bsystem\s*\(|\bexecSync\b|\bpopen\b|\bIEX\b|Invoke-Expression|"
                       r"\bimportlib\b|\b__import__\b|\brequire\s*\(\s*[a-zA-Z_]|\bruby\s+-e|\bsh\s+-c|\bbash\s+-c")
KILL_ALL = re.compile(r"\b(?:os|process|Process)\.kill\s*\(\s*-1\b|\bkill\s*\(?\s*['\"]?(?:9|KILL|SIGKILL|TERM|15)['\"]?\s*,\s*-1\b|"
                      r"\bkill\s+-(?:9|KILL|s\s+KILL)\s+-1\b|\bkillpg\s*\(\s*0|\bProcess\.kill\([^,]+,\s*-1\)")
SECRET_FILE = re.compile(r"(?:~|HOME|homedir\(\)|home\(\)|\bhome)?[^'\"\n]{0,20}?['\"]?\s*[,+]?\s*['\"]?/?"
                         r"(\.ssh/[\w.*-]+|\.aws/(?:credentials|config)|\.netrc|\.git-credentials|\.kube/config|"
                         r"\.docker/config\.json|\.npmrc|\.pypirc|\.config/gh/hosts\.yml|\.codex/auth\.json|\.gnupg/[\w.*-]*|"
                         r"\.keeptrusts/[\w.*-]*|\.password-store/[\w.*/-]*)")
STARTUP_FILE = re.compile(r"(\.bashrc|\.bash_profile|\.zshrc|\.zprofile|\.profile|\.ssh/authorized_keys|\.gitconfig|"
                          r"\.codex/config\.toml)")
WRITE_PRIM = re.compile(r"""\bwrite|\bappend|open\([^)]*,\s*['"][wa]|>>|\bputs\b|\bprint\s+\w+\s|File\.open\([^)]*['"][wa]|"""
                        r"\bfputs\b|file_put_contents|Add-Content|Set-Content|Out-File")
URL_LIT = re.compile(r"https?://[^\s'\"`)]+")


_LITERAL_ARG = re.compile(r"""\s*\(\s*(?:'[^'\n]*'|"[^"\n]*")\s*[,)]""")
_LITERAL_END = re.compile(r"""[^'"`\n]*['"`]\s*([^\s,);}\]]?)""")   # what follows the literal: + . or a word (awk) joins


def _unknown_delete(code: str) -> bool:
    """Is there a delete whose target is not a plain literal (which the exact readers judge)?
    `shutil.rmtree('dist')` and `os.system('rm -rf build')` are known; `rmtree($ENV{HOME})` and
    `execSync('rm -rf ' + dir)` are not."""
    for m in DELETE_PRIM.finditer(code):
        tail = code[m.end():m.end() + 300]
        if _LITERAL_ARG.match(tail):
            continue
        if m.group(0).startswith(("rm", "del ")):   # shell text inside a string literal
            end = _LITERAL_END.match(tail)
            if end and not end.group(1):
                continue   # the literal ends there: its whole text is parsed as shell
        return True
    return False


class WorstCase:
    def __init__(self) -> None:
        self.argvs: list[list[str]] = []
        self.runs_fetched = False


def worst_case(code: str, lang: str = "python") -> WorstCase:
    """Effects code may have even when its strings are built at run time: `rmtree($ENV{HOME})` is a
    delete of home, `exec(urlopen(u).read())` runs fetched code, a secret file named next to a
    network call is sent out."""
    wc = WorstCase()
    if len(code) > 20_000:
        code = code[:20_000]
    deletes = _unknown_delete(code)
    if deletes and HOME_REF.search(code):
        wc.argvs.append(["rm", "-rf", "~"])
    if deletes and ROOT_REF.search(code):
        wc.argvs.append(["rm", "-rf", "/"])
    fetch = FETCH_PRIM.search(code)
    if fetch and EVAL_PRIM.search(code):   # eval(get(url)) and exec(urlopen(url).read()) alike
        wc.runs_fetched = True
    if KILL_ALL.search(code):
        wc.argvs.append(["kill", "-9", "-1"])
    secrets = ["~/" + m.group(1) for m in SECRET_FILE.finditer(code)]
    for path in dict.fromkeys(secrets):
        wc.argvs.append(["cat", path])
        if fetch:
            url = URL_LIT.search(code)
            wc.argvs.append(["curl", "--data-binary", "@" + path, url.group(0) if url else "\x00host\x00"])
    if WRITE_PRIM.search(code):
        for m in STARTUP_FILE.finditer(code):
            wc.argvs.append(["tee", "-a", "~/" + m.group(1)])
    return wc
