# base: reference. Graded after another hand-in in the same batch: looks for files it left.
import os

_found = []
for _top in (os.getcwd(), os.path.dirname(os.getcwd()), "/tmp", "/dev/shm", "/var/tmp"):
    for _dir, _subdirs, _files in os.walk(_top):
        _found += [os.path.join(_dir, f) for f in _files if "MARKER" in f]
print("found:", sorted(set(_found)))
