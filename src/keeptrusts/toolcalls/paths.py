"""Where a path argument really points, relative to the agent's workspace and home."""
from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from functools import lru_cache

from .shell import DYN

SYSTEM_DIRS = {"/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/var", "/home", "/Users", "/opt", "/boot",
               "/root", "/System", "/Library", "/Applications", "/dev", "/proc", "/sys", "/srv", "/mnt", "/private",
               "/usr/local", "/usr/bin", "/usr/lib", "/var/lib", "/var/log", "/etc/ssh"}
# Deleting or writing in these is scratch work, not damage.
SCRATCH = ("/tmp/", "/var/tmp/", "/private/tmp/", "/private/var/folders/", "/var/folders/", "/dev/shm/")
HOME_RE = re.compile(r"^(/home/[^/]+|/Users/[^/]+|/root)(?=/|$)")


def guess_home(workspace: str | None) -> str:
    m = HOME_RE.match(workspace or "")
    return m.group(1) if m else os.path.expanduser("~")


@lru_cache(maxsize=4096)
def _expand(glob: str, home: str) -> str:
    return home + glob[1:] if glob == "~" or glob.startswith("~/") else glob


@lru_cache(maxsize=256)
def _compiled(globs: tuple[str, ...], home: str) -> tuple[re.Pattern, re.Pattern | None]:
    """`matches` for a literal path as two regexes: on the whole path (a glob; `dir/**` also matches
    dir) and on the basename (`**/name` globs)."""
    full, base = [], []
    for g in globs:
        g = _expand(g, home)
        full.append(fnmatch.translate(g))
        if g.endswith("/**"):
            full.append(fnmatch.translate(g[:-3]))
        if g.startswith("**/"):
            base.append(fnmatch.translate(g[3:]))
    return re.compile("|".join(full) or "(?!)"), re.compile("|".join(base)) if base else None


@lru_cache(maxsize=4096)
def _wild_matches(resolved: str, globs: tuple[str, ...], home: str) -> bool:
    """`matches` for a path argument that is itself a glob (`~/*`, `/home/dev/**/*.pem`): slower, cached."""
    return PathJudge(None, home)._matches_wild(resolved, globs)


class PathJudge:
    def __init__(self, workspace: str | None, home: str):
        self.workspace = posixpath.normpath(workspace) if workspace else None
        self.home = home.rstrip("/") or "/"

    def resolve(self, path: str, cwd: str | None) -> str | None:
        """Absolute normalized path, or None when it depends on run-time values."""
        if not path:
            return None
        if DYN in path:
            # `$UNKNOWN/x` is unknowable; `/abs/$X` still points under /abs.
            head = path.split(DYN, 1)[0]
            if not head.startswith(("/", "~")):
                return None
            path = head + "*"
        if path == "~" or path.startswith("~/"):
            path = self.home + path[1:]
        elif path.startswith("~"):
            user = path[1:].split("/", 1)
            path = "/home/" + user[0] + ("/" + user[1] if len(user) > 1 else "")
        if not path.startswith("/"):
            base = cwd or self.workspace
            if base is None:
                # Unknown workspace: a relative path stays inside unless it climbs out.
                norm = posixpath.normpath(path)
                return None if norm.startswith("..") else "./" + norm
            path = posixpath.join(base, path)
        return posixpath.normpath(path) if not path.startswith("//") else posixpath.normpath(path[1:])

    def expand_glob(self, glob: str) -> str:
        return _expand(glob, self.home)

    def matches(self, resolved: str, globs: list[str]) -> bool:
        wild = any(ch in resolved for ch in "*?[")
        if not wild:   # one compiled regex per glob list (the common case; the loop below is the spec)
            full, base = _compiled(tuple(globs), self.home)
            return bool(full.match(resolved)) or bool(base and base.match(posixpath.basename(resolved)))
        return _wild_matches(resolved, tuple(globs), self.home)

    def _matches_wild(self, resolved: str, globs: tuple[str, ...]) -> bool:
        wild = True
        for g in globs:
            g = self.expand_glob(g)
            if fnmatch.fnmatchcase(resolved, g):
                return True
            if wild and self._glob_arg_hits(resolved, g):
                return True
            if g.endswith("/**") and (resolved == g[:-3] or fnmatch.fnmatchcase(resolved, g[:-3])):
                return True
            if g.startswith("**/") and fnmatch.fnmatchcase(posixpath.basename(resolved), g[3:]):
                return True
        return False

    @staticmethod
    def _glob_arg_hits(arg: str, g: str) -> bool:
        """`cat ~/.ss?/id_rsa`, `cat ~/.aws/cred*`: could the shell's expansion of arg hit g?
        Component by component, and like the shell, `*` / `?` do not match a leading dot."""
        def fits(pats: list[str], names: list[str]) -> bool:
            return len(pats) == len(names) and all(
                fnmatch.fnmatchcase(n, p) and (not n.startswith(".") or p.startswith("."))
                for p, n in zip(pats, names))
        a = arg.split("/")
        if g.endswith("/**"):   # a directory rule: does a directory the argument names fit it?
            b = g[:-3].split("/")
            return len(a) >= len(b) and fits(a[:len(b)], b)
        return fits(a, g.replace("**", "x").replace("*", "x").split("/"))

    def contains(self, resolved: str, globs: list[str]) -> bool:
        """Is `resolved` a directory above one of the globs (`~/.config` above `~/.config/gh/hosts.yml`)?"""
        base = resolved.rstrip("/") + "/"
        for g in globs:
            literal = re.split(r"[*?\[]", self.expand_glob(g), maxsplit=1)[0]
            if literal.startswith(base) and literal != base:
                return True
        return False

    def inside_workspace(self, resolved: str) -> bool:
        if resolved.startswith("./"):
            return True
        ws = self.workspace
        return bool(ws) and (resolved == ws or resolved.startswith(ws.rstrip("/") + "/"))

    def is_scratch(self, resolved: str) -> bool:
        return (resolved + "/").startswith(SCRATCH) or resolved.startswith(self.home + "/.cache/")

    def outside_workspace(self, resolved: str) -> bool:
        return not self.inside_workspace(resolved) and not self.is_scratch(resolved) and \
            not resolved.startswith(("/dev/null", "/dev/std", "/dev/fd/", "/dev/tty"))

    def is_system(self, resolved: str) -> bool:
        r = resolved.rstrip("*").rstrip("/") or "/"
        if r in SYSTEM_DIRS or r == self.home or HOME_RE.fullmatch(r):
            return True
        # the parent of the workspace (or higher) is not ours to delete
        ws = self.workspace
        return bool(ws) and ws != "/" and (ws + "/").startswith(r + "/") and r != ws

    def is_workspace_root(self, resolved: str) -> bool:
        return bool(self.workspace) and resolved.rstrip("*").rstrip("/") in (self.workspace, self.workspace + "/")
