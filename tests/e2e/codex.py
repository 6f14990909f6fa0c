"""Drive the real Codex CLI (`codex exec --json`) in a throwaway CODEX_HOME and workspace."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Variables that would point Codex somewhere else or change its TLS trust; tests set their own.
SCRUBBED = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "all_proxy", "no_proxy",
            "SSL_CERT_FILE", "SSL_CERT_DIR", "CODEX_CA_CERTIFICATE", "NODE_EXTRA_CA_CERTS", "OPENAI_BASE_URL",
            "OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_HOME", "RUST_LOG")
DUMMY_KEY = "sk-test-keeptrusts-dummy-0000"
# The machine's environment as pytest started (before tests/conftest.py scrubs proxies per test):
# npm needs this machine's proxy and CA settings to install Codex behind a TLS-inspecting proxy.
MACHINE_ENV = dict(os.environ)


def missing_node_reason() -> str | None:
    """Why Codex cannot run here, or None. Only a missing Node/npm is a reason to skip."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: Codex CLI end-to-end tests need Node.js >= 16 with npm"
    return None


def install_codex() -> Path:
    """The codex binary of CODEX_VERSION, else the pinned one (scripts/install-codex: npm into
    .cache/codex/<version>, cached; scripts/test installs it before pytest starts)."""
    out = subprocess.run([str(ROOT / "scripts" / "install-codex")], capture_output=True, text=True, timeout=600,
                         env=MACHINE_ENV)
    if out.returncode != 0:
        raise RuntimeError(f"scripts/install-codex failed:\n{out.stderr}")
    return Path(out.stdout.strip().splitlines()[-1])


def codex_version(binary: Path) -> str:
    """`codex --version` of an installed binary, e.g. "codex-cli 0.169.0"."""
    return subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()


@dataclass
class CodexRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    events: list = field(default_factory=list)

    def items(self, type_: str) -> list[dict]:
        return [e["item"] for e in self.events if e.get("type") == "item.completed" and e["item"].get("type") == type_]

    @property
    def commands(self) -> list[dict]:
        return self.items("command_execution")

    @property
    def messages(self) -> list[str]:
        return [i.get("text", "") for i in self.items("agent_message")]

    @property
    def errors(self) -> list[str]:
        out = [e.get("message", "") for e in self.events if e.get("type") == "error"]
        out += [e.get("error", {}).get("message", "") for e in self.events if e.get("type") == "turn.failed"]
        return out

    @property
    def usage(self) -> dict | None:
        done = [e for e in self.events if e.get("type") == "turn.completed"]
        return done[-1].get("usage") if done else None


class Codex:
    """One Codex installation pointed at one base URL. `run(prompt)` runs `codex exec` once."""

    def __init__(self, binary: Path, home: Path, workspace: Path, base_url: str | None, *, api_key: str = DUMMY_KEY,
                 extra_config: str = "", env: dict | None = None):
        self.binary, self.home, self.workspace = binary, home, workspace
        home.mkdir(parents=True, exist_ok=True)
        workspace.mkdir(parents=True, exist_ok=True)
        # Codex ignores OPENAI_BASE_URL; openai_base_url in config.toml is what points it (None: the
        # default https://api.openai.com/v1, for explicit-proxy mode).
        base = f'openai_base_url = "{base_url}"\n' if base_url else ""
        (home / "config.toml").write_text(base + extra_config)
        self.env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        self.env.update(CODEX_HOME=str(home), CODEX_API_KEY=api_key)
        self.env.update(env or {})

    def run(self, prompt: str, *, sandbox: str = "workspace-write", timeout: float = 90, args: tuple = ()) -> CodexRun:
        cmd = [str(self.binary), "exec", "--json", "--skip-git-repo-check", "--sandbox", sandbox,
               "-C", str(self.workspace), *args, prompt]
        start = time.monotonic()
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, cwd=self.workspace)
        events = []
        for line in p.stdout.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
        return CodexRun(p.returncode, p.stdout, p.stderr, time.monotonic() - start, events)
