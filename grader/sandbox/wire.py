"""The frames both ends of the sandbox speak: a 4-byte big-endian length, then that many bytes
of JSON. Stdlib only, beside the host (which imports it as `wire`, as it does `layers`); the
trusted side imports it without the host and its layers."""
import struct

HEADER = struct.Struct(">I")
MAX_FRAME = 1 << 20
MAX_SOURCE = 32 << 20  # the frame carrying a hand-in's cells
