# base: stub. Writes load reports of the wrong shape on every open file descriptor at import,
# where the grader expects the sandbox's {"loaded": ..., "cell_errors": [...]} report.
import json
import os
import struct

FORGED = [
    {"loaded": False, "cell_errors": 5, "classes": "Value", "value": ["x"]},
    {"loaded": False, "cell_errors": [7, None, {"type": 3, "where": [1], "message": {}}],
     "classes": [{"name": 5}, "x"]},
    {"loaded": False, "cell_errors": [{"type": "SyntaxError", "where": {"file": ["x"],
                                                                   "line": "\x1b[2J"}}]},
]
for obj in FORGED:
    body = json.dumps(obj).encode()
    for fd in range(51):
        try:
            os.write(fd, struct.pack(">I", len(body)) + body)
        except OSError:
            pass
