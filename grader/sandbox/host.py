"""The sandbox host: the only grader code that shares a process tree with hand-ins.

Runs as `python -I -S host.py CTL [CGROUP...]` (inside bubblewrap when it is installed), stdlib
only: it imports nothing of the grader but what lies beside it (`layers/`, the stand-ins,
the wire format), and knows no test or solution.

CTL is a Unix socket to the trusted side. With each `spawn` the trusted side passes (SCM_RIGHTS)
one end of a socket pair made for that hand-in alone: its data channel, on which it gets its
source (so no hand-in's code ever sits in the host's memory, where every later child would
inherit it) and graph requests, and answers. A socket cannot be reopened through
/proc/self/fd, and the pair dies with the hand-in: nothing it writes or leaves there can reach
another hand-in. Hand-ins are forked from this warm process (a hand-in costs a fork, not an
interpreter start) and set up layer by layer (`enter_handin`, see `layers/`); they never hold
the control socket, and the host is not dumpable. When a hand-in ends (or the trusted side
asks for `kill`), everything it started is gone (its pid namespace, cgroup, uid, or at worst
a sweep of this host's descendants), then the host reports `ended` with the captured,
size-capped output.
"""
import codecs
import gc
import json
import os
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # layers/ sits beside this file
from layers import cgroup, confine, libc, pidns, rlimits, scratch, uid  # noqa: E402
import standin  # noqa: E402
from wire import HEADER, MAX_FRAME, MAX_SOURCE  # noqa: E402
del sys.path[0]

DOUBLE_MAX = 1.7976931348623157e308


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


def frame(obj):
    body = json.dumps(obj).encode()
    return HEADER.pack(len(body)) + body


def write_frame(fd, obj):
    data = frame(obj)
    while data:
        data = data[os.write(fd, data):]


class Control:
    """The host's end of the control socket: frames, and the descriptors that come with them."""

    def __init__(self, fd):
        self.sock = socket.socket(fileno=fd)
        self.buf, self.fds = b"", []

    def read(self):
        while True:
            if len(self.buf) >= HEADER.size:
                (n,) = HEADER.unpack_from(self.buf)
                if len(self.buf) >= HEADER.size + n:
                    body = self.buf[HEADER.size:HEADER.size + n]
                    self.buf = self.buf[HEADER.size + n:]
                    return json.loads(body)
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, 4)
            if not data:
                return None
            self.buf += data
            self.fds += fds

    def pending(self):
        return len(self.buf) >= HEADER.size

    def write(self, obj):
        self.sock.sendall(frame(obj))


PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 4, 36
LAYERS = {}  # layer name -> None when it holds here, else why not: probed once at start
CGROUPS = []  # this sandbox's cgroups (one per hierarchy), given by the trusted side


def probe():
    found = {"pidns": pidns.probe(), "scratch": scratch.probe(),
             "cgroup": cgroup.probe(CGROUPS), "uid": uid.probe(), "rlimits": rlimits.probe()}
    found.update(confine.probe())
    return found


# ---------------------------------------------------------------- the child: one hand-in

HANDIN_FILES = set()


def serve(cells, data_in, data_out, cell_seconds):
    """Load the hand-in's cells into one namespace, then answer graph requests."""
    HANDIN_FILES.update(cell["filename"] for cell in cells)
    standin.install(cells)  # a module grading lacks costs only where it is used
    sys.stdout, sys.stderr = Tell(sys.stdout), Tell(sys.stderr)
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
    signal.setitimer(signal.ITIMER_REAL, cell_seconds)
    try:
        flush()  # what it printed while loading is told apart from what the first test prints
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    Value = module.__dict__.get("Value")
    if not isinstance(Value, type):
        write_frame(data_out, {"loaded": False, "cell_errors": cell_errors,
                               "value": type(Value).__name__[:200] if Value is not None else None,
                               "classes": classes_defined(module)})
        return
    stable_hash(Value)
    write_frame(data_out, {"loaded": True, "cell_errors": cell_errors, "printed": Tell.wrote()})
    while True:
        req = read_frame(data_in)
        if req is None or req.get("op") == "close":
            return
        run_on(req.get("cpu"))
        signal.setitimer(signal.ITIMER_REAL, req.get("seconds", 0))
        try:
            reply = answer(Value, req)
            flush()  # so what it printed is in the pipe before the answer is
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if Tell.wrote():
            reply["printed"] = True
        write_frame(data_out, reply)


