"""The trusted side's handle on the sandbox: start the host, load a hand-in, ask it questions.

Only plain data crosses: requests are recorded graphs; every frame that comes back (the load
report, each answer, the host's events) is checked against its schema (frames.py) before
anything reads it. Each hand-in process gets a socket pair of its own for that (see
host.py). Every wait has a deadline, writes included; a hand-in that hangs, exits, dies, stops
reading or fills its channel is killed (with everything it started) and loaded afresh for the
next question, and a host that stops answering is replaced.
"""
from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

from . import affinity, bwrap, frames, isolation, leftovers, paths
from .isolation import Isolation
from .layers import cgroup, rlimits, uid
from .limits import Limits
from .watch import POLL, Watch
from .wire import HEADER, MAX_FRAME  # one definition of the wire format

GRACE = 0.5  # seconds past a request's limit before its process is killed
HOST_SECONDS = 5.0  # for the host to take a message or report that a hand-in ended
EARLY_SOURCE = 16 << 10  # characters of cells `load_early` sends before the host reads them
AFTER_HANG_SECONDS = 0.25
AFTER_KILL_GRACE = 0.1  # the grace once the hand-in had to be killed for not stopping at its limit


class Fault(Exception):
    """The hand-in did not answer: it hung, exited, crashed or spoke garbage."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class SandboxFailure(Exception):
    """The sandbox host failed on its own (a folder it needs was removed, say), as it told
    on the control socket, which no hand-in holds: not the hand-in's doing."""


class Stuck(Exception):
    """A write that did not go through before its deadline: nobody reads on the other side."""


class Garbage:
    """What stands in for a frame that cannot be used (not JSON, too large, or not the kind
    its reader wanted), and why."""

    def __init__(self, why: str):
        self.why = why


class _Channel:
    """Length-prefixed JSON frames on a socket, read with a deadline. A frame is parsed
    (strict JSON) but not checked: its reader knows what kind it must be (frames.check)."""

    def __init__(self, sock: socket.socket):
        self.sock, self.fd = sock, sock.fileno()
        self.buf = b""
        sock.setblocking(False)

    def read(self, deadline: float | None, other: "_Channel | None" = None,
             watch: Watch | None = None):
        """One frame from this channel; returns ("other", frame) if `other` speaks first, and
        ("scratch", why) once `watch` finds the hand-in's scratch over its cap."""
        while True:
            frame = self._pop()
            if frame is not None:
                return "self", frame
            if other is not None and other._holds_frame():
                self._fill()  # what the hand-in wrote before the host spoke comes first
                frame = self._pop()
                return ("self", frame) if frame is not None else ("other", other._pop())
            fds = [self.fd] + ([other.fd] if other else [])
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if wait == 0.0:
                return "timeout", None
            if watch is not None:
                fds += [watch.fd] if watch.fd is not None else []
                wait = POLL if wait is None else min(wait, POLL)
            ready, _, _ = select.select(fds, [], [], wait)
            if watch is not None and (not ready or watch.fd in ready):
                why = watch.over()
                if why:
                    return "scratch", why
                ready = [fd for fd in ready if fd != watch.fd]
                if not ready:
                    continue
            if not ready:
                return "timeout", None
            for fd in ready:
                ch = self if fd == self.fd else other
                if not ch._fill():
                    return ("eof" if ch is self else "other-eof"), None

    def _fill(self) -> bool:
        try:
            chunk = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return True
        except ConnectionResetError:  # it closed its end with our message unread
            return False
        if not chunk:
            return False
        self.buf += chunk
        return True

    def _holds_frame(self) -> bool:
        if len(self.buf) < HEADER.size:
            return False
        (n,) = HEADER.unpack_from(self.buf)
        return n > MAX_FRAME or len(self.buf) >= HEADER.size + n

    def _pop(self):
        if len(self.buf) < HEADER.size:
            return None
        (n,) = HEADER.unpack_from(self.buf)
        if n > MAX_FRAME:
            self.buf = b""
            return Garbage(f"a frame of {n} bytes (at most {MAX_FRAME})")
        if len(self.buf) < HEADER.size + n:
            return None
        body, self.buf = self.buf[HEADER.size:HEADER.size + n], self.buf[HEADER.size + n:]
        try:
            return frames.parse(body)
        except frames.Invalid as e:
            return Garbage(str(e))


