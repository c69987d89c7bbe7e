"""A pid namespace (and a mount namespace) of its own for each hand-in.

The host forks a small keeper process that unshares the namespaces and forks the hand-in's
process into them: the hand-in is pid 1 there. When pid 1 ends, however it ends, the kernel
kills every other process in its namespace (double forks, `setsid`, zombie leaders whose
threads live on, fork storms): nothing reads a list of processes that could be out of date.
The keeper waits for pid 1 and exits the same way, so the host sees one process end.

A host with CAP_SYS_ADMIN (root, inside bubblewrap or not) unshares the two directly; one
without takes a user namespace along (no privilege needed where the machine allows them),
mapping only its own uid (pid 1 gives up the capabilities that namespace gave it, as every
hand-in gives up all of its own: see host.py).
"""
import functools
import os
import signal
import struct

from . import libc

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 0x4000, 1 << 18
PR_SET_DUMPABLE = 4


@functools.lru_cache(maxsize=None)
def flags():
    privileged = libc.has(libc.CAP_SYS_ADMIN)
    return CLONE_NEWPID | CLONE_NEWNS | (0 if privileged else CLONE_NEWUSER)


def probe():
    """None when a child can be given its own pid namespace here, else why not."""
    return trial()[0]


@functools.lru_cache(maxsize=None)
def trial():
    """Set up a throw-away child as a hand-in would be: (why no pid namespace, why no tmpfs
    in its mount namespace), None for what worked."""
    fl = flags()  # asked here, so every hand-in's keeper inherits the answer
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            unshare(fl)
            inner = os.fork()
            if inner == 0:
                code = 2
                try:
                    if os.getpid() == 1:
                        code = 3
                        _mount_proc(fl)
                        code = 1
                        libc.call("mount", b"trial", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV,
                                  b"size=65536")
                        code = 0
                finally:
                    os._exit(code)
            _, status = os.waitpid(inner, 0)
            os.write(w, {0: b"ok", 1 << 8: b"no tmpfs", 3 << 8: b"its mounts stay shared"}
                     .get(status, b"pid 1 was not the new process"))
        except BaseException as e:
            os.write(w, str(e).encode()[:200])
        os._exit(0)
    os.close(w)
    said = os.read(r, 300).decode()
    os.close(r)
    os.waitpid(pid, 0)
    if said in ("ok", "no tmpfs"):
        return None, None if said == "ok" else "no tmpfs in the hand-in's mount namespace"
    reason = f"no pid namespace for hand-ins ({said})"
    return reason, reason


def unshare(fl):
    uid, gid = os.geteuid(), os.getegid()
    libc.call("unshare", fl)
    if fl & CLONE_NEWUSER:
        # /proc/self of a process that is not dumpable (the host is not) belongs to root
        libc.call("prctl", PR_SET_DUMPABLE, 1, 0, 0, 0)
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        libc.call("prctl", PR_SET_DUMPABLE, 0, 0, 0, 0)


def enter(fl, report_fd):
    """Called in the keeper: unshare, fork pid 1 of the new namespaces and write its pid (as
    the host sees it) to `report_fd`. Returns in pid 1 only: the keeper waits for pid 1 and
    exits as it did."""
    libc.die_with_parent()  # the host
    unshare(fl)
    pid = os.fork()
    if pid == 0:
        libc.die_with_parent()  # this keeper
        os.close(report_fd)
        _mount_proc(fl)
        return 0
    os.write(report_fd, struct.pack("=i", pid))
    os.close(report_fd)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _mount_proc(fl):
    """Pid 1's own /proc: it shows the hand-in's processes and none of the host's."""
    libc.call("mount", None, b"/", None, MS_REC | MS_PRIVATE, None)
    try:
        libc.call("mount", b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    except OSError:
        pass  # a user namespace may not mount a /proc partly covered: the old one stays
