"""Folders a grader process makes for itself carry its process id in their names, so that what
a process leaves when it dies without cleaning up (a batch worker or the service killed, the
machine out of memory) is removed by the next grader that makes such a folder: a sandbox's
scratch may hold a hand-in's files, the service's a student's code. A folder whose process is
alive is never removed, nor one of another user's, nor one made in another pid namespace (a
container sharing the folder: its process ids are not ours to look up), which names carry too.
"""
from __future__ import annotations

import functools
import os
import shutil
import tempfile


def prefix(kind: str, parent: str | None = None) -> str:
    """The name prefix of this process's new folder of `kind` ("grader-sandbox-", say) in
    `parent` (the usual temporary folder), once the folders of `kind` that dead processes
    left there are gone."""
    sweep(kind, parent or tempfile.gettempdir())
    return f"{kind}{os.getpid()}-{namespace()}-"


def sweep(kind: str, parent: str) -> None:
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(kind):
            continue
        pid, _, rest = entry.name[len(kind):].partition("-")
        if not pid.isdigit() or not rest.startswith(namespace() + "-") or alive(int(pid)):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid == os.geteuid():
                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            pass


@functools.cache
def namespace() -> str:
    """This process's pid namespace (its inode number), "0" where it cannot be read."""
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return "0"


def alive(pid: int) -> bool:
    """Whether process `pid` runs: a zombie does not (its parent, or an init that does not
    reap, keeps only its pid)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")  # without /proc, nothing is known dead
    except OSError:
        return True
    return stat[stat.rindex(b")") + 2:][:1] not in (b"Z", b"X")
