"""The local admin token: what the gateway's control endpoints (/keeptrusts/... but /health and
/metrics) require, so that a web page or another local user's process cannot reload the config or
read the running setup. It lives in the state dir, readable by its owner only; `kt` reads it there.
"""
from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from . import paths

HEADER = "x-keeptrusts-admin-token"
FILENAME = "admin-token"


def token_path() -> Path:
    return paths.state_dir() / FILENAME


def admin_token(create: bool = True) -> str | None:
    """The token, created (0600) on first use when `create`; None when absent and not created."""
    path = token_path()
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        if not create:
            return None
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "kt_admin_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def headers() -> dict[str, str]:
    """Headers for a `kt` command calling the running gateway's control endpoints."""
    token = admin_token(create=False)
    return {HEADER: token} if token else {}


def check(presented: str | None, expected: str | None) -> bool:
    return bool(presented and expected and hmac.compare_digest(presented.strip(), expected))