def stable_hash(Value):
    """Nodes that hash by identity hash by the order they were first hashed in instead of
    their address: a set of them (`_prev`) then iterates in the same order in every run, so
    an engine that fails in a closure fails at the same line every time. Equality stays
    identity; only which of several equally valid orders a set takes is fixed."""
    if getattr(Value, "__hash__", None) is not object.__hash__:
        return
    serials = {}  # for nodes without a __dict__ (__slots__)

    def __hash__(self):
        try:
            own = object.__getattribute__(self, "__dict__")
        except AttributeError:
            own = None
        if own is None:
            return serials.setdefault(id(self), len(serials) + 1)
        if "_sandbox_order" not in own:
            stable_hash.count += 1
            own["_sandbox_order"] = stable_hash.count
        return own["_sandbox_order"]
    try:
        Value.__hash__ = __hash__
    except (TypeError, AttributeError):
        pass


stable_hash.count = 0


class Tell:
    """The hand-in's sys.stdout and sys.stderr, noting that it wrote: its answer then says
    `printed`, and only then does the trusted side ask the host for the output (a round trip
    per test saved). Only a hint: output it writes some other way (os.write, streams of its
    own) or hides from it is handed over later, with a later test, never an earlier one."""
    seen = False

    def __init__(self, stream):
        self.__dict__["_stream"] = stream

    def write(self, text):
        Tell.seen = True
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)

    @staticmethod
    def wrote():
        seen, Tell.seen = Tell.seen, False
        return seen


