# base: reference. At import, for each isolation layer, tries what that layer alone stops in
# some condition the tests make, and prints one line per attempt: `layer LAYER WHAT: refused`
# or `layer LAYER WHAT: DONE`. SECRET is a file of root's, readable by root alone, that the
# test puts among Python's runtime (shown to hand-ins); SCRATCH_MB and FILE_MB the limits.
import ctypes as _ct
import errno as _errno
import os as _os
import socket as _socket


def _try(layer, what, attempt):
    try:
        attempt()
    except OSError as e:
        print(f"layer {layer} {what}: refused ({_errno.errorcode.get(e.errno, e.errno)})", flush=True)
        return
    print(f"layer {layer} {what}: DONE", flush=True)


_libc = _ct.CDLL(None, use_errno=True)
_libc.syscall.restype = _ct.c_long


def _call(name, *args):
    def attempt():
        r = getattr(_libc, name)(*args)
        if r == -1:
            raise OSError(_ct.get_errno(), name)
    return attempt


def _udp():
    _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM).close()


def _pair():
    for s in _socket.socketpair():
        s.close()


def _unix():
    _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM).close()


def _raw():
    _socket.socket(_socket.AF_PACKET if hasattr(_socket, "AF_PACKET") else _socket.AF_INET,
                   _socket.SOCK_RAW).close()


_io_uring = {"x86_64": 425, "aarch64": 425}.get(_os.uname().machine)
_bpf = {"x86_64": 321, "aarch64": 280}.get(_os.uname().machine)
_keyctl = {"x86_64": 250, "aarch64": 219}.get(_os.uname().machine)
_params = (_ct.c_char * 120)()
# seccomp: every new socket or connection, and the kernel facilities an engine never needs
_try("seccomp", "udp socket", _udp)
_try("seccomp", "unix socket", _unix)
_try("seccomp", "socketpair", _pair)
_try("seccomp", "ptrace", _call("ptrace", 0, 0, 0, 0))  # PTRACE_TRACEME
_try("seccomp", "unshare", _call("unshare", 0x10000000))  # CLONE_NEWUSER
_try("seccomp", "io_uring_setup", _call("syscall", _io_uring, 1, _params))
_try("seccomp", "keyctl", _call("syscall", _keyctl, 0, -3, 1))  # the session keyring's id
# landlock: /proc, which every other layer leaves readable
_try("landlock", "read /proc/self/status", lambda: open("/proc/self/status").read())
# namespaces: even where Landlock refuses to read it, a file outside the view can be found
_try("namespaces", "stat /etc/passwd", lambda: _os.stat("/etc/passwd"))


# pidns: the host that started it, addressed by pid (getsid takes no signal: Landlock lets it)
def _host():
    if _os.getppid() == 0:
        raise OSError(_errno.ESRCH, "no parent in view")
    _os.getsid(_os.getppid())


_try("pidns", "reach the host's process", _host)
# uid: a file of root's that only root may read, among files every hand-in may read
_try("uid", "read a file of root's", lambda: open("SECRET").read())


# rlimits: one file larger than the per-file limit
def _big():
    with open("big-file", "wb") as f:
        for _ in range(2 * FILE_MB):
            f.write(b"\0" * (1 << 20))


try:
    _try("rlimits", "write a file over FILE_MB MiB", _big)
finally:
    if _os.path.exists("big-file"):
        _os.unlink("big-file")