def _write(sock: socket.socket, obj, deadline: float, fds: list[int] = ()) -> None:
    """One frame onto a non-blocking socket by `deadline`, else Stuck; `fds` go with it."""
    body = json.dumps(obj).encode()
    data = HEADER.pack(len(body)) + body
    while data:
        try:  # room in the socket's buffer, as nearly always: sent at once
            sent = socket.send_fds(sock, [data], fds) if fds else sock.send(data)
        except BlockingIOError:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([], [sock], [], wait)[1]:
                raise Stuck() from None
            continue
        data, fds = data[sent:], ()


class Sandbox:
    """One sandbox host process; it forks a fresh child for each hand-in it loads.

    `spare` (a warm batch worker): as soon as a hand-in's process has ended, the host forks the
    next one, which sets up every layer and waits for its cells, while the trusted side is
    still writing the last result; the next hand-in loaded is sent to it."""

    def __init__(self, limits: Limits = Limits(), settings: Isolation = Isolation(),
                 spare: bool = False):
        self.limits = limits
        self.keep_spare = spare
        self.spare: tuple[_Channel, subprocess.Popen] | None = None  # its channel, its host
        self.settings = settings
        self.imports = paths.Imports(settings.imports)
        self.proc = None
        self.launched = False
        self.mode = "bwrap" if bwrap.available() else "none"
        self.layers: dict[str, str | None] = {}  # layer -> None when it holds, else why not
        self.python = None
        self.watch = None  # the scratch cap where no tmpfs holds it (watch.py)
        self.spawned = 0  # hand-in processes started, for their uids
        self.early: Handin | None = None  # a hand-in loading since `load_early`

    def start(self) -> None:
        """Launch the host unless `launch` already did, and wait until it is ready."""
        if self.proc is None:
            self.launch()
        self.ready()

    def launch(self) -> None:
        """Start the host without waiting for it, so a caller can import and set up meanwhile."""
        self.drop_spare()  # a spare of a host that is gone
        self.ctl, theirs = socket.socketpair()
        self.cgroups, self.no_cgroup = cgroup.create(
            f"grader-{os.getpid()}-{os.urandom(4).hex()}", rlimits.NPROC + cgroup.HOST_TASKS,
            (self.limits.memory_mb << 20) + cgroup.HOST_BYTES)
        self.imports.stage()
        cmd, self.mode = bwrap.command([str(theirs.fileno()), *self.cgroups], self.imports,
                                       self.cgroups)
        imports = bwrap.IMPORTS if self.mode == "bwrap" else self.imports.dir
        self.confine = {"read": [*paths.runtime(), imports, *self.imports.targets],
                        "hidden": paths.hidden(), "imports": imports,
                        "layers": [] if isolation.turned_off() else list(isolation.UNPRIVILEGED)}
        self.tmp = tempfile.TemporaryDirectory(prefix=leftovers.prefix("grader-sandbox-"))
        os.chmod(self.tmp.name, 0o711)  # a hand-in under its own uid reaches its folder in it
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        self.proc = subprocess.Popen(
            cmd, pass_fds=[theirs.fileno()], cwd=self.tmp.name, env=env,
            start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        theirs.close()
        self.evt = _Channel(self.ctl)
        self.launched = True

    def ready(self) -> None:
        """Wait for a launched host to say it is ready (once; later calls return at once)."""
        if not self.launched:
            return
        self.launched = False
        got, frame = self.evt.read(time.monotonic() + 10)
        try:
            _, frame = frames.check(frame, "ready") if got == "self" else (None, None)
        except frames.Invalid:
            frame = None
        if frame is None:
            self.close()
            raise RuntimeError("the sandbox host did not start: " +
                               ("bwrap failed" if self.mode == "bwrap" else "python failed"))
        self.python = frame["python"]  # the version that runs hand-ins (`--python`)
        self.layers = {"namespaces": None if self.mode == "bwrap" else bwrap.unavailable(),
                       **frame["layers"]}
        if self.no_cgroup:
            self.layers["cgroup"] = self.no_cgroup
        if isolation.turned_off():
            self.layers["uid"] = isolation.OFF
        # no tmpfs of fixed size for a hand-in's scratch: the trusted side caps it (watch.py)
        self.watch = Watch(self.tmp.name, self.limits.scratch_mb << 20) \
            if self.mode == "none" and self.layers.get("scratch") is not None else None
        for name in isolation.UNPRIVILEGED:
            if name not in self.confine["layers"]:
                self.layers[name] = isolation.OFF
        if self.settings.strict and self.describe()["level"] != "full":
            sandbox = self.describe()
            self.close()
            raise RuntimeError(isolation.refusal(sandbox))
        self.fork_spare()

    def failure(self) -> str | None:
        """Why the host stopped, if it said it failed on its own (a `failed` event among what
        it sent last), else None."""
        if self.proc is None:
            return None
        while True:
            got, frame = self.evt.read(time.monotonic() + 0.05)
            if got != "self":
                return None
            try:
                return frames.check(frame, "failed")[1]["error"]
            except frames.Invalid:
                continue

    def describe(self) -> dict:
        """`extra_data.sandbox`: the isolation level and what held (see isolation.py)."""
        return isolation.record(self.layers, self.imports.names)

    def close(self, kill: bool = False) -> None:
        self.drop_spare()
        if self.early is not None:  # never asked for: its process ends with its channel
            self.early.data.sock.close()
            self.early = None
        if self.proc is None:
            return
        # bwrap's namespace dies with it, but asynchronously: note who is inside, to wait for them
        inside = _process_tree(self.proc.pid)
        if kill:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
        try:
            _write(self.ctl, {"op": "exit"}, time.monotonic() + 1.0)
        except (OSError, Stuck):
            pass
        self.ctl.close()
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        _wait_gone(inside, deadline=time.monotonic() + 5.0)
        self.proc = None
        if self.watch is not None:
            self.watch.close()
            self.watch = None
        cgroup.remove(self.cgroups)
        self.tmp.cleanup()
        self.imports.cleanup()

    def load(self, cells: list[dict]) -> "Handin":
        """A hand-in of these cells, not yet loaded (`Handin.open` loads it): the one
        `load_early` started, if it has the same cells."""
        early, self.early = self.early, None
        if early is not None:
            if early.cells == cells:
                return early
            early._kill()  # and wait until the host says it ended, before another begins
        return Handin(self, cells)

    def load_early(self, cells: list[dict]) -> None:
        """Have a launched host load these cells as soon as it is ready, without waiting: the
        hand-in's process loads them while the caller goes on (`grader grade`: while pytest
        is imported). Only cells that fit in the sockets' buffers: nothing here may block; and
        only inside bwrap: without it, the cap on a hand-in's scratch may be ours to keep
        (watch.py), which takes us reading."""
        if self.proc is None or self.mode != "bwrap" or \
                sum(len(c["source"]) for c in cells) > EARLY_SOURCE:
            return
        handin = Handin(self, cells)
        try:
            handin.send()
        except Fault:
            return
        self.early = handin

    def spawn_message(self) -> dict:
        """What the host is told to fork a hand-in's process (its channel goes with it)."""
        return {"op": "spawn", "limits": self.limits.to_json(), "confine": self.confine,
                "uid": self.next_uid()}

    def fork_spare(self) -> None:
        """With `spare`: have the host fork the next hand-in's process now (the host is free:
        the last one has ended). A host that takes no message is found out by the next spawn."""
        if not self.keep_spare or self.spare is not None or self.proc is None:
            return
        mine, theirs = socket.socketpair()
        try:
            _write(self.ctl, self.spawn_message(), time.monotonic() + HOST_SECONDS,
                   [theirs.fileno()])
        except (OSError, Stuck):
            mine.close()
            return
        finally:
            theirs.close()
        self.spare = (_Channel(mine), self.proc)

    def take_spare(self) -> "_Channel | None":
        """The spare process's channel if the running host holds one (it is then no longer
        spare), else None."""
        spare, self.spare = self.spare, None
        if spare is None:
            return None
        if spare[1] is self.proc and self.proc is not None and self.proc.poll() is None:
            return spare[0]
        spare[0].sock.close()
        return None

    def drop_spare(self) -> None:
        """Close the spare process's channel, if there is one (its process then ends)."""
        if self.spare is not None:
            self.spare[0].sock.close()
            self.spare = None

    def next_uid(self) -> int | None:
        """The uid the next hand-in runs as where the host is root (see layers/uid.py)."""
        self.spawned += 1
        return None if isolation.turned_off() else uid.for_handin(os.getpid(), self.spawned)


class Handin:
    """A loaded hand-in. `ask` sends one graph request; faults restart it transparently."""

    def __init__(self, sandbox: Sandbox, cells: list[dict]):
        self.sandbox = sandbox
        self.cells = cells
        self.limits = sandbox.limits
        self.test_seconds = self.limits.test_seconds
        self.grace = GRACE
        self.output, self.dropped = "", 0
        self.shown, self.shown_dropped = 0, 0  # how much of it `printed` has handed out
        self.wrote = False  # its process said it printed since the host was last asked
        self.started = time.monotonic()
        self.alive = False
        self.next_id = 0
        self.data = None  # this hand-in process's own channel (a new one for each process)
        self.processes = 0  # started for this hand-in (`extra_data.processes`)
        self.sent = False  # its process has the cells, and has not said how loading went
        self.cpu, self.allowed = None, None  # the CPU it shares with us (affinity.py)
        self.moved = False  # its process was asked over to `cpu`

    # -- lifetime

    def _spawn(self) -> dict:
        if not self.sent:
            self.send()
        self.sent = False
        return self._loaded()

    def send(self) -> None:
        """Start its process and send it the cells; `_loaded` waits for what loading them did.
        Not on our CPU yet: the first request asks it over (see `ask`)."""
        sb = self.sandbox
        if sb.proc is None or sb.proc.poll() is not None:
            sb.proc = None
            sb.start()
        self.data = sb.take_spare()
        if self.data is None:
            mine, theirs = socket.socketpair()
            try:
                self._tell_host(sb.spawn_message(), fds=[theirs.fileno()])
            finally:
                theirs.close()
            self.data = _Channel(mine)
        self.alive = True
        self.sent = True
        self.processes += 1
        self._tell_handin({"cells": self.cells}, self._deadline(self._load_seconds()))

    def _load_seconds(self) -> float:
        # each cell stops itself at cell_seconds; past that (and the grace) it is killed
        return len(self.cells) * self.limits.cell_seconds + GRACE

    def _loaded(self) -> dict:
        frame = self._receive(self._deadline(self._load_seconds()), "load")
        self.wrote = self.wrote or frame.get("printed") is True
        if self.cpu is None:
            self.cpu, self.allowed = affinity.hold()
        self.moved = False
        return frame

    def open(self) -> dict:
        """Load the hand-in; returns its load report (frames.py: {"loaded": bool,
        "cell_errors": [...], ...}), or raises Fault."""
        return self._spawn()

    def close(self) -> None:
        try:
            if self.alive:
                try:
                    _write(self.data.sock, {"op": "close"}, time.monotonic() + 1.0)
                except (OSError, Stuck):
                    self._kill()
                    return
                self._wait_ended(time.monotonic() + HOST_SECONDS)
        finally:
            affinity.release(self.allowed)
            self.cpu, self.allowed = None, None

    def _deadline(self, seconds: float) -> float:
        budget_end = self.started + self.limits.handin_seconds
        return min(time.monotonic() + seconds, budget_end)

    def _receive(self, deadline: float, kind: str, **context) -> dict:
        """The hand-in's next frame, checked to be `kind` (frames.py, with `context`), or a
        Fault after it is killed and its leftovers drained."""
        sb = self.sandbox
        got, frame = self.data.read(deadline, other=sb.evt, watch=sb.watch)
        if got == "scratch":
            self._kill()
            raise Fault("scratch", f"the hand-in's scratch files passed their "
                                   f"{self.limits.scratch_mb} MiB cap ({frame}), so it was "
                                   "stopped")
        wanted = frames.FRAMES[kind].what
        if got == "self":
            try:
                kind, frame = frames.check(frame, kind, "exited", **context) \
                    if not isinstance(frame, Garbage) else (None, frame)
            except frames.Invalid as e:
                kind, frame = None, Garbage(str(e))
            if kind not in (None, "exited"):
                return frame
        if got == "timeout":
            self._kill()
            over = time.monotonic() >= self.started + self.limits.handin_seconds
            limit = self.test_seconds
            self.hung()
            self.grace = AFTER_KILL_GRACE  # it does not stop when told: waiting is for nothing
            raise Fault("timeout", (
                f"the hand-in used up its {self.limits.handin_seconds:g} s time budget"
                if over else f"did not finish in {limit:g} s"
                + (" (the limit once an earlier test hung)"
                   if limit < self.limits.test_seconds else "")))
        if got == "self" and kind == "exited":
            self._wait_ended(time.monotonic() + 2.0)
            raise Fault("exit", "the hand-in exited the process")
        if got == "other":
            ended = self._ended(frame)
            raise Fault("crash", self._death(ended) if ended else
                        "the hand-in brought down its sandbox")
        if got == "self":
            self._kill()
            raise Fault("crash", f"the hand-in wrote something that is not {frames.a(wanted)} "
                                 f"on the grader's channel ({frame.why})")
        if got == "eof":  # its process ended (the host says how) or closed its channel
            ended = self._kill()
            raise Fault("crash", self._death(ended) if ended else
                        "the hand-in brought down its sandbox")
        self._restart_host()
        raise Fault("crash", "the hand-in brought down its sandbox")

    def _tell_host(self, message: dict, fds: list[int] = ()) -> None:
        """A host that is gone or takes no message (a hand-in killed or stopped it) is
        replaced, and it is that hand-in's fault."""
        try:
            _write(self.sandbox.ctl, message, time.monotonic() + HOST_SECONDS, fds)
        except (OSError, Stuck):
            self._restart_host()
            raise Fault("crash", "the hand-in brought down its sandbox") from None

    def _tell_handin(self, message, deadline: float) -> None:
        """A hand-in that does not read what it is sent, or closed its channel, is killed."""
        try:
            _write(self.data.sock, message, deadline)
        except Stuck:
            self._kill()
            raise Fault("crash", "the hand-in stopped reading the grader's questions") from None
        except OSError:
            self._kill()
            raise Fault("crash", "the hand-in closed the grader's channel") from None

    def _death(self, ended: dict) -> str:
        if ended["signal"] == 9:
            return "the hand-in's process was killed (out of memory or CPU time?)"
        if ended["signal"]:
            return f"the hand-in's process died of signal {ended['signal']}"
        return f"the hand-in exited the process (exit code {ended['code']})"

    def _kill(self) -> dict | None:
        """Have the host kill the hand-in's process; how it ended, if the host said."""
        if not self.alive:
            return None
        try:
            _write(self.sandbox.ctl, {"op": "kill"}, time.monotonic() + HOST_SECONDS)
        except (OSError, Stuck):
            self._restart_host()
            return None
        return self._wait_ended(time.monotonic() + HOST_SECONDS)

    def _wait_ended(self, deadline: float) -> dict | None:
        got, frame = self.sandbox.evt.read(deadline)
        return self._ended(frame) if got == "self" else self._ended(None)

    def _ended(self, frame) -> dict | None:
        """The host's `ended` event, checked; None (and a new host) if it is not one."""
        try:
            kind, frame = frames.check(frame, "ended", "failed")
        except frames.Invalid:
            self._restart_host()
            return None
        if kind == "failed":
            self._restart_host(frame["error"])
        self._hang_up()
        self.sandbox.fork_spare()
        return self._keep(frame)

    def _keep(self, frame: dict) -> dict:
        """Output the host passed on (in an `ended` or `output` event), within the limit."""
        room = self.limits.output_bytes - len(self.output)
        text = frame["output"]
        self.output += text[:max(room, 0)]
        self.dropped += frame["dropped"] + max(len(text) - max(room, 0), 0)
        return frame

    def _restart_host(self, failure: str | None = None) -> None:
        """A new host for what comes next; SandboxFailure if this one said it failed on its
        own (`failure`, or its last words on the control socket)."""
        failure = failure or self.sandbox.failure()
        self._hang_up()
        self.sandbox.close(kill=True)
        if failure:
            raise SandboxFailure(f"the grader's sandbox failed on its own ({failure})")

    def _hang_up(self) -> None:
        """The hand-in process has ended: its channel goes with it, whatever is left in it."""
        self.alive = False
        if self.data is not None:
            self.data.sock.close()
            self.data = None

    # -- what it printed

    def printed(self) -> tuple[str, int]:
        """What the hand-in printed since the last call (text kept, bytes dropped): asked after
        an answer, all it wrote before answering (see host.Output.take). A host that does not
        answer is replaced, and the hand-in with it. The host is asked only when the hand-in's
        process said it printed (host.Tell); what it printed some other way comes later."""
        if self.alive and self.wrote:
            self.wrote = False
            try:
                _write(self.sandbox.ctl, {"op": "output"}, time.monotonic() + HOST_SECONDS)
                got, frame = self.sandbox.evt.read(time.monotonic() + HOST_SECONDS)
            except (OSError, Stuck):
                got, frame = "error", None
            if got != "self":
                self._restart_host()
            elif frames.FRAMES["ended"].is_tagged(frame) or frames.FRAMES["failed"].is_tagged(
                    frame):  # it ended meanwhile (all of the rest), or the host failed
                self._ended(frame)
            else:
                try:
                    _, frame = frames.check(frame, "output")
                except frames.Invalid:
                    self._restart_host()
                else:
                    self._keep(frame)
        text, dropped = self.output[self.shown:], self.dropped - self.shown_dropped
        self.shown, self.shown_dropped = len(self.output), self.dropped
        return text, dropped

    # -- questions

    def hung(self) -> None:
        """After one request ran out of time, later ones get much less: a working engine answers
        in milliseconds, and an endless loop must not cost its full limit in every test."""
        self.test_seconds = min(self.test_seconds, AFTER_HANG_SECONDS)

    def ask(self, request: dict, kind: str = "answer") -> dict:
        """Send one graph request; the hand-in's answer, checked to be a frame of `kind`
        (frames.FRAMES, given the request's id, its number of nodes and whether it asked for
        gradients), without its id."""
        if time.monotonic() >= self.started + self.limits.handin_seconds:
            raise Fault("timeout",
                        f"the hand-in used up its {self.limits.handin_seconds:g} s time budget")
        if not self.alive:
            self._spawn()
        self.next_id += 1
        request = dict(request, id=self.next_id, seconds=self.test_seconds)
        if not self.moved:  # a request and its answer then hand over without waking a CPU
            request["cpu"], self.moved = self.cpu, True
        self._tell_handin(request, self._deadline(self.test_seconds + self.grace))
        # the hand-in stops itself at `seconds` and says where; past the grace, it is killed
        answer = self._receive(self._deadline(self.test_seconds + self.grace), kind,
                               id=self.next_id, nodes=len(request["ops"]),
                               backward=request.get("backward", True))
        answer.pop("id")
        self.wrote = self.wrote or answer.pop("printed", False) is True
        if request.get("replay") and "error" not in answer:
            if "replay" not in answer:
                self._kill()  # whatever else it wrote must not answer the next request
                raise Fault("crash", "the hand-in wrote an answer without the replay asked for")
            replay = answer["replay"]
            replay["closure"], replay["error"] = replay["closure"][:200], replay["error"][:300]
            replay.setdefault("line", None)
        if "error" in answer and answer["error"]["type"] == "timeout":
            if self.test_seconds < self.limits.test_seconds:
                answer["error"]["message"] += " (the limit once an earlier test hung)"
            self.hung()
        return answer


def _process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, as this machine's /proc shows them."""
    tree, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        tree.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                frontier += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return tree


def _wait_gone(pids: list[int], deadline: float) -> None:
    for pid in pids:
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.005)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] != b"Z"  # a zombie has finished dying


def warn_if_weak(sandbox: dict | None) -> None:
    """Say on stderr when hand-ins were isolated less than fully (see isolation.py)."""
    line = isolation.warning(sandbox) if sandbox else None
    if line:
        print(line, file=sys.stderr)
