"""The sandbox host: the only grader code that shares a process tree with hand-ins.

Runs as `python -I -S host.py DATA_IN DATA_OUT CTL_IN EVT_OUT` (inside bubblewrap when it is
installed), stdlib only. It imports nothing of the grader and knows no test or solution.

The trusted side sends `spawn` on the control channel; the host forks a child that reads the
hand-in's source from the data channel (so no hand-in's code ever sits in the host's memory,
where every later child would inherit it), loads it and answers graph requests there. Children are forked from this warm
process, so a hand-in costs a fork, not an interpreter start. The child closes the control and
event channels before running any hand-in code, and the host is not dumpable, so a hand-in can
neither forge the host's events nor reach its memory. When a child ends (or the trusted side
asks for `kill`), every process it started is killed and reaped (the host is a child
subreaper), then the host reports `ended` with the captured, size-capped output.
"""
import json
import math
import os
import resource
import select
import shutil
import signal
import struct
import sys
import tempfile
import threading
import types

HEADER = struct.Struct(">I")
MAX_FRAME = 1 << 20
MAX_SOURCE = 32 << 20  # the frame carrying a hand-in's cells


def read_frame(fd, limit=MAX_FRAME):
    head = _read_exact(fd, HEADER.size)
    if head is None:
        return None
    (n,) = HEADER.unpack(head)
    if n > limit:
        return None
    body = _read_exact(fd, n)
    return None if body is None else json.loads(body)


def _read_exact(fd, n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def write_frame(fd, obj):
    body = json.dumps(obj).encode()
    data = HEADER.pack(len(body)) + body
    while data:
        data = data[os.write(fd, data):]


def _prctl(option, arg):
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0)
    except (OSError, AttributeError):
        pass


PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 4, 36
NPROC = 64


# ---------------------------------------------------------------- the child: one hand-in

HANDIN_FILES = set()


def serve(cells, data_in, data_out, cell_seconds):
    """Load the hand-in's cells into one namespace, then answer graph requests."""
    HANDIN_FILES.update(cell["filename"] for cell in cells)
    module = types.ModuleType("engine")
    module.__file__ = cells[0]["filename"] if cells else "engine.py"
    sys.modules["engine"] = module
    cell_errors = []
    signal.signal(signal.SIGALRM, _time_up)
    for cell in cells:
        signal.setitimer(signal.ITIMER_REAL, cell_seconds)
        try:
            exec(compile(cell["source"], cell["filename"], "exec"), module.__dict__)
        except BaseException as e:  # a failing cell does not stop the rest, as in Jupyter
            if isinstance(e, SystemExit) and len(cells) == 1:
                raise
            error = describe_error(e, "load")
            error["where"] = error["where"] or {"file": cell["filename"]}  # e.g. in compile()
            if isinstance(e, TimeLimit):  # a training loop, say: what it defined so far stays
                error.update(type="timeout", message=f"did not finish in {cell_seconds:g} s, "
                                                     "so the rest of it was skipped")
            cell_errors.append(error)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    Value = module.__dict__.get("Value")
    if not isinstance(Value, type):
        write_frame(data_out, {"loaded": False, "cell_errors": cell_errors,
                               "value": type(Value).__name__ if Value is not None else None,
                               "classes": classes_defined(module)})
        return
    write_frame(data_out, {"loaded": True, "cell_errors": cell_errors})
    while True:
        req = read_frame(data_in)
        if req is None or req.get("op") == "close":
            return
        signal.setitimer(signal.ITIMER_REAL, req.get("seconds", 0))
        try:
            reply = answer(Value, req)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        write_frame(data_out, reply)


def classes_defined(module):
    """The hand-in's own classes, so the grader can name a near miss (`value`, `Scalar`)."""
    found = []
    for name, obj in list(module.__dict__.items())[:1000]:
        try:
            if isinstance(obj, type) and obj.__module__ == module.__name__:
                found.append({"name": str(name)[:80],
                              "backward": callable(getattr(obj, "backward", None))})
        except BaseException:
            pass
    return found[:50]


class TimeLimit(BaseException):
    """Raised inside the hand-in when a request runs out of time, so the answer can say where
    it was stuck. A BaseException: `except Exception` in a hand-in does not swallow it (and a
    hand-in that swallows it anyway is killed by the trusted side a moment later)."""


def _time_up(signum, frame):
    raise TimeLimit()


def describe_error(e, phase, step=None):
    """Plain facts about an exception, located at the innermost line of the hand-in."""
    where, qualname = None, ""
    tb = e.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename in HANDIN_FILES:
            where = {"file": code.co_filename, "line": tb.tb_lineno}
            qualname = getattr(code, "co_qualname", code.co_name)
        tb = tb.tb_next
    if isinstance(e, SyntaxError) and e.filename in HANDIN_FILES:
        where = {"file": e.filename, "line": e.lineno, "column": e.offset}
    try:
        message = (e.msg if isinstance(e, SyntaxError) else str(e))[:500]
    except BaseException:
        message = "(unprintable)"
    return {"type": type(e).__name__, "message": message, "phase": phase, "step": step,
            "where": where, "qualname": qualname}


