"""Start `kt gateway run` as a subprocess on free 127.0.0.1 ports, with its state in a temp dir."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mitm import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
KT = Path(sys.executable).with_name("kt")


class Gateway:
    """`with Gateway(tmp, upstream=fake.url) as gw:` gw.base_url (reverse), gw.proxy_url (explicit), gw.ca_path."""

    def __init__(self, tmp: Path, upstream: str, *, policy: Path | None = None, upstream_ca: Path | None = None,
                 intercept_hosts: str = "", extra_args: tuple = ()):
        self.tmp = tmp
        self.policy = policy or ROOT / "policies" / "codex-cli.yaml"
        self.upstream, self.upstream_ca = upstream, upstream_ca
        self.intercept_hosts, self.extra_args = intercept_hosts, extra_args
        self.port, self.proxy_port = free_port(), free_port()
        self.audit_db = tmp / "audit.db"
        self.certs = tmp / "certs"
        self.log = tmp / "gateway.log"
        self.env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        self.env.update(KEEPTRUSTS_HOME=str(tmp / "kt-home"), KEEPTRUSTS_CERTS=str(self.certs),
                        KEEPTRUSTS_AUDIT_DB=str(self.audit_db))
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def ca_path(self) -> Path:
        return self.certs / "mitmproxy-ca-cert.pem"

    def __enter__(self) -> "Gateway":
        cmd = [str(KT), "gateway", "run", "--policy-config", str(self.policy),
               "--listen", f"127.0.0.1:{self.port}", "--proxy-listen", f"127.0.0.1:{self.proxy_port}",
               "--upstream", self.upstream, "--audit-db", str(self.audit_db), "--log-level", "debug", *self.extra_args]
        if self.upstream_ca:
            cmd += ["--upstream-ca", str(self.upstream_ca)]
        if self.intercept_hosts:
            cmd += ["--intercept-hosts", self.intercept_hosts]
        self._log = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=self.env, cwd=ROOT)
        try:
            wait_port(self.port, self.proc, 120)  # generous: gateway start loads the NLP engine, slow on a busy CI box
            wait_port(self.proxy_port, self.proc, 30)
        except Exception:
            self.__exit__()
            raise RuntimeError(f"kt gateway run did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
        return self

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")
