"""The contract scripts rely on, against a real `grader serve` (waitress) on 127.0.0.1."""
from __future__ import annotations

import json
import socket
import threading

import pytest

from servicekit import MAXIMUM, Client, Server, handin, token


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("serve") / "data"
    s = Server(data, "--jobs", "1").start()
    yield s
    s.stop()


def test_token_healthz_upload_and_result_over_http(server):
    ada = Client(server.base, token(server.data, "--student", "ada"))
    code, body = ada.upload(handin("reference"), "whatever-name.py")
    assert code == 202 and isinstance(body["id"], int)
    done = ada.wait(body["id"])
    assert done["status"] == "done" and done["attempt"] == 1 and done["graded_at"]
    assert done["result"]["score"] == done["result"]["max_score"] == MAXIMUM
    code, body = Client(server.base, token(server.data, "--student", "alan")).get(body["id"])
    assert code == 404
    code, body = Client(server.base, None).get(done["id"])
    assert code == 401 and body["error"]
    code, _ = Client(server.base, token(server.data, "--instructor", "prof")).get(done["id"])
    assert code == 200


def test_failed_carries_a_sentence_for_the_student(server):
    emmy = Client(server.base, token(server.data, "--student", "emmy"))
    code, body = emmy.upload(handin("syntax"))
    done = emmy.wait(body["id"])
    assert done["status"] == "failed" and "line" in done["error"] and done["attempt"] is None


def _raw_upload(server, size: int, token_: str) -> tuple[bytes, int, bool]:
    """Send a multipart upload of `size` bytes over a raw socket, reading the answer while the
    body is still being sent: (the answer, bytes sent before it came, whether sending went on)."""
    head = (f"POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token_}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(head + b"--b\r\nContent-Disposition: form-data; name=\"file\"; "
                        b"filename=\"engine.py\"\r\n\r\n")
    answer, sent, stop = bytearray(), [0], threading.Event()

    def send():
        chunk = b"x" * 65536
        try:
            while sent[0] < size and not stop.is_set():
                sock.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass

    sender = threading.Thread(target=send)
    sender.start()
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
            if b"\r\n\r\n" in answer:
                head_, _, rest = bytes(answer).partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head_.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                if len(rest) >= length:
                    break
        at = sent[0]
    finally:
        stop.set()
        sender.join()
        sock.close()
    return bytes(answer), at, at < size


def test_a_50_mb_upload_gets_413_with_a_sentence_while_still_sending(server):
    tok = token(server.data, "--student", "big")
    answer, at, still_sending = _raw_upload(server, 50 * 2**20, tok)
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 413"), answer[:300]
    message = json.loads(body)["error"]
    assert "MB" in message and message.count(". ") == 0 and message.endswith(".")
    assert still_sending, "the answer came only after the whole body was sent"
    # the server stays up and keeps grading
    assert Client(server.base, None).request("GET", "/healthz")[0] == 200
    client = Client(server.base, tok)
    code, body = client.upload(handin("reference"))
    assert code == 202 and client.wait(body["id"])["status"] == "done"


def test_ten_uploads_a_minute_are_taken_with_no_submissions_table(server):
    client = Client(server.base, token(server.data, "--student", "busy"))
    codes = [client.upload(handin("binary"))[0] for _ in range(10)]
    assert codes == [202] * 10


def test_no_secret_reaches_the_log_or_the_database(server):
    import sqlite3
    tok = token(server.data, "--student", "secretive")
    client = Client(server.base, tok)
    client.upload(handin("stub"))
    client.request("GET", "/api/v1/submissions/999999")
    Client(server.base, tok + "x").request("GET", "/api/v1/submissions")
    db = sqlite3.connect(server.data / "grader.db")
    key = db.execute("SELECT value FROM settings WHERE key = 'session_key'").fetchone()[0]
    stored = b"".join(str(r).encode() for r in db.execute("SELECT * FROM tokens"))
    db.close()
    log = server.output()
    assert tok not in log and key not in log
    assert tok.encode() not in stored  # only its hash is kept
    assert oct((server.data).stat().st_mode & 0o777) == "0o700"
