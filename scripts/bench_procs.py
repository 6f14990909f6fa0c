"""The processes a benchmark runs on loopback: the fake OpenAI upstream, bare mitmdump, the gateway.

Each runs in its own process (so the client, the proxy and the upstream do not share a GIL), on a
free 127.0.0.1 port, and is stopped on exit. CPU time and memory are read from /proc.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PACK = ROOT / "policies" / "codex-cli.yaml"
CLK_TCK = os.sysconf("SC_CLK_TCK")

_STRIP = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
          "SSL_CERT_FILE", "OPENAI_BASE_URL", "OPENAI_API_KEY", "KEEPTRUSTS_UPSTREAM_URL", "KEEPTRUSTS_GATEWAY_TOKEN")

# The fake keeps every request it received; a benchmark sends gigabytes, so it forgets them each second.
FAKE_MAIN = """
import sys, threading, time
sys.path.insert(0, {tests!r})
from fake_openai import FakeOpenAI
fake = FakeOpenAI(stall_limit=5.0).start()
print(fake.port, flush=True)
while True:
    time.sleep(1)
    with fake._lock:
        fake.requests.clear()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(**extra) -> dict:
    e = {k: v for k, v in os.environ.items() if k not in _STRIP}
    e.update(extra)
    return e


class Proc:
    def __init__(self, name: str, argv: list[str], port: int | None, workdir: Path, environ: dict):
        self.name, self.port = name, port
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE if port is None else self._log, stderr=self._log,
                                  stdin=subprocess.DEVNULL, env=environ, cwd=workdir)
        if port is None:  # the fake prints its port
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"{name} did not start:\n{self.log_path.read_text()}")
            self.port = int(line)

    @property
    def pid(self) -> int:
        return self.p.pid

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_http(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.url() + path, timeout=2).read()
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"{self.name} not up after {timeout}s")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def memory_kb(self) -> tuple[int, int]:
        """(current RSS, peak RSS) in KiB."""
        rss = hwm = 0
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
        return rss, hwm

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self._log.close()


class Stack:
    """fake upstream + bare mitmdump + gateway (full default chain), all pointing at the same fake."""

    def __init__(self, config: Path = PACK, gateway: bool = True, bare: bool = True):
        self.tmp = Path(tempfile.mkdtemp(prefix="kt-bench-"))
        self.procs: list[Proc] = []
        try:
            self.fake = self._add(Proc("fake", [sys.executable, "-c", FAKE_MAIN.format(tests=str(ROOT / "tests"))],
                                       None, self.tmp, env()))
            self.bare = self.gateway = None
            if bare:
                port = free_port()
                self.bare = self._add(Proc("mitmdump", [str(BIN / "mitmdump"), "-q", "--mode",
                                                        f"reverse:{self.fake.url()}@127.0.0.1:{port}",
                                                        "--set", f"confdir={self.tmp / 'mitm-conf'}"],
                                           port, self.tmp, env()))
            if gateway:
                port = free_port()
                home = self.tmp / "kt-home"
                self.gateway = self._add(Proc("gateway", [str(BIN / "kt"), "gateway", "run", "--policy-config", str(config),
                                                          "--listen", f"127.0.0.1:{port}", "--proxy-listen", "off",
                                                          "--upstream", self.fake.url(), "--audit-db",
                                                          str(self.tmp / "audit.db"), "--log-level", "warn"],
                                              port, self.tmp, env(KEEPTRUSTS_HOME=str(home),
                                                                  KEEPTRUSTS_CERTS=str(self.tmp / "certs"))))
            for p in (self.bare, self.gateway):
                if p is not None:
                    p.wait_http("/health")
        except BaseException:
            self.stop()
            raise

    def _add(self, p: Proc) -> Proc:
        self.procs.append(p)
        return p

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
