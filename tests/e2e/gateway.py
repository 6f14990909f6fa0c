"""The e2e tests' gateway: the shared `tests/gateway_proc.Gateway`, with the e2e defaults
(debug logs, its own CA in the temp dir, an optional private upstream CA and intercept list)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gateway_proc import Gateway as _Gateway  # noqa: E402


class Gateway(_Gateway):
    """`with Gateway(tmp, upstream=fake.url) as gw:` gw.base_url (reverse), gw.proxy_url (explicit), gw.ca_path."""

    def __init__(self, tmp: Path, upstream: str, *, policy: Path | None = None, upstream_ca: Path | None = None,
                 intercept_hosts: str = "", extra_args: tuple = ()):
        args = ["--log-level", "debug", *extra_args]
        if upstream_ca:
            args += ["--upstream-ca", str(upstream_ca)]
        if intercept_hosts:
            args += ["--intercept-hosts", intercept_hosts]
        super().__init__(Path(tmp), upstream, config=policy, args=args, certs=Path(tmp) / "certs")

    @property
    def ca_path(self) -> Path:
        return self.ca_cert
