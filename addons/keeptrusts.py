"""mitmdump entry point: `mitmdump -s addons/keeptrusts.py --set keeptrusts_config=FILE ...`.

The addon lives in the installed `keeptrusts` package (src/keeptrusts/addon.py); run
`scripts/install` first, or put src/ on PYTHONPATH.
"""
try:
    from keeptrusts.addon import Keeptrusts
except ImportError as exc:  # pragma: no cover - a clear message instead of a traceback
    raise ImportError("keeptrusts is not installed in this Python: run scripts/install and use .venv/bin/mitmdump") from exc

addons = [Keeptrusts()]
