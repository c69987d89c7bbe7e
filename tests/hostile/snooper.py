# base: reference. Reaches for what a sandbox must keep from it, says what it got, then is a
# correct engine. REPO is the grader's repository, PORT a TCP server on 127.0.0.1, MARKER a
# unique file name.
import os
import socket

for _path in ("REPO/solutions/engine.py", "REPO/grader/checking/model.py", "/etc/shadow"):
    try:
        with open(_path) as _f:
            print("snoop: read", _path, "GOT", len(_f.read()), "chars")
    except OSError as _e:
        print("snoop: read", _path, "refused:", _e.strerror)
try:
    _s = socket.create_connection(("127.0.0.1", PORT), timeout=2)
    _s.sendall(b"MARKER")
    _s.close()
    print("snoop: connect 127.0.0.1:PORT GOT through")
except OSError as _e:
    print("snoop: connect 127.0.0.1:PORT refused:", _e.strerror or _e)
for _dir in ("/root", "/var/tmp", "/dev/shm"):
    try:
        with open(os.path.join(_dir, "MARKER"), "w") as _f:
            _f.write("left behind\n")
        print("snoop: write", _dir, "GOT through")
    except OSError as _e:
        print("snoop: write", _dir, "refused:", _e.strerror)
