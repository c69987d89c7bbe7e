# base: reference. Leaves a process that never stays put: it forks a copy of itself and exits,
# again and again, so a list of processes is out of date by the time it is read.
import os
import sys

if os.fork() == 0:
    os.setsid()
    os.execv(sys.executable, [sys.executable, "-S", "-c", (
        "import os, time\n"
        "for _ in range(3000):\n"
        "    if os.fork():\n"
        "        os._exit(0)\n"
        "    time.sleep(0.0001)\n"), "MARKER"])
