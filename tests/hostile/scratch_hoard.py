# base: reference. Fills every writable place it finds with files (each as large as the file
# limit allows) up to TOTAL MiB: files in tmpfs are memory the process limit does not count,
# and files outside its own folder may outlive it. Then is a correct engine.
import os

_total, _kept = TOTAL << 20, {}
_block = b"x" * (1 << 20)
for _i, _dir in enumerate(("/tmp", "/dev/shm", "/var/tmp", os.getcwd(),
                           os.path.dirname(os.getcwd()))):
    _n = 0
    while sum(_kept.values()) < _total:
        try:
            with open(os.path.join(_dir, f"MARKER-{_i}-{_n}"), "wb") as _f:
                for _ in range(16):
                    _f.write(_block)
        except OSError:
            break
        _kept[(_dir, _i, _n)] = 16 << 20
        _n += 1
_where = {}
for (_dir, _, _), _size in _kept.items():
    _where[_dir] = _where.get(_dir, 0) + (_size >> 20)
print("hoarded", sum(_kept.values()) >> 20, "MiB:", _where, flush=True)
