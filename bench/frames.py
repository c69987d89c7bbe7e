"""What checking the sandbox's frames (grader/sandbox/frames.py) adds to a request: the suite's
own requests, recorded while grading the reference, timed as round trips through a real
sandbox, and the checking of their answers timed alone, in the same run.

    python bench/frames.py [--rounds 20] [--out bench/frames.json]
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grader.grading.runner import grade  # noqa: E402
from grader.sandbox import client, frames  # noqa: E402
from grader.grading.handin import load  # noqa: E402


def record() -> list[tuple[dict, dict, dict]]:
    """(request, answer frame as read, context) of every answer while grading the reference."""
    seen, asked, real_check, real_ask = [], [], frames.check, client.Handin.ask

    def check(frame, *kinds, **context):
        if kinds[0] == "answer":
            seen.append((copy.deepcopy(frame), context))
        return real_check(frame, *kinds, **context)

    def ask(self, request):
        asked.append(request)
        return real_ask(self, request)
    frames.check, client.Handin.ask = check, ask
    try:
        grade(ROOT / "solutions" / "engine.py")
    finally:
        frames.check, client.Handin.ask = real_check, real_ask
    return [(r, f, c) for r, (f, c) in zip(asked, seen)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    recorded = record()
    sandbox = client.Sandbox()
    sandbox.start()
    handin = sandbox.load(load(ROOT / "solutions" / "engine.py").cells)
    handin.open()
    trips, checks, parses = [], [], []
    bodies = [json.dumps(f).encode() for _, f, _ in recorded]
    for _ in range(args.rounds):
        t = time.perf_counter()
        for request, _, _ in recorded:
            handin.ask(request)
        trips.append((time.perf_counter() - t) / len(recorded))
        t = time.perf_counter()
        for _, frame, context in recorded:
            frames.check(frame, "answer", "exited", **context)
        checks.append((time.perf_counter() - t) / len(recorded))
        t = time.perf_counter()
        for body in bodies:
            frames.parse(body)
        t2 = time.perf_counter()
        for body in bodies:
            json.loads(body)
        parses.append(((t2 - t) - (time.perf_counter() - t2)) / len(recorded))
    handin.close()
    sandbox.close()
    trip, check, parse = (statistics.median(x) * 1e6 for x in (trips, checks, parses))
    nodes = [c["nodes"] for _, _, c in recorded]
    report = {"requests": len(recorded), "nodes per request (median, max)":
              [statistics.median(nodes), max(nodes)], "round trip us (median)": round(trip, 1),
              "checking an answer us": round(check, 2),
              "strict parsing over json.loads us": round(parse, 2),
              "added share of a round trip": round((check + parse) / trip, 4)}
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
