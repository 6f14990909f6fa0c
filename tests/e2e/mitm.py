"""Start mitmdump (plain, or with the Keeptrusts addon) as a subprocess on a free 127.0.0.1 port."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MITMDUMP = Path(sys.executable).with_name("mitmdump")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class Mitmdump:
    """`with Mitmdump(["--mode", f"reverse:{url}@{port}"], port, log=...) as m:` ... stops it on exit."""

    def __init__(self, args: list[str], port: int, log: Path, env: dict | None = None):
        self.args, self.port, self.log = args, port, log
        self.env = env
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Mitmdump":
        self._log = open(self.log, "wb")
        self.proc = subprocess.Popen([str(MITMDUMP), "--set", "listen_host=127.0.0.1", *self.args],
                                     stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=self.env or dict(os.environ), cwd=ROOT)
        wait_port(self.port, self.proc)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # mitmdump flushes the -w file on SIGTERM
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
