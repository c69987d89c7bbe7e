"""seccomp: a system call filter no process of the hand-in can shed (no_new_privs is set).

Refused, with EPERM: every new socket or connection (socket, socketpair, connect, of any
family: a hand-in needs none, its channels are handed to it before the filter is loaded; so no
network, and no named or abstract Unix socket of another process of the machine, whatever
namespaces exist), io_uring (which opens sockets without socket()), ptrace and reading other processes'
memory, mount and the new mount API, unshare, setns and clone with a namespace flag, and the
kernel facilities an engine never needs (bpf, perf events, keyrings, userfaultfd). clone3 gets
ENOSYS, because its flags sit in memory a filter cannot read; glibc then falls back to clone.

The filter is classic BPF assembled here. It checks the architecture first: a call made through
another ABI (32-bit int 0x80, x32) kills the process instead of slipping past the numbers.
"""
import ctypes
import errno
import functools
import os
import platform
import socket
import struct

from . import libc

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_KILL_PROCESS, RET_ERRNO, RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
CLONE_NAMESPACES = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 |
                    0x20000000 | 0x40000000 | 0x00000080)  # NS CGROUP UTS IPC USER PID NET TIME

# The refused calls by name; each architecture's numbers below.
REFUSED = ("socket", "socketpair", "connect", "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
           "unshare", "setns", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
           "fspick", "mount_setattr", "io_uring_setup", "io_uring_enter", "io_uring_register",
           "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key")
ARCHES = {
    "x86_64": (0xC000003E, 0x40000000, {
        "socket": 41, "connect": 42, "socketpair": 53, "clone": 56, "clone3": 435, "ptrace": 101, "process_vm_readv": 310,
        "process_vm_writev": 311, "mount": 165, "umount2": 166, "pivot_root": 155,
        "unshare": 272, "setns": 308, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "bpf": 321,
        "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248,
        "request_key": 249}),
    "aarch64": (0xC00000B7, None, {
        "socket": 198, "socketpair": 199, "connect": 203, "clone": 220, "clone3": 435, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "mount": 40, "umount2": 39, "pivot_root": 41,
        "unshare": 97, "setns": 268, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "bpf": 280,
        "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219, "add_key": 217,
        "request_key": 218}),
}

# classic BPF
LD_W_ABS, JEQ_K, JSET_K, JGE_K, RET_K = 0x20, 0x15, 0x45, 0x35, 0x06
NR, ARCH, ARG0 = 0, 4, 16  # offsets in struct seccomp_data (arg0's low 32 bits, little-endian)


def _op(code, k, jt=0, jf=0):
    return struct.pack("=HBBI", code, jt, jf, k)


@functools.lru_cache(maxsize=None)  # assembled once in the host, before it forks hand-ins
def program(machine=None):
    """The filter for this machine's architecture, as bytes of `struct sock_filter`."""
    arch, x32_bit, nr = ARCHES[machine or platform.machine()]
    deny = RET_ERRNO | errno.EPERM
    ops = [_op(LD_W_ABS, ARCH), _op(JEQ_K, arch, 1, 0), _op(RET_K, RET_KILL_PROCESS),
           _op(LD_W_ABS, NR)]
    if x32_bit is not None:
        ops += [_op(JGE_K, x32_bit, 0, 1), _op(RET_K, RET_KILL_PROCESS)]
    for name in REFUSED:
        ops += [_op(JEQ_K, nr[name], 0, 1), _op(RET_K, deny)]
    ops += [_op(JEQ_K, nr["clone3"], 0, 1), _op(RET_K, RET_ERRNO | errno.ENOSYS)]
    # clone(flags, ...): no namespace flags
    ops += [_op(JEQ_K, nr["clone"], 0, 3), _op(LD_W_ABS, ARG0),
            _op(JSET_K, CLONE_NAMESPACES, 0, 1), _op(RET_K, deny)]
    ops += [_op(RET_K, RET_ALLOW)]
    return b"".join(ops)


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


_libc = ctypes.CDLL(None, use_errno=True)


def probe():
    """None when the filter can be loaded and holds here, else why not."""
    if platform.machine() not in ARCHES:
        return f"no filter written for {platform.machine()}"
    if libc.holds_in_child(apply, lambda: socket.socket(socket.AF_UNIX,
                                                         socket.SOCK_STREAM).close()):
        return None
    return "the seccomp filter could not be loaded here"


def apply():
    """Load the filter into this process for good (every process it starts inherits it)."""
    code = program()
    prog = _Prog(len(code) // 8, code)
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")
