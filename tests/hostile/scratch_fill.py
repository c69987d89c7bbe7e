# base: reference. At import, fills its own scratch folder (its working folder) with files as
# large as the file limit allows, FILE_MB MiB each, up to TOTAL MiB, saying how far it got
# after each; then is a correct engine.
import os

_written = 0
_block = b"x" * (1 << 20)
try:
    for _n in range(TOTAL // FILE_MB):
        with open(f"fill-{_n}", "wb") as _f:
            for _ in range(FILE_MB):
                _f.write(_block)
                _f.flush()
                _written += 1
        print("wrote", _written, "MiB", flush=True)
except OSError as e:
    print("refused after", _written, "MiB:", e.strerror, flush=True)
