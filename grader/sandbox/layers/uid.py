"""A dedicated unprivileged uid for each hand-in, when the host runs as root.

As root, RLIMIT_NPROC is void (the kernel exempts root) and a hand-in could signal or read
whatever root can. Under a uid of its own the process limit binds, files of root's with no
access for others are closed to it, nothing of another hand-in's is its own, and when it ends,
one `kill(-1)` from a process of that uid reaches every process it left, wherever it moved
(setsid, double forks). Uids come from the trusted side's pid and a count of its hand-ins, so
no two sandboxes of one machine share one, and one sandbox reuses a uid only 64 hand-ins
later, long after everything of the earlier one was swept.
"""
import os
import signal

from . import libc

BASE = 0x70000000  # far above any uid a system or a directory service hands out
SPAN = (1 << 22) << 6  # every pid (pid_max is at most 2**22) times 64 hand-ins


def for_handin(sandbox_pid, n):
    """The uid of the `n`th hand-in of the sandbox run by process `sandbox_pid`."""
    return BASE + (sandbox_pid << 6) + n % 64


def probe():
    if os.geteuid() != 0:
        return "not running as root: hand-ins keep the grader's uid"
    if not libc.has(libc.CAP_SETUID, libc.CAP_SETGID, libc.CAP_KILL):
        return "root without the capabilities to change uid"
    if not libc.has(libc.CAP_CHOWN):  # the hand-in's folder must become its own
        return "root without CAP_CHOWN, so a hand-in's folder cannot be given to its uid"
    with open("/proc/self/uid_map") as f:
        ranges = [line.split() for line in f]
    if not any(int(inside) <= BASE and int(inside) + int(count) > BASE + SPAN
               for inside, _, count in ranges):
        return "inside a user namespace that maps no other uid"
    stdlib = os.path.dirname(os.__file__)
    if not _others_can_read(stdlib):
        return (f"Python's runtime ({stdlib}) is not readable by other users, so hand-ins run as "
                "this root without capabilities: install Python where every user can read it "
                "(or `chmod o+rX` its folder and `o+x` each folder above)")
    return None


def _others_can_read(path):
    """Whether a uid of no group can list `path` and walk down to it (a hand-in under its own
    uid still imports modules from there)."""
    if not os.stat(path).st_mode & 0o004:
        return False
    while path != os.path.dirname(path):
        if not os.stat(path).st_mode & 0o001:
            return False
        path = os.path.dirname(path)
    return True


def drop(uid):
    """Become `uid`, with no groups (the host then gives up every capability: see host.py)."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def sweep(uid, reap):
    """Kill every process of `uid`: one kill(-1, SIGKILL) from a forked process of that uid.
    The kernel signals them all under one lock, and a fork under way when the signal lands
    fails, so nothing started later escapes. `reap` (the host's) collects the dead."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    reap()
