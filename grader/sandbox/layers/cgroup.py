"""A cgroup per sandbox, holding its host and one hand-in at a time: the kernel counts the
hand-in's processes (pids.max) and memory, tmpfs pages included (memory.max or v1's
memory.limit_in_bytes), with a small allowance for the host.

The trusted side creates the groups below its own, in each hierarchy that lets it (v1 `pids`
and `memory`, the v2 tree and whatever controllers it delegates), sets their limits once, and
removes them when the sandbox closes (cgroup.kill first, where v2 has it). The host joins them
once when it starts, so every hand-in is born inside, already counted: moving a process into
a cgroup waits for the kernel to quiesce (an RCU grace period), a few ms per hand-in that a fork
into the group does not pay. It joins a group that counts memory only once the OOM killer can
no longer pick it (oom_score_adj -1000, which needs CAP_SYS_RESOURCE); where it cannot, the
memory cgroup is left out ("memcg" in the layers), since a hand-in moving itself in costs
about 10 ms (v1 here), and the address-space limit, lowered by the scratch's size cap, is
the memory limit alone. Where a hand-in has no pid namespace to end with it, the host
kills whatever else cgroup.procs lists when it ends. Docker containers usually have no
writable cgroup: then this layer does not hold.
"""
import os
import signal
import time

HOST_TASKS = 4          # the host's three threads and a hand-in's keeper (see pidns.py)
HOST_BYTES = 64 << 20   # the host's own memory


def _mounts():
    """(kind, mount point) of every cgroup hierarchy: kind is "2" or the v1 controllers."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype, _, options = right.split()[:3]
            point = left.split()[4]
            if fstype == "cgroup2":
                found.append(("2", point))
            elif fstype == "cgroup":
                kinds = [o for o in options.split(",") if o in ("pids", "memory")]
                if kinds:
                    found.append((kinds[0], point))
    return found


def _own_paths():
    """This process's cgroup in each hierarchy, keyed as `_mounts` keys them."""
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            own["2" if controllers == "" else controllers] = path
    return own


def create(name, pids, memory_bytes):
    """Trusted side: make `name` below this process's cgroup wherever allowed; returns
    (paths, reason): the groups made, and why there are none (None if there are)."""
    paths, errors = [], []
    own = _own_paths()
    for kind, point in _mounts():
        mine = next((p for key, p in own.items() if kind in key.split(",")), None)
        if mine is None:
            continue
        path = os.path.join(point, mine.lstrip("/"), name)
        _sweep(os.path.dirname(path))
        try:
            os.mkdir(path, 0o755)
        except OSError as e:
            errors.append(f"{kind}: {e.strerror}")
            continue
        paths.append(path)
        if kind == "2":
            _enable_controllers(os.path.dirname(path))
        settings = {"pids.max": pids, "memory.max": memory_bytes,
                    "memory.swap.max": 0, "memory.limit_in_bytes": memory_bytes,
                    "memory.memsw.limit_in_bytes": memory_bytes}
        for key, value in settings.items():
            if os.path.exists(os.path.join(path, key)):
                _write(os.path.join(path, key), value, quiet=True)
    if not any(os.path.exists(os.path.join(p, "cgroup.kill")) or
               os.path.exists(os.path.join(p, "pids.max")) for p in paths):
        remove(paths)
        return [], "no writable cgroup" + (f" ({'; '.join(errors)})" if errors else "")
    return paths, None


def _sweep(parent):
    """Remove the empty groups of graders that died without removing theirs (named
    grader-PID-...; a live sandbox's group is never removed: its pid is alive, its host in it)."""
    try:
        names = [n for n in os.listdir(parent) if n.startswith("grader-")]
    except OSError:
        return
    for name in names:
        pid = name.split("-")[1]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            try:
                os.rmdir(os.path.join(parent, name))
            except OSError:
                pass


def _enable_controllers(parent):
    """Delegate pids and memory to the new v2 group where the parent allows it (it does not
    when it holds processes itself, unless it is the root)."""
    try:
        with open(os.path.join(parent, "cgroup.controllers")) as f:
            available = f.read().split()
    except OSError:
        return
    for c in ("pids", "memory"):
        if c in available:
            _write(os.path.join(parent, "cgroup.subtree_control"), f"+{c}", quiet=True)


def _write(path, value, quiet=False):
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except OSError:
        if not quiet:
            raise


def probe(paths):
    """Host side: None when the groups it was given can take a process."""
    if not paths:
        return "no writable cgroup"
    if not all(os.access(os.path.join(p, "cgroup.procs"), os.W_OK) for p in paths):
        return "the cgroups are not writable here"
    return None


def without_memory(paths):
    """The groups that do not count memory (v1's other hierarchies, v2 ones without it)."""
    return [p for p in paths if not (os.path.exists(os.path.join(p, "memory.max")) or
                                     os.path.exists(os.path.join(p, "memory.limit_in_bytes")))]


def probe_memory(paths):
    """None when one of the groups counts memory."""
    if len(without_memory(paths)) < len(paths):
        return None
    return "no writable memory cgroup"


def join(paths):
    """This process, and so everything it starts from now on, into the groups."""
    for p in paths:
        _write(os.path.join(p, "cgroup.procs"), os.getpid())


def empty(paths, spare=None):
    """Kill every process the groups hold but `spare` (the host), until none is left: pids.max
    bounds how many a hand-in can start meanwhile."""
    for p in paths:
        for _ in range(200):
            try:
                with open(os.path.join(p, "cgroup.procs")) as f:
                    pids = [int(x) for x in f.read().split() if int(x) != spare]
            except OSError:
                break
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.0005)


def remove(paths):
    """Trusted side, once the sandbox is gone."""
    for p in paths:
        _write(os.path.join(p, "cgroup.kill"), 1, quiet=True)
        empty([p])
        try:
            os.rmdir(p)
        except OSError:
            pass
