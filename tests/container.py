"""Run a command in one of the conditions courses grade in (for tests/test_conditions.py).

    python3 container.py root -- CMD...             root on a machine of its own (nothing changed)
    python3 container.py platform [CAPS] -- CMD...  root in a platform's container (CAPS: more to drop)
    python3 container.py user UID -- CMD...         an unprivileged user
    python3 container.py no-userns UID -- CMD...    an unprivileged user, user namespaces off

platform: what Gradescope's and PrairieLearn's Docker containers give a grader: root, but no
CAP_SYS_ADMIN (dropped with capsh) and Docker's default seccomp profile's refusals: unshare,
setns, mount, umount2, pivot_root, clone with a namespace flag (EPERM), clone3 (ENOSYS).
user: setuid to UID (which needs no account) in a private mount namespace where REVEAL
folders (e.g. an interpreter under /root, which is 0700) are reachable, nothing else changed.
no-userns: the same, and user namespaces refused, as on machines that switch them off.

Run it with Debian's /usr/bin/python3: the filters are libseccomp's (python3-seccomp), not the
grader's own. Must start as root. REVEAL comes from the environment (colon-separated).
"""
import ctypes
import errno
import os
import shutil
import subprocess
import sys
import tempfile

SYSTEM_PYTHON = "/usr/bin/python3"

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                   0x40000000, 0x00000080)
MS_BIND, MS_REC, MS_PRIVATE, MS_MOVE = 0x1000, 0x4000, 0x40000, 0x2000

libc = ctypes.CDLL(None, use_errno=True)


def missing():
    """Why this machine cannot make the conditions, or None (asked from the tests)."""
    if os.geteuid() != 0:
        return "making these conditions (dropping capabilities, changing uid) needs root"
    if not os.path.exists(SYSTEM_PYTHON) or subprocess.run(
            [SYSTEM_PYTHON, "-c", "import seccomp"], capture_output=True).returncode != 0:
        return "Debian's python3-seccomp is not installed (apt-get install python3-seccomp)"
    if shutil.which("capsh", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
        return "capsh is not installed (apt-get install libcap2-bin)"
    return None


def refuse(flt, flags, calls):
    import seccomp

    for name in calls:
        flt.add_rule(seccomp.ERRNO(errno.EPERM), name)
    for flag in flags:
        flt.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")


def docker_filter():
    import seccomp
    flt = seccomp.SyscallFilter(seccomp.ALLOW)
    flt.set_attr(seccomp.Attr.CTL_NNP, 0)  # Docker does not set no_new_privs
    refuse(flt, NAMESPACE_FLAGS, ("unshare", "setns", "mount", "umount2", "pivot_root"))
    return flt


def no_userns_filter():
    import seccomp
    flt = seccomp.SyscallFilter(seccomp.ALLOW)
    refuse(flt, (CLONE_NEWUSER,), ())
    flt.add_rule(seccomp.ERRNO(errno.EPERM), "unshare",
                 seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER))
    return flt


def check(ret, what):
    if ret != 0:
        raise OSError(ctypes.get_errno(), what)


def reveal(paths):
    """In a private mount namespace, put each path back under a fresh tmpfs on its top folder
    (e.g. /root/.pyenv under a 0755 /root), so another user can reach it."""
    check(libc.unshare(CLONE_NEWNS), "unshare")
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount private")
    tops = {}
    for path in paths:
        parts = path.strip("/").split("/")
        tops.setdefault("/" + parts[0], []).append(path)
    for top, inner in tops.items():
        held = []
        # held outside the folder the tmpfs covers (a checkout under /tmp, say)
        outside = next(d for d in ("/run", "/dev/shm", "/var/tmp", "/tmp")
                       if os.path.isdir(d) and not (d + "/").startswith(top + "/"))
        for path in inner:
            spare = tempfile.mkdtemp(prefix="reveal-", dir=outside)
            check(libc.mount(path.encode(), spare.encode(), None, MS_BIND | MS_REC, None), path)
            held.append((path, spare))
        mode = b"mode=1777" if top == "/tmp" else b"mode=755"  # /tmp stays everyone's
        check(libc.mount(b"tmpfs", top.encode(), b"tmpfs", 0, mode), top)
        for path, spare in held:
            os.makedirs(path, exist_ok=True)
            check(libc.mount(spare.encode(), path.encode(), None, MS_MOVE, None), path)
            os.rmdir(spare)  # moved away: an empty folder, left in every namespace otherwise


def main():
    args = sys.argv[1:]
    cut = args.index("--")
    mode, rest, cmd = args[0], args[1:cut], args[cut + 1:]
    if mode == "root":
        os.execvp(cmd[0], cmd)
    if mode == "platform":  # `platform [cap_x,cap_y]`: a leaner container drops those too
        docker_filter().load()
        drop = ",".join(["cap_sys_admin", *rest])
        os.execvp("capsh", ["capsh", f"--drop={drop}", "--", "-c", 'exec "$@"', "sh", *cmd])
    uid = int(rest[0])
    reveal([p for p in os.environ.get("REVEAL", "").split(":") if p])
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if mode == "no-userns":
        no_userns_filter().load()
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
