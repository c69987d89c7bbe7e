"""A fresh scratch space per hand-in: a size-capped tmpfs mounted over /tmp (and /dev/shm) in
the hand-in's own mount namespace, where it is its working folder.

Nothing else writable is left in view, so every file the hand-in writes is in memory it is
charged for (the host lowers its address-space limit by the scratch size, and a memory
cgroup counts tmpfs pages too). The tmpfs belongs to the hand-in's mount namespace alone:
when its last process ends, the kernel frees it, and no later hand-in can see a file of it.
Without a mount namespace (pidns did not hold) the host makes a private folder instead and
deletes it afterwards: private, but neither capped nor counted.
"""
import os

from . import libc, pidns

PATH = "/tmp"
MS_BIND = 0x1000


def probe():
    """Needs a mount namespace of the hand-in's own, which comes with its pid namespace."""
    return pidns.trial()[1]


def mount(size_bytes, uid, gid):
    """In pid 1 of the hand-in's namespaces, before it drops privileges."""
    options = f"size={size_bytes},nr_inodes=4096,mode=0700,uid={uid},gid={gid}".encode()
    libc.call("mount", b"scratch", PATH.encode(), b"tmpfs", pidns.MS_NOSUID | pidns.MS_NODEV,
              options)
    for other in ("/dev/shm", "/var/tmp"):  # the other usual places: the same tmpfs, one cap
        if os.path.isdir(other):
            try:
                libc.call("mount", PATH.encode(), other.encode(), None, MS_BIND, None)
            except OSError:
                pass
