"""What a simple command does to the outside world: files it reads, writes or deletes, hosts it
contacts and whether it sends data there. Command semantics are a table (data), not guesses
from substrings."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .shell import DYN, SHELLS, SimpleCommand, _dash_c

NET_COMMANDS = {"curl", "wget", "http", "https", "xh", "httpie", "nc", "ncat", "netcat", "socat", "telnet",
                "ssh", "scp", "sftp", "rsync", "ftp", "aria2c", "lftp", "smbclient"}
DELETE_COMMANDS = {"rm", "rmdir", "shred", "unlink", "srm", "wipe"}
TOUCH_COMMANDS = {"touch", "mkdir", "truncate", "chmod", "chown", "chgrp", "chattr", "setfacl", "ln"}
COPY_COMMANDS = {"cp", "mv", "install", "rsync", "ln", "scp"}
IN_PLACE = {"sed": ("-i", "--in-place"), "perl": ("-i", "-pi"), "ruby": ("-i",)}
# Options whose next argument is a value, not a path (per command), so it is not taken as a path.
VALUE_OPTS = {
    "grep": {"-e", "-f", "-m", "-A", "-B", "-C", "--include", "--exclude", "--exclude-dir", "--color"},
    "rg": {"-e", "-g", "--glob", "-t", "-T", "--type", "-m", "-A", "-B", "-C", "--max-depth", "-j"},
    "curl": {"-H", "--header", "-X", "--request", "-d", "--data", "--data-raw", "--data-binary", "--json",
             "--data-urlencode", "-F", "--form", "-u", "--user", "-A", "--user-agent", "-e", "--referer",
             "-m", "--max-time", "-w", "--write-out", "-x", "--proxy", "-b", "--cookie", "-T", "--upload-file",
             "-o", "--output", "--connect-timeout", "--retry", "-K", "--config"},
    "wget": {"-O", "--output-document", "-o", "--output-file", "--header", "--post-data", "--post-file",
             "--body-data", "--body-file", "-U", "--user-agent", "-P", "--directory-prefix", "-t", "-T"},
    "pip": {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url",
            "-t", "--target", "--prefix", "-f", "--find-links", "--python-version", "--platform"},
    "pip3": {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "-t", "--target"},
    "uv": {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "-p", "--python",
           "--with", "--from"},
    "npm": {"--prefix", "-w", "--workspace", "--registry", "--tag"},
    "kill": {"-s", "-n"},
    "kubectl": {"--context", "-n", "--namespace", "--kubeconfig", "-l", "--selector", "-o", "--output", "-f",
                "--filename", "--cluster", "--user", "-c", "--container", "--as"},
    "oc": {"--context", "-n", "--namespace", "--kubeconfig", "-l", "-o", "-f"},
    "helm": {"-n", "--namespace", "--kube-context", "--kubeconfig", "-f", "--values", "--set"},
    "pkill": {"-u", "-U", "-g", "-G", "-P", "-s", "-t", "--signal"},
    "killall": {"-u", "--user", "-s", "--signal", "-o", "-y"},
    "git": {"-C", "-c", "-m", "--message", "-b", "-B", "--author", "--format", "--pretty", "-n", "--depth"},
    "find": {"-name", "-iname", "-path", "-ipath", "-type", "-maxdepth", "-mindepth", "-mtime", "-newer",
             "-size", "-regex", "-perm", "-user", "-group", "-printf"},
    "ssh": {"-i", "-p", "-l", "-o", "-F", "-L", "-R", "-D", "-J", "-W", "-b", "-c", "-E", "-e", "-m", "-S"},
    "scp": {"-i", "-P", "-o", "-F", "-l", "-S", "-J", "-c"},
    "nc": {"-p", "-s", "-w", "-i", "-q", "-X", "-x"},
    "tar": {"-C", "--directory", "-T", "--exclude"},
    "docker": {"-v", "--volume", "-e", "--env", "-p", "--name", "-w", "--workdir", "-f", "--file", "-t", "--tag"},
}
URL_RE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*)://(?:[^/@\s]*@)?(\[[^\]]+\]|[^/:?#\s]+)")
HOSTLIKE_RE = re.compile(r"^(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::\d+)?(?:/|$)|^\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?:/|$)")
REMOTE_SPEC_RE = re.compile(r"^(?:[^@/\s:]+@)?([A-Za-z0-9.-]+|\[[^\]]+\]):(?!//)")
DEV_TCP_RE = re.compile(r"/dev/(?:tcp|udp)/([^/\s]+)/")
SAFE_SINKS = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/")


# Commands whose every positional argument is a file they read (so `cat id_rsa` after `cd ~/.ssh`
# reads ~/.ssh/id_rsa, with or without a slash in the name).
READERS = {"cat", "tac", "nl", "head", "tail", "less", "more", "most", "bat", "batcat", "view", "base64", "base32",
           "basenc", "xxd", "hexdump", "od", "strings", "file", "md5sum", "sha1sum", "sha256sum", "sha512sum",
           "shasum", "cksum", "b2sum", "wc", "sort", "uniq", "cut", "paste", "fold", "fmt", "pr", "column", "rev",
           "tr", "iconv", "diff", "cmp", "comm", "jq", "yq", "gpg", "openssl", "zcat", "gzip", "bzip2", "xz", "zstd",
           "lz4", "source", ".", "expand", "unexpand", "split", "csplit", "look", "nano", "vim", "vi", "nvim", "emacs",
           "code", "ed", "python", "python3", "node", "perl", "ruby", "bash", "sh", "zsh", "dos2unix", "clip", "pbcopy",
           "xclip", "xsel", "mail", "mutt", "sendmail", "lp", "lpr", "enscript", "a2ps", "vimdiff", "sqlite3", "ssh-keygen"}
# First positional is a pattern / program, the rest are files.
PATTERN_FIRST = {"grep", "egrep", "fgrep", "rg", "ag", "ack", "sed", "awk", "gawk", "mawk", "zgrep", "look"}
SIGNAL_COMMANDS = {"kill", "pkill", "killall", "killall5", "fuser", "skill", "slay", "pkexec"}
SCHEDULERS = {"at", "batch", "crontab", "systemd-run", "launchctl", "schtasks", "anacron"}
# git config keys whose value is code git runs later (or that redirect where git sends things).
GIT_CODE_KEYS = re.compile(r"(?i)^(credential\..*helper|core\.(hookspath|fsmonitor|sshcommand|pager|editor|askpass|"
                           r"gitproxy|worktree)|alias\..*|include\.path|includeif\..*|sequence\.editor|"
                           r"(diff|merge|filter)\..*\.(command|textconv|clean|smudge|process|driver)|"
                           r"url\..*\.(insteadof|pushinsteadof)|remote\..*\.(url|pushurl|receivepack|uploadpack)|"
                           r"http\..*proxy|https?\.proxy|gpg\.program|pager\..*|web\.browser|browser\..*\.cmd)$")


def _loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.endswith(".localhost") or \
        host.startswith("127.")


@dataclass
class Effects:
    """What a command (or a whole script, see `effects`) does. Paths are as written; judges resolve
    them against the command's cwd and the agent's home."""
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    executes: list[str] = field(default_factory=list)  # files run as programs / scripts
    chmods: list[str] = field(default_factory=list)    # mode / owner / attribute changes
    paths: list[str] = field(default_factory=list)     # every path-like argument
    hosts: list[str] = field(default_factory=list)     # network destinations
    sends_data: bool = False                            # local data leaves the machine
    signals: list[str] = field(default_factory=list)   # "all", "pid:N", "port:N", "name:X", "group"
    runs_fetched: bool = False                          # executes code that came from the network / a payload
    persists: list[str] = field(default_factory=list)  # persistent configuration changed ("git config core.hooksPath")
    via: str = ""                                       # how it was reached (for explanations)

    @property
    def egress(self) -> bool:
        """Data can leave the machine: local data is sent, or a remote host is contacted at all (a
        URL, header or body written in the command goes with it). Redaction must never restore a
        secret into such a command."""
        return self.sends_data or any(not _loopback(h) for h in self.hosts)

    @property
    def destinations(self) -> list[str]:
        return list(self.hosts)

    def merge(self, other: "Effects") -> None:
        for f in ("reads", "writes", "deletes", "executes", "chmods", "hosts", "signals", "persists", "paths"):
            mine = getattr(self, f)
            mine.extend(x for x in getattr(other, f) if x not in mine)
        self.sends_data = self.sends_data or other.sends_data
        self.runs_fetched = self.runs_fetched or other.runs_fetched

    def summary(self) -> list[str]:
        """One line per effect, for `kt firewall check` and block messages."""
        out = []
        for f, verb in (("deletes", "deletes"), ("writes", "writes"), ("chmods", "changes modes of"),
                        ("reads", "reads"), ("executes", "executes")):
            v = getattr(self, f)
            if v:
                out.append(f"{verb} {', '.join(x.replace(DYN, '$') for x in v[:6])}")
        if self.signals:
            out.append(f"signals {', '.join(self.signals)}")
        if self.runs_fetched:
            out.append("runs fetched or decoded code")
        if self.persists:
            out.append(f"persists {', '.join(self.persists)}")
        if self.hosts:
            out.append(("sends data to " if self.sends_data else "contacts ") + ", ".join(self.hosts))
        elif self.sends_data:
            out.append("sends data off the machine")
        return out


def positionals(cmd: SimpleCommand) -> list[str]:
    """Arguments that are not options (and not the values of known options)."""
    takes = VALUE_OPTS.get(cmd.name, set())
    out, k, args = [], 0, cmd.args
    while k < len(args):
        a = args[k]
        if a == "--":
            out.extend(args[k + 1:])
            break
        if a.startswith("-") and len(a) > 1 and not a.startswith("-/"):
            k += 2 if a in takes else 1
            continue
        out.append(a)
        k += 1
    return out


def _option_values(args: list[str], names: tuple[str, ...]) -> list[str]:
    """Values of the options `names`: `-d X`, `--data=X`, and glued `-d@file` / `-Ffoo=@bar` / `-TX`."""
    if not any(a[:1] == "-" for a in args):   # most commands: nothing to look at
        return []
    long_eq, glued = _option_forms(names)
    vals = []
    for k, a in enumerate(args):
        if a[:1] != "-":
            continue
        if a in names:
            if k + 1 < len(args):
                vals.append(args[k + 1])
        elif a[:2] == "--":
            head = a.split("=", 1)[0]
            if head in long_eq and "=" in a:
                vals.append(a[len(head) + 1:])
        elif a[:2] in glued and len(a) > 2:
            vals.append(a[2:])
    return vals


@lru_cache(maxsize=64)
def _option_forms(names: tuple[str, ...]) -> tuple[frozenset, frozenset]:
    return (frozenset(n for n in names if n.startswith("--")),
            frozenset(n for n in names if len(n) == 2 and n in ("-d", "-F", "-T")))


def _file_args(cmd: SimpleCommand, pos: list[str]) -> list[str]:
    """Positionals that are files for this command (table-driven, not by their spelling)."""
    name, args = cmd.name, cmd.args
    if name in PATTERN_FIRST:
        has_e = any(a in ("-e", "-f", "--regexp", "--file", "--expression") or a.startswith(("-e", "--regexp="))
                    for a in args)
        if name in ("awk", "gawk", "mawk"):
            has_e = any(a in ("-f", "--file") for a in args)
        return pos if has_e else pos[1:]
    if name in ("openssl", "gpg"):
        return [p for p in pos if looks_like_path(p) or "." in p]
    if name in ("python", "python3", "node", "perl", "ruby", "bash", "sh", "zsh"):
        return pos[:1]
    return pos


def looks_like_path(a: str) -> bool:
    if not a or a.startswith("-") or "://" in a:
        return False
    return a.startswith(("/", "~", "./", "../", ".")) or "/" in a or a in (".", "..", "*")


def effects_of(cmd: SimpleCommand) -> Effects:
    e = Effects()
    name, args = cmd.name, cmd.args
    if cmd.file_ops:   # apply_patch: adds/updates/moves write, deletes and moves delete
        for o in cmd.file_ops:
            if o.move_to:   # an update that moves: the old file goes, the new one is written
                e.deletes.append(o.path)
                e.writes.append(o.move_to)
            else:
                {"delete": e.deletes, "read": e.reads}.get(o.op, e.writes).append(o.path)
        e.paths = list(dict.fromkeys(e.reads + e.writes + e.deletes))
        return e
    pos = positionals(cmd)
    if (name in SHELLS and _dash_c(args) is not None) or \
            (name.startswith(("python", "node", "perl", "ruby", "php")) and any(a in ("-c", "-e", "--eval", "-p") for a in args)):
        pos = []   # the script is code, not a path; what it runs is judged as its own commands
    for op, target in cmd.redirects:
        if not target or target.startswith(SAFE_SINKS) or target.isdigit() or target == "-":
            if DEV_TCP_RE.search(target or ""):
                pass
            else:
                continue
        m = DEV_TCP_RE.search(target)
        if m:
            e.hosts.append(m.group(1))
            e.sends_data = True
            continue
        if op in (">", ">>", ">|", "&>", "<>"):
            e.writes.append(target)
        elif op in ("<",):
            e.reads.append(target)
    if name in DELETE_COMMANDS:
        e.deletes.extend(pos)
    elif name in ("mv",) and pos:
        e.deletes.extend(pos[:-1])
        e.reads.extend(pos[:-1])
        e.writes.append(pos[-1])
    elif name in COPY_COMMANDS and len(pos) >= 2:
        e.reads.extend(pos[:-1])
        e.writes.append(pos[-1])
    elif name in TOUCH_COMMANDS:
        e.writes.extend(pos[1:] if name in ("chmod", "chown", "chgrp", "chattr", "setfacl") else pos)
    elif name == "tee":
        e.writes.extend(pos)
    elif name == "dd":
        for a in args:
            if a.startswith("of="):
                e.writes.append(a[3:])
            elif a.startswith("if="):
                e.reads.append(a[3:])
    elif name in IN_PLACE and any(a.startswith(IN_PLACE[name]) for a in args):
        files = pos[1:] if not any(a in ("-e", "--expression") for a in args) else pos
        e.writes.extend(files)
    elif name == "find":
        roots = []
        for a in args:
            if a.startswith(("-", "(", "!")):
                break
            roots.append(a)
        execs = [args[k + 1] for k, a in enumerate(args[:-1]) if a in ("-exec", "-execdir", "-ok", "-okdir")]
        if "-delete" in args or any(x.rsplit("/", 1)[-1] in DELETE_COMMANDS for x in execs):
            e.deletes.extend(roots or ["."])
        else:
            e.reads.extend(roots)
    elif name == "truncate":
        e.writes.extend(pos)
    elif name in ("echo", "printf", "true", "false", ":"):
        pass   # prints its arguments; opens none of them
    elif name.startswith("python") and any(m in args for m in ("http.server", "SimpleHTTPServer")):
        # serves a folder to the network: every file under it can be read from outside
        d = _option_values(args, ("-d", "--directory"))
        e.reads.append(d[0] if d else ".")
        e.sends_data = True
    elif name == "git" and pos[:1] == ["clean"] and any(a.startswith("-") and "f" in a.lstrip("-")[:3] for a in args):
        e.deletes.extend(pos[1:] or ["."])   # untracked files under the paths, or the directory it runs in
    elif name in READERS or name in PATTERN_FIRST:
        e.reads.extend(p for p in _file_args(cmd, pos) if p and not p.startswith("-"))
    elif name == "git" and pos[:1] in (["diff"], ["add"], ["show"], ["blame"], ["hash-object"], ["apply"]):
        e.reads.extend(p for p in pos[1:] if looks_like_path(p) or "." in p)
    else:
        e.reads.extend(p for p in pos if looks_like_path(p))
    if name in ("chmod", "chown", "chgrp", "chattr", "setfacl", "chflags"):
        e.chmods.extend(pos[1:])
    if name in ("tar", "gtar", "bsdtar", "zip", "7z", "rsync"):
        e.reads.extend(p for p in pos if p not in e.reads)   # an archive of a folder reads all of it
    if _extracts(name, args):   # an archive unpacked somewhere writes anything under it (.bashrc too)
        d = _option_values(args, ("-C", "--directory", "-d")) if name != "7z" else \
            [a[2:] for a in args if a.startswith("-o")]
        e.writes.append((d[0].rstrip("/") if d else ".") + "/**")
    if cmd.argv and "/" in cmd.argv[0] and DYN not in cmd.argv[0]:
        e.executes.append(cmd.argv[0])          # ./build.sh, /tmp/x
    elif name in SHELLS or name in ("source", ".") or re.match(r"(python[0-9.]*|node|perl|ruby|php)$", name):
        script = next((a for a in args if not a.startswith("-")), None) if _dash_c(args) is None and \
            not any(a in ("-c", "-e", "-m", "-r", "-p", "--eval") for a in args) else None
        if script and DYN not in script and not script.startswith("/dev/fd/"):
            e.executes.append(script)           # bash x.sh, python tool.py, source env.sh
    _signals(cmd, pos, e)
    _persistence(cmd, pos, e)
    if cmd.runs_download or cmd.executes_input() and (cmd.feeds & FETCHERS):
        e.runs_fetched = True
    e.via = cmd.via
    # Paths given as option values: `curl -d @file`, `--upload-file f`, `-i key`, `--post-file`.
    for v in _option_values(args, ("-d", "--data", "--data-binary", "--data-urlencode", "--json", "-F", "--form")):
        for part in re.findall(r"(?:^|=)[@<]([^;\s]+)", v):
            e.reads.append(part)
    e.reads.extend(_option_values(args, ("-T", "--upload-file", "--post-file", "--body-file", "-i", "--key",
                                         "--cert", "--netrc-file", "-K", "--config")))
    e.reads = [p for p in e.reads if p and p != "-"]
    e.paths = [p for p in dict.fromkeys(e.reads + e.writes + e.deletes + [p for p in pos if looks_like_path(p)])]
    if name in NET_COMMANDS or (name == "git" and pos[:1] and pos[0] in ("clone", "fetch", "pull", "push", "ls-remote", "remote")):
        _network(cmd, pos, e)
    return e


FETCHERS = {"curl", "wget", "fetch", "aria2c", "http", "https", "xh", "nc", "ncat", "socat", "base64-decode",
            "xxd-decode", "openssl-decode"}
VCS_OR_URL = re.compile(r"^(git\+|hg\+|svn\+|bzr\+|https?://|git://|ssh://|github:|gitlab:|bitbucket:|gist:)|"
                        r"\.(tar\.gz|tgz|whl|zip)$|^[\w.-]+/[\w.-]+(#.*)?$")
PACKAGE_SOURCE_KEYS = re.compile(r"(?i)registry|index-url|extra-index-url|trusted-host|find-links|proxy|"
                                r"script-shell|node-options|channels|sources|repositories|cafile|strict-ssl")
INSTALLERS = {"pip": "install", "pip3": "install", "pipx": "install", "uv": "install", "poetry": "add", "npm": "install",
              "pnpm": "add", "yarn": "add", "bun": "add", "gem": "install", "cargo": "install", "go": "install"}


def _extracts(name: str, args: list[str]) -> bool:
    if name in ("tar", "gtar", "bsdtar"):
        first = args[0] if args else ""
        return any(a in ("-x", "--extract", "--get") for a in args) or \
            (not first.startswith("--") and "x" in first.lstrip("-") and len(first) <= 6)
    return name in ("unzip", "cpio") or (name == "7z" and args[:1] == ["x"])


def _signals(cmd: SimpleCommand, pos: list[str], e: Effects) -> None:
    """Which processes a command signals: "all" (kill -1, killall5, pkill -u me), a port, a name."""
    name, args = cmd.name, cmd.args
    if name == "kill":
        rest = list(args)
        if rest[:1] and rest[0] in ("-s", "-n", "--signal"):
            rest = rest[2:]
        elif len(rest) > 1 and re.fullmatch(r"-(\d+|[A-Za-z]+[A-Za-z0-9+-]*)", rest[0]):
            rest = rest[1:]   # the signal: -9, -KILL, -SIGTERM, -RTMIN+1
        elif len(rest) == 1 and re.fullmatch(r"-([2-9]\d*|1\d+|[A-Z]+[A-Z0-9+-]*)", rest[0]):
            rest = []         # `kill -9` alone: a signal, the pids come later (xargs)
        if rest[:1] == ["--"]:
            rest = rest[1:]
        if any(a in ("-l", "-L", "--list") for a in args[:1]):
            rest = []
        for t in rest:
            if t in ("-1", "0", "-0"):
                e.signals.append("all" if t == "-1" else "group")
            elif DYN in t:
                e.signals.append("pid:?")
            else:
                e.signals.append(f"pid:{t}")
    elif name == "killall5":
        e.signals.append("all")
    elif name in ("pkill", "killall", "skill", "slay"):
        if any(a in ("-u", "-U", "--user", "-e") for a in args) and not pos[1:] and len(pos) <= 1 or \
                any(p in (".", ".*", "^", "") for p in pos):
            e.signals.append("all")
        e.signals.extend(f"name:{p}" for p in pos)
    elif name == "fuser" and any(a.startswith("-") and "k" in a[1:] and not a.startswith("--") for a in args):
        for p in pos:
            m = re.match(r"^(\d+)/(tcp|udp)$|^:(\d+)$", p)
            e.signals.append(f"port:{m.group(1) or m.group(3)}" if m else f"file:{p}")
    elif name in ("systemctl", "service", "launchctl", "docker", "podman") and \
            any(a in ("stop", "kill", "disable", "mask", "unload", "bootout", "remove", "rm") for a in pos[:2]):
        e.signals.extend(f"name:{p}" for p in pos[1:])


def _persistence(cmd: SimpleCommand, pos: list[str], e: Effects) -> None:
    """Configuration that outlives the command: git config keys that run code, schedulers, services,
    packages installed straight from a URL or repository (their build scripts run now)."""
    name, args = cmd.name, cmd.args
    if name == "git" and pos[:1] == ["config"]:
        keys = [p for p in pos[1:2] if "." in p]
        for k in keys:
            if GIT_CODE_KEYS.match(k) and not any(a in ("--get", "--get-all", "-l", "--list", "--unset", "--get-regexp")
                                                 for a in args):
                scope = "global" if any(a in ("--global", "--system") for a in args) else "repo"
                e.persists.append(f"git config ({scope}) {k}")
    elif name in SCHEDULERS and not any(a in ("-l", "-q", "list", "print", "-h", "--help") for a in args):
        if name != "launchctl" or any(a in ("load", "bootstrap", "submit", "enable") for a in pos[:1]):
            e.persists.append(f"scheduled job ({name})")
    elif name == "systemctl" and any(a in ("enable", "link", "edit", "preset", "set-environment") for a in pos[:1]):
        e.persists.append(f"service ({' '.join(pos[:2])})")
    elif name in ("npm", "pnpm", "yarn", "pip", "pip3", "uv", "gem", "bundle", "poetry", "conda") and \
            any(p in ("set", "add", "--add") for p in pos[1:3] + args) and pos[:1] and \
            pos[0] in ("config", "sources", "source"):
        keys = " ".join(pos[1:4] + [a for a in args if a.startswith("--")])
        if PACKAGE_SOURCE_KEYS.search(keys) or (name == "gem" and "--add" in args):
            e.persists.append(f"package source ({name} {' '.join(pos[:3])})")
    base = INSTALLERS.get(name)
    if base and pos[:1] and pos[0] in (base, "install", "add", "i") or (name == "uv" and pos[:2] == ["pip", "install"]):
        specs = pos[1:] if name != "uv" or pos[:1] != ["pip"] else pos[2:]
        specs += _option_values(args, ("-e", "--editable"))
        for sp in specs:
            if VCS_OR_URL.search(sp) and not sp.startswith((".", "/")) and not (name in ("go", "cargo") and "/" in sp
                                                                           and "://" not in sp):
                e.runs_fetched = True   # its setup.py / install scripts run now, from wherever the URL says


def _network(cmd: SimpleCommand, pos: list[str], e: Effects) -> None:
    name, args = cmd.name, cmd.args
    for a in args:
        m = URL_RE.match(a)
        if m:
            e.hosts.append(m.group(1).strip("[]").lower())
    if name in ("curl", "wget", "http", "https", "xh", "httpie", "aria2c") and not e.hosts:
        for p in pos:
            if HOSTLIKE_RE.match(p):
                e.hosts.append(re.split(r"[:/]", p, 1)[0].lower())
    if name in ("ssh", "scp", "sftp", "rsync"):
        for p in pos:
            m = REMOTE_SPEC_RE.match(p)
            if m:
                e.hosts.append(m.group(1).lower())
        if name == "ssh" and pos and not e.hosts:
            e.hosts.append(pos[0].split("@")[-1].lower())
    if name in ("nc", "ncat", "netcat", "telnet", "socat") and pos and "-l" not in args and "--listen" not in args:
        host = pos[0]
        if name == "socat":
            m = re.search(r"TCP[46]?:([^:,]+):", " ".join(args), re.I)
            host = m.group(1) if m else ""
        if host:
            e.hosts.append(host.lower())
    e.hosts = [h for h in dict.fromkeys(e.hosts) if h and DYN not in h] + \
              (["<dynamic>"] if any(DYN in h for h in e.hosts) else [])
    # Does it send data (file contents, piped output, command substitution) there?
    stdin_fed = bool(cmd.feeds) or any(op in ("<", "<<<", "<<", "<<-") for op, _ in cmd.redirects)
    if name in ("curl", "http", "https", "xh", "httpie"):
        vals = _option_values(args, ("-d", "--data", "--data-binary", "--data-raw", "--data-urlencode", "--json",
                                     "-F", "--form", "-T", "--upload-file"))
        if any(v.startswith("@") or "=@" in v or "=<" in v or DYN in v or v == "-" for v in vals):
            e.sends_data = True
        if any(a in ("-T", "--upload-file") for a in args):
            e.sends_data = True
        if name in ("http", "https", "xh", "httpie") and (stdin_fed or any("=@" in a or ":=@" in a or "@" == a[:1] for a in pos[1:])):
            e.sends_data = True
        if any(DYN + "subst" + DYN in a for a in args if URL_RE.match(a)):
            e.sends_data = True   # data smuggled in the URL: https://x/?d=$(cat ~/.ssh/id_rsa)
        if stdin_fed and any(v in ("@-", "-") for v in vals):
            e.sends_data = True
    elif name == "git":
        if pos[:1] == ["push"]:
            # pushing sends the repository off the machine; to a host named on the command line,
            # that host is known (and judged against allowed_hosts), else it is the remote's
            e.sends_data = True
    elif name == "wget":
        if _option_values(args, ("--post-file", "--body-file")) or \
                any(DYN in v for v in _option_values(args, ("--post-data", "--body-data"))):
            e.sends_data = True
        if any(DYN + "subst" + DYN in a for a in args if URL_RE.match(a)):
            e.sends_data = True
    elif name in ("nc", "ncat", "netcat", "telnet", "socat"):
        if stdin_fed or any(a in ("-e", "-c", "--exec", "--sh-exec") for a in args) or "exec:" in " ".join(args).lower():
            e.sends_data = True
    elif name in ("scp", "rsync"):
        if pos and REMOTE_SPEC_RE.match(pos[-1]):
            e.sends_data = True
    elif name == "ssh" and stdin_fed:
        e.sends_data = True
    if name in ("curl", "wget", "http", "https", "xh", "httpie", "nc", "ncat", "ssh", "aria2c") and \
            any(DYN + "subst" + DYN in a for a in args):
        e.sends_data = True   # a value computed at run time goes out: `-H "X: $(env | base64)"`
    elif name == "ftp" or name == "lftp" or name == "smbclient":
        e.sends_data = stdin_fed or "put" in " ".join(args)


def effects(command: str, cwd: str | None = None, home: str = "~") -> Effects:
    """Everything a shell command line would do, at every depth (pipes, `bash -c`, `$()`, xargs,
    interpreters, inline code judged by its worst case), as one Effects.

    The seam for other policies: redaction asks `effects(cmd).egress` before restoring a secret
    into a tool call, and `destinations` says where the data would go."""
    from .shell import parse_shell   # local: shell imports nothing from here, keep it that way
    total = Effects()
    for cmd in parse_shell(command, cwd, home):
        total.merge(effects_of(cmd))
        if cmd.via == "limit":   # too deep to read: assume the worst for egress
            total.sends_data = True
    return total
