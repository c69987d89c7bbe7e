# base: reference. Prints about 300 MB at import, then is a correct engine.
import sys

_line = "flood " * 174762 + "\n"  # about 1 MiB
for _ in range(300):
    sys.stdout.write(_line)
sys.stdout.flush()
