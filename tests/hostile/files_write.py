# base: reference. Tries to leave files around: in its folder, in the grader's repository,
# in /root and in /tmp. Then is a correct engine.
import os

for _dir in (".", "REPO", "/root", "/tmp"):
    try:
        with open(os.path.join(_dir, "MARKER"), "w") as f:
            f.write("left behind\n")
    except OSError as e:
        print("could not write in", _dir, ":", e)
