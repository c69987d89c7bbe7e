"""The last step before a hand-in's code runs: the allowed imports on `sys.path`, then the layers
that need no privilege, Landlock and seccomp (each only where its probe found it holds).

With each `spawn` the trusted side sends what a hand-in may read (its `paths.py`) and which of
these layers to use: `{"read": [...], "hidden": [...], "imports": folder or None, "layers":
[...]}`. The host turns that into Landlock rules once (`prepare`, before it forks), so each
hand-in only installs them.
"""
import json
import os
import sys

from . import landlock, seccomp

_prepared = {}  # the `confine` message, as JSON -> landlock.Rules


def probe():
    return {"landlock": landlock.probe(), "seccomp": seccomp.probe()}


def prepare(confine, held):
    """In the host: open what Landlock will allow (once per distinct message)."""
    key = json.dumps(confine, sort_keys=True)
    if "landlock" in confine["layers"] and held.get("landlock") is None and key not in _prepared:
        for rules in _prepared.values():
            rules.close()
        _prepared.clear()
        _prepared[key] = landlock.Rules(landlock.abi(), confine["read"], confine["hidden"])
    return _prepared.get(key)


def apply(confine, held, scratch):
    """In the hand-in's process, right before its code runs. A layer the probe found usable
    that fails now ends the process: a result must never claim a layer that did not hold."""
    if confine.get("imports"):
        sys.path.append(confine["imports"])
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"  # one engine, one core: no thread pool per import
    wanted = [name for name in confine["layers"] if held.get(name) is None]
    if "landlock" in wanted:
        landlock.restrict(prepare(confine, held), scratch)
    if "seccomp" in wanted:
        seccomp.apply()
