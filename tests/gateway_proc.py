"""Run the real gateway (`kt gateway run`, a mitmproxy process) for tests, on free loopback ports.

    gw = Gateway(tmp_path, upstream=fake.url).start()
    gw.base_url      # http://127.0.0.1:PORT/v1   (reverse mode)
    gw.proxy_url     # http://127.0.0.1:PORT2     (explicit HTTPS proxy)
    gw.audit_db, gw.ca_cert, gw.log_text(), gw.stop()
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KT = Path(sys.executable).with_name("kt")
DEFAULT_PACK = ROOT / "policies" / "codex-cli.yaml"

# Variables that would route or trust traffic differently on a developer's machine.
_STRIP = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
          "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CODEX_CA_CERTIFICATE", "NODE_EXTRA_CA_CERTS",
          "OPENAI_BASE_URL", "OPENAI_API_KEY", "KEEPTRUSTS_UPSTREAM_URL", "KEEPTRUSTS_API_URL", "KEEPTRUSTS_GATEWAY_TOKEN")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _STRIP}
    env.update(extra)
    return env


class Gateway:
    def __init__(self, tmp: Path, upstream: str, config: str | Path | None = None, args: list[str] | None = None,
                 env: dict | None = None, certs: Path | None = None):
        self.tmp = Path(tmp)
        self.upstream = upstream
        self.config = Path(config) if config else DEFAULT_PACK
        self.args = list(args or [])
        self.port = free_port()
        self.proxy_port = free_port()
        self.home = self.tmp / "kt-home"
        self.audit_db = self.tmp / "audit.db"
        # One CA per test session keeps startup fast; tests that need their own pass `certs`.
        self.certs = certs or Path(os.environ.get("KT_TEST_CERTS", ROOT / ".cache" / "test-certs"))
        self.log_path = self.tmp / f"gateway-{self.port}.log"
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def ca_cert(self) -> Path:
        return self.certs / "mitmproxy-ca-cert.pem"

    def env(self) -> dict:
        return clean_env(KEEPTRUSTS_HOME=str(self.home), KEEPTRUSTS_CERTS=str(self.certs), **self.extra_env)

    def command(self) -> list[str]:
        return [str(KT), "gateway", "run", "--policy-config", str(self.config),
                "--listen", f"127.0.0.1:{self.port}", "--proxy-listen", f"127.0.0.1:{self.proxy_port}",
                "--upstream", self.upstream, "--audit-db", str(self.audit_db), *self.args]

    def start(self, timeout: float = 180) -> "Gateway":
        self.home.mkdir(parents=True, exist_ok=True)
        self.certs.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.env(), cwd=self.tmp)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                if self.health()["status"] in ("healthy", "degraded"):
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"gateway not healthy after {timeout}s:\n{self.log_text()}")

    def health(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
            return json.loads(r.read())

    def admin_headers(self) -> dict:
        """The admin token header `kt` sends to the control endpoints (/keeptrusts/...)."""
        try:
            return {"x-keeptrusts-admin-token": (self.home / "admin-token").read_text().strip()}
        except FileNotFoundError:
            return {}

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            req = urllib.request.Request(f"{self.url}{path}", headers=self.admin_headers())
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> "Gateway":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def audit_rows(db: Path, with_body: bool = True) -> list[dict]:
    """Every exchange row of a real audit database, oldest first (request bodies reassembled)."""
    from keeptrusts.audit.queries import EventStore

    with EventStore(db) as store:
        rows = store.select()
        return [store.get(r["id"], with_body=True) if with_body else r for r in rows]


def wait_rows(db: Path, n: int, timeout: float = 10) -> list[dict]:
    """Audit rows once at least n exist (the writer thread commits off the hot path)."""
    deadline = time.monotonic() + timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        if Path(db).exists():
            rows = audit_rows(db)
            if len(rows) >= n:
                return rows
        time.sleep(0.05)
    raise AssertionError(f"expected {n} audit rows in {db}, found {len(rows)}")
