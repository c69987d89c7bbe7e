"""Every hostile hand-in the kit's tests know (tests/hostile/), uploaded through a real service
while another student keeps handing in the reference: nobody else's result is touched, nothing
the hostile code prints reaches another student, and the service keeps answering."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

from servicekit import MAXIMUM, ROOT, Client, Server, free_port, handin, token

HOSTILE = Path(__file__).parent / "hostile"
REFERENCE = ROOT / "solutions" / "engine.py"
STUB = ROOT / "assignments" / "engine.py"


def hostile(name: str, marker: str) -> bytes:
    """The snippet appended to the reference or the stub, as its first line says (as
    tests/test_hostile.py builds them)."""
    snippet = (HOSTILE / f"{name}.py").read_text()
    base = REFERENCE if snippet.startswith("# base: reference") else STUB
    for key, value in {"MARKER": marker, "REPO": str(ROOT), "PORT": str(free_port())}.items():
        snippet = snippet.replace(key, value)
    return (base.read_text() + "\n\n" + snippet).encode()


def test_hostile_hand_ins_harm_nobody_else(tmp_path):
    server = Server(tmp_path / "data", "--jobs", "2", "--test-timeout", "0.5").start()
    try:
        good = Client(server.base, token(server.data, "--student", "good"))
        names = sorted(p.stem for p in HOSTILE.glob("*.py") if not p.stem.startswith("folder_"))
        assert len(names) >= 25
        marker = "HOSTILE" + uuid.uuid4().hex
        theirs, mine = {}, []
        for i, name in enumerate(names):
            client = Client(server.base, token(server.data, "--student", f"h-{name}"))
            code, body = client.upload(hostile(name, marker))
            assert code == 202, (name, body)
            theirs[name] = (client, body["id"])
            if i % 3 == 0:
                code, body = good.upload(handin("reference"))
                assert code == 202
                mine.append(body["id"])
        for sid in mine:
            body = good.wait(sid, timeout=900)
            assert body["status"] == "done" and body["result"]["score"] == MAXIMUM, body
            assert marker not in json.dumps(body)
        for name, (client, sid) in theirs.items():
            body = client.wait(sid, timeout=900)
            assert body["status"] in ("done", "failed"), (name, body)
            if body["status"] == "failed":
                assert body["error"] and "Traceback" not in body["error"], (name, body)
        # another student's id still reads as nothing, and the service still grades
        client, sid = theirs[names[0]]
        assert good.get(sid)[0] == 404
        assert Client(server.base, None).request("GET", "/healthz")[0] == 200
        code, body = good.upload(handin("reference"))
        assert good.wait(body["id"])["result"]["score"] == MAXIMUM
    finally:
        server.stop()
