# base: reference. Leaves a sleeper in its own session, then kills its parent (the sandbox host)
# so that nothing above it is left to reap the sleeper.
import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "MARKER"])
    os._exit(0)
time.sleep(0.1)
os.kill(os.getppid(), 9)