def answer(Value, req):
    ops, root = req["ops"], req["root"]
    nodes = []
    step = 0
    try:
        for step, op in enumerate(ops):
            nodes.append(build(Value, nodes, op))
        if req.get("backward", True):
            step = root
            nodes[root].backward()
    except BaseException as e:
        if isinstance(e, SystemExit):
            raise
        phase = "backward" if req.get("backward", True) and len(nodes) == len(ops) else "forward"
        error = describe_error(e, phase, step)
        if isinstance(e, TimeLimit):
            error.update(type="timeout", message=f"did not finish in {req['seconds']:g} s")
        return {"id": req["id"], "error": error}
    try:
        data = [as_float(n.data) for n in nodes]
        grad = [as_float(n.grad) for n in nodes] if req.get("backward", True) else None
    except BaseException as e:
        if isinstance(e, SystemExit):
            raise
        return {"id": req["id"], "error": dict(describe_error(e, "read"), type="not-a-number")}
    return {"id": req["id"], "data": data, "grad": grad}


def as_float(x):
    f = float(x)
    return f if type(f) is float else float.__float__(f)


def build(Value, nodes, op):
    kind = op[0]
    if kind == "leaf":
        return Value(op[1])
    if kind == "pow":
        return nodes[op[1]] ** op[2]
    args = [a["c"] if isinstance(a, dict) else nodes[a] for a in op[1:]]
    if kind == "add":
        return args[0] + args[1]
    if kind == "sub":
        return args[0] - args[1]
    if kind == "mul":
        return args[0] * args[1]
    if kind == "div":
        return args[0] / args[1]
    if kind == "neg":
        return -args[0]
    if kind in ("tanh", "relu", "exp"):
        return getattr(args[0], kind)()
    raise ValueError(kind)


def child_main(msg, data_in, data_out, out_w, closing):
    os.setsid()
    for fd in closing:
        os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    os.close(out_w)
    cells = None
    while cells is None:  # frames left over from an earlier child are skipped
        frame = read_frame(data_in, MAX_SOURCE)
        if frame is None:
            os._exit(1)
        if isinstance(frame, dict) and frame.get("token") == msg["token"]:
            cells = frame["cells"]
    limits = msg["limits"]
    memory = limits["memory_mb"] << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = max(1, int(math.ceil(limits["handin_seconds"])))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    fsize = limits["file_mb"] << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Counts every process of this user, and the kernel exempts root: for others it stops fork
    # bombs (an engine has no reason to start processes); under root, the pid namespace and
    # kill_all() are what clean up.
    resource.setrlimit(resource.RLIMIT_NPROC, (NPROC, NPROC))
    os.chdir(msg["workdir"])
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.setrecursionlimit(10000)
    code = 0
    try:
        serve(cells, data_in, data_out, limits["cell_seconds"])
    except SystemExit as e:
        code = 3
        try:
            write_frame(data_out, {"exited": True, "code": str(e.code)[:100]})
        except BaseException:
            pass
    except BaseException:
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(code)


# ---------------------------------------------------------------- the host

class Output:
    """Drains a child's stdout+stderr, keeping at most `cap` bytes, so printing never blocks."""

    def __init__(self, fd, cap):
        self.fd, self.cap, self.kept, self.dropped = fd, cap, bytearray(), 0
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            room = self.cap - len(self.kept)
            self.kept += chunk[:max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)
        os.close(self.fd)

    def result(self, wait):
        self.thread.join(wait)
        return self.kept.decode("utf-8", "replace"), self.dropped


def descendants(root):
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if fields[0] != b"Z":
            parent[int(name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        p = frontier.pop()
        for pid, pp in parent.items():
            if pp == p:
                found.append(pid)
                frontier.append(pid)
    return found


def kill_all():
    """Kill and reap every process below the host (orphans re-parent here: subreaper)."""
    me = os.getpid()
    for _ in range(200):
        pids = descendants(me)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        reap()
        if not pids:
            return


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_child(msg, fds):
    data_in, data_out, ctl_in, evt_out = fds
    msg["workdir"] = tempfile.mkdtemp(prefix="handin-", dir=os.getcwd())
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        child_main(msg, data_in, data_out, out_w, (ctl_in, evt_out, out_r))
    os.close(out_w)
    output = Output(out_r, msg["limits"]["output_bytes"])
    done_r, done_w = os.pipe()
    status = {}

    def wait():
        _, st = os.waitpid(pid, 0)
        status["st"] = st
        os.write(done_w, b"x")
    threading.Thread(target=wait, daemon=True).start()

    killed = False
    while True:
        ready, _, _ = select.select([ctl_in, done_r], [], [])
        if done_r in ready:
            break
        cmd = read_frame(ctl_in)
        if cmd is None:
            os.kill(pid, signal.SIGKILL)
            kill_all()
            sys.exit(0)
        if cmd.get("op") == "kill":
            killed = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                os.kill(pid, signal.SIGKILL)
    os.close(done_r)
    os.close(done_w)
    kill_all()
    shutil.rmtree(msg["workdir"], ignore_errors=True)
    text, dropped = output.result(wait=2.0)
    st = status["st"]
    write_frame(evt_out, {
        "event": "ended", "killed": killed,
        "code": os.WEXITSTATUS(st) if os.WIFEXITED(st) else None,
        "signal": os.WTERMSIG(st) if os.WIFSIGNALED(st) else None,
        "output": text, "dropped": dropped,
    })


def main():
    fds = tuple(int(a) for a in sys.argv[1:5])
    _prctl(PR_SET_DUMPABLE, 0)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    ctl_in, evt_out = fds[2], fds[3]
    write_frame(evt_out, {"event": "ready", "python": ".".join(map(str, sys.version_info[:3]))})
    while True:
        msg = read_frame(ctl_in)
        if msg is None or msg.get("op") == "exit":
            kill_all()
            return
        if msg.get("op") == "spawn":
            run_child(msg, fds)


if __name__ == "__main__":
    main()
