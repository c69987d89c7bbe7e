# base: reference. Leaves processes behind in every way it can, then is a correct engine.
import os
import subprocess
import time

# a child in its own session
if os.fork() == 0:
    os.setsid()
    os.execv("/bin/sleep", ["sleep", "MARKER"])
# a double fork: the grandchild is orphaned at once
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "MARKER"])
    os._exit(0)
# an ordinary subprocess
subprocess.Popen(["sleep", "MARKER"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL, start_new_session=True)
time.sleep(0.1)
