# base: reference. Reopens every descriptor it holds through /proc/self/fd for writing (which
# gives write access to the read end of a pipe) and leaves a bogus frame header in each, for
# whoever reads there next. Then is a correct engine.
import os

for _fd in range(3, 64):
    try:
        _w = os.open(f"/proc/self/fd/{_fd}", os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        continue
    try:
        os.write(_w, b"\x7f\xff\xff\xffpoison")
    except OSError:
        pass
    os.close(_w)
