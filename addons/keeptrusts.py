"""mitmdump entry point: `mitmdump -s addons/keeptrusts.py --set keeptrusts_config=FILE ...`.

The addon lives in the `keeptrusts` package (src/keeptrusts/addon.py). mitmproxy puts this folder
first on sys.path, where this very file would shadow the package of the same name, so the folder
is taken off the path for the import; src/ of this checkout is the fallback when the package is
not installed in mitmdump's Python.
"""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
if getattr(sys.modules.get("keeptrusts"), "__file__", None) == os.path.abspath(__file__):
    del sys.modules["keeptrusts"]
try:
    from keeptrusts.addon import Keeptrusts
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(_here), "src"))
    from keeptrusts.addon import Keeptrusts

addons = [Keeptrusts()]
