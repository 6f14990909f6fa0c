"""The tamper-evident audit trail: store, writer thread, hash chain, verify, rotate, queries, outbox."""
from .chain import GENESIS, HMAC_ENV, key_from_env
from .writer import AuditError, AuditWriter

__all__ = ["AuditWriter", "AuditError", "GENESIS", "HMAC_ENV", "key_from_env", "ControlPlaneConfig"]


def __getattr__(name):
    if name == "ControlPlaneConfig":
        from .outbox import ControlPlaneConfig
        return ControlPlaneConfig
    raise AttributeError(name)
