"""Resource limits of the hand-in's process (setrlimit): they hold on every machine. And it is
the first process the kernel kills when memory runs out, before the host that shares its cgroup.

RLIMIT_NPROC counts every process of the hand-in's uid, and the kernel exempts root: it binds
once the uid layer has made the hand-in someone else (or when the grader is not root)."""
import math
import resource

NPROC = 64  # an engine has no reason to start processes; this stops fork bombs


def probe():
    return None


def apply(limits, scratch_bytes=0):
    """`limits` as Limits.to_json() gives them. Files in the scratch tmpfs are memory too: the
    address space left is the memory limit minus the scratch's cap."""
    memory = (limits["memory_mb"] << 20) - scratch_bytes
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = max(1, int(math.ceil(limits["handin_seconds"])))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    fsize = limits["file_mb"] << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (NPROC, NPROC))
    try:  # the first the kernel kills when memory runs out (its cgroup's or the machine's)
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
