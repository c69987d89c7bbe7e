# base: reference. Starts as many processes as it can (up to 300) and leaves them running.
import os

_held = 0
for _ in range(300):
    try:
        _pid = os.fork()
    except OSError:
        break
    if _pid == 0:
        try:
            os.execv("/bin/sleep", ["sleep", "MARKER"])
        finally:
            os._exit(0)
    _held += 1
print("held", _held, "processes", flush=True)
