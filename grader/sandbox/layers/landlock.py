"""Landlock: the kernel's unprivileged file and network confinement (Linux 5.13+).

Works without root and inside Docker, where bubblewrap's namespaces are refused. A confined
hand-in may read (and run) only what `read` names, minus what `hidden` names; write only in its
scratch folder; not connect or bind TCP (Landlock ABI 4+); not signal or reach an abstract unix
socket outside its own processes (ABI 6+). Landlock only allows (it has no "deny beneath"), so a
hidden folder inside a readable one is carved out: its parent is replaced by its other entries.

Three syscalls through ctypes, numbered the same on every architecture.
"""
import ctypes
import os
import struct

from . import libc

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2
PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
# every filesystem right each ABI knows: what is handled and not granted is denied
FS_RIGHTS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1,
             5: (1 << 16) - 1}
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # truncate, ioctl_dev
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
READ = EXECUTE | READ_FILE | READ_DIR

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def abi() -> int:
    """The kernel's Landlock ABI version; raises OSError when it has none or refuses it."""
    n = _libc.syscall(CREATE_RULESET, None, ctypes.c_size_t(0),
                      ctypes.c_uint32(CREATE_RULESET_VERSION))
    if n < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    return n


def probe():
    """None when Landlock can confine a process here, else why not."""
    try:
        version = abi()
    except OSError as e:
        import errno
        return {errno.ENOSYS: "this kernel has no Landlock",
                errno.EOPNOTSUPP: "Landlock is turned off on this machine",
                errno.EPERM: "Landlock is refused here (a seccomp policy)"}.get(
                    e.errno, f"Landlock is not available ({os.strerror(e.errno)})")
    return _trial(version)


def _trial(version):
    """Confine a throw-away child to nothing and check it can no longer read "/"."""
    if libc.holds_in_child(lambda: restrict(Rules(version, read=[], hidden=[]), scratch=None),
                           lambda: os.listdir("/"), PermissionError):
        return None
    return "Landlock did not confine a test process"


class Rules:
    """What a hand-in may read, opened once in the host so each hand-in only adds rules."""

    def __init__(self, version, read, hidden):
        self.version = version
        self.fs = FS_RIGHTS.get(version, FS_RIGHTS[5])
        self.net = NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0
        self.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0
        self.fds, self.attrs = [], []  # O_PATH fds kept open; each one's rule, packed
        for path in _carve(read, hidden):
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            self.fds.append(fd)
            access = (READ if os.path.isdir(path) else READ & FILE_ONLY) & self.fs
            self.attrs.append(_path_beneath.pack(access, fd))

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds, self.attrs = [], []


def _carve(read, hidden):
    """`read` as paths Landlock can allow whole: any folder that holds a hidden path is replaced
    by its entries, recursively, leaving out the hidden ones."""
    hidden = {os.path.realpath(h) for h in hidden}
    out = []

    def add(real):
        if real in hidden:
            return
        if not any(h.startswith(real.rstrip("/") + "/") for h in hidden):
            out.append(real)
            return
        try:
            entries = list(os.scandir(real))
        except OSError:
            return
        for entry in entries:  # a link may lead anywhere: follow it before deciding
            add(os.path.realpath(entry.path) if entry.is_symlink() else entry.path)

    for path in read:
        if os.path.exists(path):
            add(os.path.realpath(path))
    return sorted(set(out))


_ruleset_attr = struct.Struct("=QQQ")      # handled_access_fs, handled_access_net, scoped
_path_beneath = struct.Struct("=Qi")       # allowed_access, parent_fd (packed)


def restrict(rules, scratch):
    """Confine this process (and everything it starts) for good. Sets no_new_privs."""
    attr = _ruleset_attr.pack(rules.fs, rules.net, rules.scoped)
    size = 8 if rules.version < 4 else 16 if rules.version < 6 else 24
    ruleset = _libc.syscall(CREATE_RULESET, ctypes.c_char_p(attr[:size]),
                            ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        for attr in rules.attrs:
            _add(ruleset, attr)
        if scratch is not None:
            fd = os.open(scratch, os.O_PATH | os.O_CLOEXEC)
            try:
                _add(ruleset, _path_beneath.pack(rules.fs, fd))
            finally:
                os.close(fd)
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
        if _libc.syscall(RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def _add(ruleset, attr):
    if _libc.syscall(ADD_RULE, ruleset, RULE_PATH_BENEATH, attr, 0) != 0:
        raise OSError(ctypes.get_errno(), "landlock_add_rule")
