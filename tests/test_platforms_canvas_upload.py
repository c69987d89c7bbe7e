"""`grader canvas-upload` against a local server that answers the Canvas REST endpoints canvasapi
calls (course, assignment, paginated submissions with their comments, submission update, the
comment file upload) and records what it was sent."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from grader.batch import store
from grader.batch.canvas_upload import MARK
from grader.batch.classroom import grade_class
from grader.report import feedback

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mutants  # noqa: E402

GRADER = Path(sys.executable).with_name("grader")
TOKEN = "test-token-123"
COURSE, ASSIGNMENT, POINTS = 7, 42, 10.0
PER_PAGE = 2  # so five students take three pages


class FakeCanvas(ThreadingHTTPServer):
    def __init__(self, students: list[int]):
        super().__init__(("127.0.0.1", 0), Handler)
        self.log: list[tuple[str, str, dict]] = []
        self.uploads: dict[int, bytes] = {}
        self.subs = {uid: {"id": 1000 + uid, "user_id": uid, "assignment_id": ASSIGNMENT,
                           "score": None, "grade": None, "submission_comments": [],
                           "user": {"id": uid, "sis_user_id": f"S{uid}", "login_id": f"l{uid}"}}
                     for uid in students}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def puts(self) -> list[tuple[str, dict]]:
        return [(path, form) for method, path, form in self.log if method == "PUT"]


class Handler(BaseHTTPRequestHandler):
    server: FakeCanvas

    def log_message(self, *args):
        pass

    def _send(self, status: int, body, headers: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {TOKEN}":
            return True
        self._send(401, {"errors": [{"message": "Invalid access token."}]})
        return False

    def do_GET(self):
        if not self._authorised():
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.server.log.append(("GET", url.path, query))
        base = f"/api/v1/courses/{COURSE}"
        if url.path == base:
            return self._send(200, {"id": COURSE, "name": "Backprop 101"})
        if url.path == f"{base}/assignments/{ASSIGNMENT}":
            return self._send(200, {"id": ASSIGNMENT, "course_id": COURSE,
                                    "name": "Backprop Exercise", "points_possible": POINTS})
        if url.path == f"{base}/assignments/{ASSIGNMENT}/submissions":
            page = int(query.get("page", ["1"])[0])
            subs = list(self.server.subs.values())
            chunk = subs[(page - 1) * PER_PAGE:page * PER_PAGE]
            include = set(query.get("include[]", []))
            body = [{k: v for k, v in s.items()
                     if k != "submission_comments" or "submission_comments" in include}
                    for s in chunk]
            headers = {}
            if page * PER_PAGE < len(subs):
                nxt = "&".join([f"include[]={i}" for i in sorted(include)]
                               + [f"page={page + 1}", f"per_page={PER_PAGE}"])
                headers["Link"] = (f'<{self.server.url}{url.path}?{nxt}>; rel="next", '
                                   f'<{self.server.url}{url.path}?page=1>; rel="first"')
            return self._send(200, body, headers)
        self._send(404, {"errors": [{"message": "The specified resource does not exist."}]})

    def do_PUT(self):
        if not self._authorised():
            return
        form = parse_qs(self._body().decode())
        self.server.log.append(("PUT", self.path, form))
        m = re.fullmatch(rf"/api/v1/courses/{COURSE}/assignments/{ASSIGNMENT}/submissions/(\d+)",
                         self.path)
        sub = self.server.subs.get(int(m[1])) if m else None
        if sub is None:
            return self._send(404, {"errors": [{"message": "not found"}]})
        if "submission[posted_grade]" in form:
            sub["score"] = float(form["submission[posted_grade]"][0])
            sub["grade"] = form["submission[posted_grade]"][0]
        if "comment[text_comment]" in form:
            ids = [int(i) for i in form.get("comment[file_ids][]", [])]
            sub["submission_comments"].append({
                "id": len(sub["submission_comments"]) + 1, "author_id": 1,
                "comment": form["comment[text_comment]"][0],
                "attachments": [{"id": i, "display_name": "feedback.html"} for i in ids]})
        self._send(200, {k: v for k, v in sub.items() if k != "submission_comments"})

    def do_POST(self):
        url = urlsplit(self.path)
        body = self._body()
        m = re.fullmatch(rf"/api/v1/courses/{COURSE}/assignments/{ASSIGNMENT}/submissions/"
                         r"(\d+)/comments/files", url.path)
        if m:  # step 1: ask where to upload
            if not self._authorised():
                return
            form = parse_qs(body.decode())
            self.server.log.append(("POST", url.path, form))
            n = len(self.server.uploads) + 1
            self.server.uploads[n] = b""
            return self._send(200, {"upload_url": f"{self.server.url}/files_upload/{n}",
                                    "upload_params": {"filename": form["name"][0],
                                                      "content_type": "text/html"}})
        m = re.fullmatch(r"/files_upload/(\d+)", url.path)
        if m:  # step 2: the file itself, to the upload URL (no token, as to Canvas's file store)
            self.server.log.append(("UPLOAD", url.path, {}))
            self.server.uploads[int(m[1])] = body
            return self._send(201, {"id": 500 + int(m[1]), "url": f"{self.server.url}/files/x",
                                    "display_name": "feedback.html", "size": len(body)})
        self._send(404, {"errors": [{"message": "not found"}]})


@pytest.fixture
def canvas_server():
    servers = []

    def start(students):
        server = FakeCanvas(students)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("canvas-upload")
    dl = base / "dl"
    dl.mkdir()
    (dl / "lovelaceada_101_5001_engine.py").write_text(mutants.REFERENCE.read_text())
    (dl / "turingalan_LATE_102_5002_engine.py").write_text(mutants.source("add-overwrite"))
    (dl / "hoppergrace_103_5003_engine.py").write_text("def broken(:\n")
    (dl / "nobody_999_5009_engine.py").write_text(mutants.REFERENCE.read_text())
    grade_class(dl, base / "out", jobs=2, progress=False)
    return base / "out"


def upload(out: Path, server: FakeCanvas, *args: str, answer: str = "",
           token: str = TOKEN) -> subprocess.CompletedProcess:
    env = {"CANVAS_API_URL": server.url, "CANVAS_API_TOKEN": token, "PATH": "/usr/bin:/bin"}
    return subprocess.run([str(GRADER), "canvas-upload", str(out), "--course", str(COURSE),
                           "--assignment", str(ASSIGNMENT), *args], input=answer,
                          capture_output=True, text=True, timeout=120, env=env)


def grade_of(out: Path, sid: str) -> float:
    r = store.read(out / "results" / f"{sid}.json")
    return round(r.score / r.max_score * POINTS, 2)


def test_shows_asks_posts_once_and_reports(graded, canvas_server):
    server = canvas_server([101, 102, 103, 104, 106])
    server.subs[101]["score"] = 10.0  # graded by hand already, the same grade
    # Asked and refused: nothing changes.
    proc = upload(graded, server, answer="n\n")
    assert proc.returncode == 1 and server.puts() == []
    assert 'Canvas assignment "Backprop Exercise" (10 points):' in proc.stdout
    assert re.search(r"^  101 lovelaceada: post feedback comment \(\d+ characters, page attached\)$",
                     proc.stdout, re.M)
    assert f"  102 turingalan: post grade {grade_of(graded, '102'):g} / 10 and feedback" \
        in proc.stdout
    assert "1 graded student(s) not found in this assignment (skipped): 999" in proc.stdout
    assert "Change 3 submission(s) in Canvas?" in proc.stdout
    # Every page of submissions was read, with the comments and the users.
    pages = [q for m, p, q in server.log if m == "GET" and p.endswith("/submissions")]
    assert [q.get("page", ["1"])[0] for q in pages] == ["1", "2", "3"]
    assert all(set(q["include[]"]) == {"submission_comments", "user"} for q in pages)

    # Asked and accepted.
    proc = upload(graded, server, answer="y\n")
    assert proc.returncode == 0, proc.stderr
    sent = dict(server.puts())
    base = f"/api/v1/courses/{COURSE}/assignments/{ASSIGNMENT}/submissions"
    assert sorted(sent) == [f"{base}/101", f"{base}/102", f"{base}/103"]
    assert "submission[posted_grade]" not in sent[f"{base}/101"]  # already right
    for sid in ("102", "103"):
        assert sent[f"{base}/{sid}"]["submission[posted_grade]"] == [f"{grade_of(graded, sid):g}"]
        assert server.subs[int(sid)]["score"] == grade_of(graded, sid)
    assert server.subs[103]["score"] == 0  # could not be graded: 0, and the comment says why
    for sid in ("101", "102", "103"):
        comment = sent[f"{base}/{sid}"]["comment[text_comment]"][0]
        text = feedback.summary(store.read(graded / "results" / f"{sid}.json"), f"{sid}.html")
        assert comment.startswith(text) and f"[{MARK} " in comment.splitlines()[-1]
        assert len(comment) < 2000 and "`" not in comment  # a summary; the page is attached
    # the sentence, the line with a caret, under the name the student gave the file
    broken = sent[f"{base}/103"]["comment[text_comment]"][0]
    assert "engine.py, line 1" in broken and "hoppergrace_103" not in broken
    assert "1 | def broken(:" in broken and "FAILED" not in broken and "^" in broken
    assert "101: feedback comment posted with the page" in proc.stdout
    assert f"102: grade {grade_of(graded, '102'):g} posted, feedback comment posted" in proc.stdout
    assert server.subs[104]["submission_comments"] == [] and server.subs[106]["score"] is None

    # Run again: nothing is posted twice.
    proc = upload(graded, server, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert len(server.puts()) == 3
    assert "3 student(s) already have this grade and feedback: nothing to post." in proc.stdout
    assert "Nothing to change." in proc.stdout
    assert all(len(server.subs[u]["submission_comments"]) == 1 for u in (101, 102, 103))


def test_a_changed_grade_gets_its_new_comment_once(graded, canvas_server, tmp_path):
    server = canvas_server([101, 102])
    out = tmp_path / "out"
    shutil.copytree(graded, out)
    assert upload(out, server, "--yes").returncode == 0
    # 102 is graded again with a fixed engine: a new grade and a new comment, once.
    r = store.read(out / "results" / "102.json")
    for t in r.tests:
        t.score = t.max_score
    store.write(out / "results", "102", r)
    proc = upload(out, server, "--yes")
    assert "102: grade 10 posted, feedback comment posted" in proc.stdout
    assert [c["comment"].splitlines()[1] for c in server.subs[102]["submission_comments"]] == \
        [feedback.headline(store.read(graded / "results" / "102.json")),
         feedback.headline(r)]
    assert "Nothing to change." in upload(out, server, "--yes").stdout


def test_attached_page_goes_through_canvas_file_upload(graded, canvas_server):
    server = canvas_server([101])
    proc = upload(graded, server, "--attach-page", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "101: grade 10 posted, feedback comment posted with the page" in proc.stdout
    steps = [(m, p) for m, p, _ in server.log if m != "GET"]
    base = f"/api/v1/courses/{COURSE}/assignments/{ASSIGNMENT}/submissions/101"
    assert steps == [("POST", f"{base}/comments/files"), ("UPLOAD", "/files_upload/1"),
                     ("PUT", base)]
    assert (graded / "feedback" / "101.html").read_bytes() in server.uploads[1]
    assert dict(server.puts())[base]["comment[file_ids][]"] == ["501"]
    assert server.subs[101]["submission_comments"][0]["attachments"][0]["id"] == 501


def test_token_and_url_come_from_the_environment(graded, canvas_server):
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run([str(GRADER), "canvas-upload", str(graded), "--course", "7",
                           "--assignment", "42"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 2 and "CANVAS_API_URL" in proc.stderr
    server = canvas_server([101])
    proc = upload(graded, server, "--yes", token="wrong")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Invalid access token" in proc.stderr and server.puts() == []