def flush():
    """The hand-in's buffered output into the pipe. Its own business if it replaced the
    streams: output it holds back only ever shows up later, with a later test."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except SystemExit:
            raise
        except BaseException:
            pass


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
            qualname = getattr(code, "co_qualname", code.co_name)[:1000]
        tb = tb.tb_next
    if isinstance(e, SyntaxError) and e.filename in HANDIN_FILES:
        where = {"file": e.filename, "line": _count(e.lineno), "column": _count(e.offset)}
    try:
        message = str(e.msg if isinstance(e, SyntaxError) else e)[:500]
    except BaseException:
        message = "(unprintable)"
    return {"type": type(e).__name__[:200], "message": message, "phase": phase, "step": step,
            "where": where, "qualname": qualname}


def _count(n):
    """A line or column a hand-in may have made up (`raise SyntaxError(...)`), or None."""
    return n if type(n) is int and 0 <= n < 1 << 53 else None


def answer(Value, req):
    ops, root = req["ops"], req["root"]
    nodes = []
    step = 0
    try:
        for step, op in enumerate(ops):
            nodes.append(build(Value, nodes, op))
            if nodes[-1] is None:
                return {"id": req["id"], "error": returned_none(Value, op, step)}
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
    reply = {"id": req["id"], "data": data, "grad": grad}
    if req.get("replay") and req.get("backward", True):
        reply["replay"] = replay(Value, ops, root)
    return reply


# ---------------------------------------------------------------- backpropagation, run by us

def replay(Value, ops, root):
    """The graph built again, then each node's own backward closure called by us, from the root
    (every gradient set to 0, the root's to 1) down a topological order of the children the nodes hold, without
    `backward()`: the gradients backpropagation through the engine's closures gives. What the
    trusted side compares with what `backward()` reported (see checking/backprop.py)."""
    found = {"grad": None, "closure": "", "error": ""}
    try:
        nodes = []
        for op in ops:
            nodes.append(build(Value, nodes, op))
        order, held = topological(nodes[root], Value)
        for v in order:
            v.grad = 0.0
        nodes[root].grad = 1.0
        names = set()
        for v in reversed(order):
            name, closure = closure_of(v, Value, held[id(v)])
            if closure is not None:
                names.add(name)
                closure()
        found["closure"] = ", ".join(sorted(names))[:200]
        found["grad"] = [as_float(n.grad) for n in nodes]
    except BaseException as e:
        if isinstance(e, SystemExit):
            raise
        error = describe_error(e, "replay")
        found["error"] = ("it did not finish in time" if isinstance(e, TimeLimit) else
                          f"{error['type']}: {error['message']}"[:300])
        if error["where"]:
            found["line"] = error["where"].get("line")
    return found


_SLOTS = {}  # class -> the slot names of it and its bases


def attributes(v):
    """(name, value) of what a node holds: its `__dict__`, then its slots."""
    held = list(getattr(v, "__dict__", {}).items())
    cls = type(v)
    slots = _SLOTS.get(cls)
    if slots is None:
        slots = _SLOTS[cls] = [name for c in cls.__mro__
                               for s in [c.__dict__.get("__slots__", ())]
                               for name in ([s] if isinstance(s, str) else s)]
    for name in slots:
        if hasattr(v, name):
            held.append((name, getattr(v, name)))
    return held


def children_of(v, Value, held):
    """The nodes `v` holds (`held`: its attributes), alone or in a list, tuple, set or as a
    dict's keys: its children, whatever their name."""
    kids = []
    for _, x in held:
        if isinstance(x, Value):
            if x is not v:
                kids.append(x)
        elif type(x) in _CONTAINERS and x:
            for c in x:
                if not isinstance(c, Value):
                    break
            else:
                kids += [c for c in x if c is not v]
    return kids


_CONTAINERS = (list, tuple, set, frozenset, dict)


def topological(root, Value):
    """Every node under `root`, children before parents (iterative: deep graphs are fine),
    and what each holds (node id -> its attributes, read once)."""
    held = {id(root): attributes(root)}
    order = []
    stack = [(root, iter(children_of(root, Value, held[id(root)])))]
    while stack:
        v, kids = stack[-1]
        for c in kids:
            if id(c) not in held:
                held[id(c)] = attributes(c)
                stack.append((c, iter(children_of(c, Value, held[id(c)]))))
                break
        else:
            stack.pop()
            order.append(v)
    return order, held


_METHOD = {}  # class -> the name of its method named like `_backward`, or None
_NAMED = {}  # attribute name -> whether it is named like a closure


def closure_of(v, Value, held):
    """The node's backward closure: a function it holds (`held`: its attributes; a nested
    def, lambda, functools.partial, bound method, any callable) named like one (`back`,
    `grad`), else a method of its class named like `_backward`, else the only function it
    holds; (None, None) if it has none."""
    funcs = [(n, x) for n, x in held if callable(x) and not isinstance(x, (type, Value))]
    for n, x in funcs:
        named = _NAMED.get(n)
        if named is None:
            named = _NAMED[n] = "back" in n.lower() or "grad" in n.lower()
        if named:
            return n, x
    cls = type(v)
    if cls not in _METHOD:
        _METHOD[cls] = next((n for n in dir(cls) if "backward" in n.lower() and
                             n != "backward" and callable(getattr(cls, n, None))), None)
    if _METHOD[cls] is not None:
        return _METHOD[cls], getattr(v, _METHOD[cls])
    if len(funcs) == 1:
        return funcs[0]
    return None, None


METHODS = {"add": "__add__", "sub": "__sub__", "mul": "__mul__", "div": "__truediv__",
           "pow": "__pow__", "neg": "__neg__", "tanh": "tanh", "relu": "relu", "exp": "exp"}


def returned_none(Value, op, step):
    """An operation that gave back None (a method without `return out`), located at the
    method's `def` in the hand-in."""
    method = METHODS.get(op[0], op[0])
    if op[0] in ("add", "sub", "mul", "div") and isinstance(op[1], dict):
        method = "__r" + method[2:]  # a plain number on the left
    where = None
    try:
        code = getattr(Value, method).__code__
        if code.co_filename in HANDIN_FILES:
            where = {"file": code.co_filename, "line": code.co_firstlineno}
    except BaseException:
        pass
    return {"type": "returned-none", "message": f"`{method}` returned None", "phase": "forward",
            "step": step, "where": where, "qualname": f"Value.{method}"}


def as_float(x):
    """An engine's value as the grader reads it: a finite float, or "nan", "inf", "-inf"
    (strict JSON has no such numbers; see the trusted side's frames.py)."""
    f = float(x)
    f = f if type(f) is float else float.__float__(f)
    return f if -DOUBLE_MAX <= f <= DOUBLE_MAX else repr(f)


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


def enter_handin(plan, out_w, report_w):
    """In the hand-in's process, each layer that held, in order; returns just before its code
    runs. With a pid namespace, this process is only its keeper until `pidns.enter` returns
    in pid 1 of the new namespaces."""
    os.setsid()
    if plan["pidns"]:
        pidns.enter(pidns.flags(), report_w)  # from here on: pid 1 of its own namespaces
        if plan["scratch"]:
            scratch.mount(plan["scratch"], *plan["owner"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    os.close(out_w)
    os.close(null)
    rlimits.apply(plan["limits"], plan["scratch"])
    if plan["uid"] is not None:
        uid.drop(plan["uid"])
    libc.drop_privileges()  # what the host (root, or in a user namespace) holds, it does not
    libc.die_with_parent()  # with its keeper or the host, where nothing else ends it
    os.chdir(plan["workdir"])
    try:
        confine.apply(plan["confine"], LAYERS, plan["workdir"])
    except OSError as e:
        os.write(2, f"the sandbox could not confine this hand-in: {e}\n".encode())
        os._exit(4)


def run_on(cpu):
    """The CPU the grader asking this hand-in runs on (see the trusted side's affinity.py),
    sent with its first request: a request and its answer then hand over without waking
    another CPU. It loaded wherever it was started, beside a grader still setting up."""
    if type(cpu) is int:
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass


def child_main(plan, data, out_w, report_w):
    enter_handin(plan, out_w, report_w)
    load = read_frame(data, MAX_SOURCE)
    if not isinstance(load, dict) or not isinstance(load.get("cells"), list):
        os._exit(1)
    cells = load["cells"]
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.setrecursionlimit(10000)
    code = 0
    try:
        serve(cells, data, data, plan["limits"]["cell_seconds"])
    except SystemExit as e:
        code = 3
        try:
            write_frame(data, {"exited": True, "code": str(e.code)[:100]})
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
    """Drains a child's stdout+stderr, keeping at most `cap` bytes, so printing never blocks.

    `take` hands over what arrived since the last `take`, after reading whatever the pipe
    holds: asked right after the hand-in answered a request, it is what the hand-in wrote up to
    then (what it wrote later, or kept unflushed, goes to a later `take`, never an earlier one).
    Reads happen under one lock, so nothing is read but not yet kept when `take` looks."""

    def __init__(self, fd, cap):
        self.fd, self.cap, self.kept, self.dropped = fd, cap, bytearray(), 0
        self.taken, self.taken_dropped, self.closed = 0, 0, False
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.lock = threading.Lock()
        os.set_blocking(fd, False)
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while not self.closed:
            select.select([self.fd], [], [], 0.5)
            with self.lock:
                self._read(1)
        os.close(self.fd)  # here only: no read can be on its way, nor its number reused

    def _read(self, chunks):
        """Up to `chunks` reads of what the pipe holds now (under the lock)."""
        for _ in range(chunks):
            if self.closed:
                return
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True  # every writer is gone
                return
            room = self.cap - len(self.kept)
            self.kept += chunk[:max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)

    def take(self, final=False):
        """(text, bytes dropped) since the last take; `final`: the rest, the decoder flushed."""
        with self.lock:
            self._read(64)  # bounded: a hand-in printing without end cannot hold the host
            text = self.decoder.decode(bytes(self.kept[self.taken:]), final)
            dropped = self.dropped - self.taken_dropped
            self.taken, self.taken_dropped = len(self.kept), self.dropped
        return text, dropped

    def result(self, wait):
        self.thread.join(wait)
        return self.take(final=True)


def descendants(root):
    """Processes below `root` as /proc shows them: the last resort, where no layer contains
    the hand-in. A zombie leader whose threads still run counts as alive."""
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            fields = stat[stat.rfind(b")") + 2:].split()
            if fields[0] == b"Z" and len(os.listdir(f"/proc/{name}/task")) < 2:
                continue
        except OSError:
            continue
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
        _kill(*pids)
        reap()
        if not pids:
            return


def _out_of_oom_reach():
    """Whether the OOM killer now leaves the host alone (root: CAP_SYS_RESOURCE)."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("-1000")
        return True
    except OSError:
        return False


def _kill(*pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def plan_for(msg):
    """What the hand-in's process will be given, from the layers that held."""
    limits = msg["limits"]
    held = {name: LAYERS.get(name) is None for name in ("pidns", "scratch", "uid", "cgroup")}
    plan = {"limits": limits, "confine": msg["confine"], "pidns": held["pidns"],
            "cgroups": CGROUPS if held["cgroup"] else [],
            "scratch": limits["scratch_mb"] << 20 if held["scratch"] else 0,
            "uid": msg.get("uid") if held["uid"] else None}
    plan["owner"] = (os.geteuid(), os.getegid()) if plan["uid"] is None else \
        (plan["uid"], plan["uid"])
    if held["scratch"]:
        plan["workdir"] = scratch.PATH
    else:  # a private folder of the host's, deleted afterwards
        plan["workdir"] = tempfile.mkdtemp(prefix="handin-", dir=os.getcwd())
        if plan["uid"] is not None:
            os.chown(plan["workdir"], plan["uid"], plan["uid"])
    return plan


def clean_up(plan):
    """After the hand-in's process has ended: nothing it started may outlive it."""
    if not plan["pidns"]:  # a pid namespace is empty once its pid 1 is gone
        cgroup.empty(plan["cgroups"], spare=os.getpid())
        if plan["uid"] is not None:
            uid.sweep(plan["uid"], reap)
        elif not plan["cgroups"]:
            kill_all()
    reap()
    if plan["workdir"] != scratch.PATH:
        shutil.rmtree(plan["workdir"], ignore_errors=True)


def run_child(msg, data, ctl):
    plan = plan_for(msg)
    confine.prepare(msg["confine"], LAYERS)
    out_r, out_w = os.pipe()
    report_r, report_w = os.pipe() if plan["pidns"] else (None, None)
    pid = os.fork()
    if pid == 0:
        try:
            ctl.sock.close()
            os.close(out_r)
            if report_r is not None:
                os.close(report_r)
            child_main(plan, data, out_w, report_w)
        except BaseException as e:  # a layer that probed fine but failed: say which
            for fd in (out_w, 2):  # before or after its output was set up
                try:
                    os.write(fd, f"the sandbox could not set up this hand-in: {e!r}\n".encode())
                    break
                except OSError:
                    pass
        finally:
            os._exit(5)
    os.close(out_w)
    os.close(data)
    handin = pid  # the process to kill: pid 1 of the hand-in's namespace, if it has one
    if report_r is not None:
        os.close(report_w)
        got = os.read(report_r, 4)
        os.close(report_r)
        if len(got) == 4:
            (handin,) = struct.unpack("=i", got)
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
        if not ctl.pending():
            ready, _, _ = select.select([ctl.sock, done_r], [], [])
            if done_r in ready:
                break
        cmd = ctl.read()
        if cmd is None:  # the trusted side is gone
            _kill(handin, pid)
            clean_up(plan)
            kill_all()
            os._exit(0)
        if cmd.get("op") == "kill":
            killed = True
            _kill(handin, pid)
        elif cmd.get("op") == "output":  # what it printed since it was last asked
            text, dropped = output.take()
            ctl.write({"event": "output", "output": text, "dropped": dropped})
    os.close(done_r)
    os.close(done_w)
    clean_up(plan)
    text, dropped = output.result(wait=0.5)
    st = status["st"]
    ctl.write({
        "event": "ended", "killed": killed,
        "code": os.WEXITSTATUS(st) if os.WIFEXITED(st) else None,
        "signal": os.WTERMSIG(st) if os.WIFSIGNALED(st) else None,
        "output": text, "dropped": dropped,
    })


def failed(ctl, e):
    """Tell the trusted side that the host failed on its own (a folder it needs was removed,
    say), then end, with whatever it started: the trusted side starts another."""
    why = type(e).__name__ + (f": {e.strerror}" if isinstance(e, OSError) and e.strerror else "")
    try:
        kill_all()
        ctl.write({"event": "failed", "error": why[:300]})
    finally:
        os._exit(1)


def main():
    ctl = Control(int(sys.argv[1]))
    CGROUPS.extend(sys.argv[2:])
    libc.call("prctl", PR_SET_DUMPABLE, 0, 0, 0, 0)
    libc.call("prctl", PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    LAYERS.update(probe())
    LAYERS["memcg"] = cgroup.probe_memory(CGROUPS) if LAYERS["cgroup"] is None else \
        LAYERS["cgroup"]
    if LAYERS["memcg"] is None and not _out_of_oom_reach():
        LAYERS["memcg"] = "the OOM killer could pick the sandbox host in a memory cgroup"
    if LAYERS["cgroup"] is None:  # every hand-in is forked inside (see layers/cgroup.py)
        cgroup.join(CGROUPS if LAYERS["memcg"] is None else cgroup.without_memory(CGROUPS))
    # The host's own objects are never garbage: a hand-in's process, forked from it, collects
    # its own cycles without walking them (nor copying the pages they lie on)
    gc.freeze()
    ctl.write({"event": "ready", "layers": LAYERS,
               "python": ".".join(map(str, sys.version_info[:3]))})
    while True:
        msg = ctl.read()
        if msg is None or msg.get("op") == "exit":
            kill_all()
            os._exit(0)  # nothing to flush: skip tearing the interpreter down
        if msg.get("op") != "spawn":  # a late "kill" or "output": its hand-in has ended. Read
            continue  # maybe with the next spawn's bytes, it leaves that spawn its channel
        fds, ctl.fds = ctl.fds, []
        if len(fds) == 1:
            try:
                run_child(msg, fds[0], ctl)
            except Exception as e:  # the host's own failure, never the hand-in's doing (it
                failed(ctl, e)      # runs in a process of its own): said, then a new host
        else:
            for fd in fds:
                os.close(fd)


if __name__ == "__main__":
    main()
