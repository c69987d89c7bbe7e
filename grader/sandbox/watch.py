"""The scratch cap where no file system of fixed size can be mounted (no CAP_SYS_ADMIN and no
user namespace: a platform's container, or user namespaces off).

There the host gives each hand-in a private folder of its own working folder (host.py), which
nothing caps but the per-file limit (RLIMIT_FSIZE). The trusted side watches that folder
instead: inotify tells it when anything below changes, and a poll while it waits for an answer
is the backstop for what inotify can miss (a queue overflow, a folder made before its watch).
Either way it then measures the folder (blocks in use, entries) and, past the cap, the hand-in
is stopped (client.py) and its result says why. The overshoot is what the hand-in writes
between two measurements: at most a file's worth each time it is noticed.
"""
from __future__ import annotations

import ctypes
import os

IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x2, 0x8, 0x80, 0x100
IN_NONBLOCK, IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
EVENTS = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
POLL = 0.2  # seconds between measurements while waiting, whatever inotify says
MOST_ENTRIES = 4096  # as the scratch tmpfs's nr_inodes (layers/scratch.py)

_libc = ctypes.CDLL(None, use_errno=True)


class Watch:
    """inotify on `root` (and every folder below it) for files over `cap` bytes together."""

    def __init__(self, root: str, cap: int):
        self.root, self.cap = root, cap
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            self.fd = None  # no inotify here (or no watches left): the poll alone
        self._add(root)

    def fileno(self) -> int | None:
        return self.fd

    def _add(self, folder: str) -> None:
        if self.fd is not None:
            _libc.inotify_add_watch(self.fd, os.fsencode(folder), EVENTS)

    def drain(self) -> None:
        """Forget what inotify said: the measurement that follows looks at everything."""
        while self.fd is not None:
            try:
                if not os.read(self.fd, 1 << 16):
                    return
            except (BlockingIOError, InterruptedError):
                return

    def over(self) -> str | None:
        """Why the folder is over its cap now, or None. Watches every folder it walks."""
        self.drain()
        used, entries, folders = 0, 0, [self.root]
        while folders:
            folder = folders.pop()
            try:
                with os.scandir(folder) as it:
                    for entry in it:
                        entries += 1
                        if entries > MOST_ENTRIES:
                            return f"more than {MOST_ENTRIES} files and folders"
                        try:
                            st = entry.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        used += st.st_blocks * 512
                        if entry.is_dir(follow_symlinks=False):
                            self._add(entry.path)
                            folders.append(entry.path)
            except OSError:
                continue
        if used > self.cap:
            return f"{used / (1 << 20):.0f} MiB written"
        return None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
