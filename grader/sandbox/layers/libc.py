"""The few system calls the layers need that Python's `os` module lacks (3.10 has no
`os.unshare`), through ctypes, raising OSError as `os` does."""
import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)


def call(name, *args):
    result = getattr(_libc, name)(*args)
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")
    return result


def capabilities():
    """This process's effective capabilities, as a bit mask."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


CAP_CHOWN, CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN = 0, 5, 6, 7, 21
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38


def has(*caps):
    mask = capabilities()
    return all(mask >> cap & 1 for cap in caps)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


def drop_privileges():
    """Give up every capability (effective, permitted, inheritable; ambient go with them) and
    any way to gain one back: with no_new_privs, no program run later brings any, not even
    one run as root."""
    data = (ctypes.c_uint32 * 6)()
    call("capset", ctypes.byref(_CapHeader(0x20080522, 0)), data)
    call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def die_with_parent():
    """SIGKILL when the parent ends (a change of uid clears this: set it again after one)."""
    call("prctl", PR_SET_PDEATHSIG, 9, 0, 0, 0)


def holds_in_child(confine, attempt, refused=OSError):
    """Whether a layer holds here: a throw-away child applies it with `confine()`, then tries
    what it must stop with `attempt()`, which must raise `refused`."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            confine()
            try:
                attempt()
            except refused:
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
