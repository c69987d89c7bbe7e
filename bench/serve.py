"""Speed of the submission service: `grader serve` on its embedded default under load, against
`grader batch` on the same hand-ins.

    python bench/serve.py [--handins 500] [--clients 50] [--jobs 2] [--idle 30]
                          [--out bench/serve.json]

In one run, on this machine:

- batch: `grader batch CLASS --jobs J` over N mixed hand-ins (bench/run.py's class: the
  reference, every mutant, the stub, notebooks, malformed files), timed from the shell;
- load: `grader serve --data DIR --jobs J` (SQLite, grading in-process), and C client threads,
  one student each, each uploading its share of the same N hand-ins one after another: upload
  (multipart POST), then poll the submission until it is done or failed, then the next.
  Throughput is N over the time from the first upload to the last result; upload-to-result is
  each hand-in's time from the start of its POST to the poll that saw it finished (polls back
  back off from 0.25 to 2 s as the student page's do, so a latency under load is late by up to
  one poll);
- idle: after the load, hand-ins uploaded one at a time to the same server, polling every
  10 ms: the upload-to-result a student sees on a quiet server, and how much of it the service
  adds to the hand-in's own grading time (the result's `execution_time`);
- none lost: every upload answered 202, every one finished, and each one's score equals the
  batch's score for the same file;
- peak memory of the server's process tree during the load (sum of RSS, and of PSS, sampled
  every 100 ms from /proc).

Shared machines are noisy: the ratio (service throughput / batch throughput) is measured in one
run, back to back.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)

THROUGHPUT_TARGET = 0.7   # of the batch's
IDLE_P50_TARGET = 1.0     # seconds


def request(base, token, method, path, body=None, ctype=None):
    headers = {"Authorization": f"Bearer {token}"}
    if ctype:
        headers["Content-Type"] = ctype
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def upload_and_wait(base, token, path: Path, poll: float, poll_max: float) -> dict:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
            f"{path.name}\"\r\n\r\n").encode() + path.read_bytes() + \
        f"\r\n--{boundary}--\r\n".encode()
    t0 = time.perf_counter()
    code, answer = request(base, token, "POST", "/api/v1/submissions", body,
                           f"multipart/form-data; boundary={boundary}")
    if code != 202:
        return {"file": path.name, "code": code, "error": answer.get("error")}
    wait = poll
    while True:
        code, s = request(base, token, "GET", f"/api/v1/submissions/{answer['id']}")
        if s.get("status") in ("done", "failed"):
            t1 = time.perf_counter()
            done = s["status"] == "done"
            return {"file": path.name, "code": 202, "status": s["status"],
                    "score": s["result"]["score"] if done else None,
                    "grading": s["result"]["execution_time"] if done else None,
                    "latency": t1 - t0, "start": t0, "end": t1}
        time.sleep(wait)
        wait = min(wait * 1.5, poll_max)


def cpu_seconds(pid: int) -> float:
    """User and system time a process has used so far (not its children's)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


class Memory:
    def __init__(self, pid, interval=0.1):
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self):
        page = os.sysconf("SC_PAGE_SIZE")
        while not self.done.is_set():
            rss = pss = 0
            for pid in run._tree(self.pid):
                r, s = run._rss_pss(pid, page)
                rss, pss = rss + r, pss + (s or 0)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.done.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--handins", type=int, default=500)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--idle", type=int, default=30)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "serve.json")
    args = ap.parse_args()

    from grader.service.service import Service
    from grader.service.store import User

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        tmp = Path(tmp)
        cls = tmp / "class"
        kinds = run.build_class(cls, args.handins)
        files = sorted(cls.iterdir())

        print(f"grader batch: {args.handins} hand-ins, --jobs {args.jobs} ...", flush=True)
        batch_s = run.timed(run.batch_cmd(cls, tmp / "batch-out", args.jobs))
        batch_scores = {p.stem: json.loads(p.read_text())["score"]
                        for p in (tmp / "batch-out" / "results").glob("*.json")}

        data = tmp / "data"
        svc = Service(data=data).open(grading=False)
        tokens = [svc.token(User(f"client{i:02d}", "", "student", "bench"))
                  for i in range(args.clients)]
        idle_tokens = [svc.token(User(f"idle{i}", "", "student", "bench"))  # 10 a minute each
                       for i in range(args.idle // 10 + 1)]
        svc.store.engine.dispose()
        port = run_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([run.GRADER, "serve", "--data", str(data), "--port", str(port),
                                   "--jobs", str(args.jobs)], env=run._env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            end = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > end:
                        raise RuntimeError("the server did not start")
                    time.sleep(0.1)
            time.sleep(2)  # its grading processes warm

            print(f"grader serve: {args.clients} clients uploading the same {args.handins} "
                  "...", flush=True)
            results: list[dict] = []
            lock = threading.Lock()

            def client(i):
                for path in files[i::args.clients]:
                    r = upload_and_wait(base, tokens[i], path, 0.25, 2.0)
                    with lock:
                        results.append(r)

            web_cpu = cpu_seconds(server.pid)
            with Memory(server.pid) as mem:
                threads = [threading.Thread(target=client, args=(i,))
                           for i in range(args.clients)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            web_cpu = cpu_seconds(server.pid) - web_cpu

            print(f"idle: {args.idle} uploads one at a time ...", flush=True)
            idle = [upload_and_wait(base, idle_tokens[i // 10], files[i % len(files)], 0.01,
                                    0.01) for i in range(args.idle)]
        finally:
            server.terminate()
            server.wait(30)

    refused = [r for r in results if r["code"] != 202]
    finished = [r for r in results if r["code"] == 202]
    wrong = [r["file"] for r in finished
             if r["status"] == "done" and batch_scores.get(Path(r["file"]).stem) != r["score"]]
    wall = max(r["end"] for r in finished) - min(r["start"] for r in finished)
    lat = [r["latency"] for r in finished]
    idle_lat = [r["latency"] for r in idle if r["code"] == 202]
    idle_added = [r["latency"] - r["grading"] for r in idle if r.get("grading") is not None]
    mib = 1 << 20
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "note": "shared machine: other sessions ran tests at the same time"},
        "handins": args.handins, "clients": args.clients, "jobs": args.jobs,
        "kinds": len(set(kinds.values())),
        "batch": {"seconds": round(batch_s, 2), "per_second": round(args.handins / batch_s, 2)},
        "serve": {
            "seconds": round(wall, 2), "per_second": round(len(finished) / wall, 2),
            "throughput_vs_batch": round((len(finished) / wall) / (args.handins / batch_s), 3),
            "upload_to_result_s": {"p50": round(pct(lat, 0.5), 3),
                                   "p95": round(pct(lat, 0.95), 3),
                                   "max": round(max(lat), 3)},
            "web_process_cpu_s": round(web_cpu, 1),
            "peak_rss_sum_mib": round(mem.peak_rss / mib, 1),
            "peak_pss_sum_mib": round(mem.peak_pss / mib, 1),
        },
        "idle_upload_to_result_s": {"n": len(idle_lat), "p50": round(pct(idle_lat, 0.5), 3),
                                    "p95": round(pct(idle_lat, 0.95), 3),
                                    # what the service adds to the hand-in's own grading time
                                    "added_by_service_p50": round(pct(idle_added, 0.5), 3)},
        "idle_refused": [(r["file"], r["code"]) for r in idle if r["code"] != 202],
        "lost": args.handins - sum(1 for r in finished if r["status"] in ("done", "failed")),
        "refused": [(r["file"], r["code"], r.get("error")) for r in refused],
        "score_differs_from_batch": wrong,
    }
    report["targets"] = {
        "none_lost": report["lost"] == 0 and not refused and not report["idle_refused"],
        "same_scores_as_batch": not wrong,
        f"throughput_at_least_{THROUGHPUT_TARGET}x_batch":
            report["serve"]["throughput_vs_batch"] >= THROUGHPUT_TARGET,
        f"idle_p50_under_{IDLE_P50_TARGET:g}s":
            report["idle_upload_to_result_s"]["p50"] < IDLE_P50_TARGET,
    }
    text = json.dumps(report, indent=1)
    args.out.write_text(text + "\n")
    print(text)
    sys.exit(0 if all(report["targets"].values()) else 1)


def run_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
