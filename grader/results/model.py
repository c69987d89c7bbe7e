"""One graded hand-in, in Gradescope's results.json shape.

Every output format (text, PrairieLearn, gradebook CSV, the HTML report) is rendered from a
`Result`; nothing rebuilds scores by hand. `Result.to_json()` is exactly Gradescope's format:
top-level `score`, `execution_time`, `output`, `tests`, and everything else under `extra_data`.

Points are whole hundredths wherever they are stored or shown (`cents`, `points`): the course
file's scaling shares each test's points out in hundredths that add up to the total exactly,
a score is its tests' points less the late penalty rounded to hundredths, so the floats in the
JSON are the numbers every output shows, no score exceeds its maximum and totals add up.
"""
from __future__ import annotations

from dataclasses import dataclass, field


def cents(x: float) -> float:
    """Points as stored and shown: whole hundredths (`grader.course.scoring` shares a test's points
    out in hundredths, so every total adds up)."""
    return round(float(x) + 0.0, 2) + 0.0  # + 0.0: never "-0"


def points(x) -> str:
    """Points as every output shows them: at most two decimals, no trailing zeros ("1.65",
    "100", "0.5")."""
    try:
        text = f"{cents(x):.2f}"
    except (TypeError, ValueError, OverflowError):
        return "—"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass
class TestResult:
    name: str
    score: float
    max_score: float
    output: str = ""
    visibility: str = "visible"
    number: str = ""
    # Machine-readable facts for reports: misconception ids, the graph of a failed multi-use test.
    extra: dict = field(default_factory=dict)
    # Whether the hand-in passed the test; by default from its score. It is kept when the
    # course file re-weights a test, so a failed test worth 0 points still reads "failed".
    status: str = ""

    def __post_init__(self):
        if not self.status:
            self.status = "passed" if self.score >= self.max_score else "failed"

    def to_json(self) -> dict:
        d = {
            "name": self.name,
            "score": round(self.score, 6),
            "max_score": self.max_score,
            "status": self.status,
            "output": self.output,
            "visibility": self.visibility,
        }
        if self.number:
            d["number"] = self.number
        if self.extra:
            d["extra_data"] = self.extra
        return d

    @classmethod
    def from_json(cls, d: dict) -> "TestResult":
        return cls(
            name=d["name"], score=d["score"], max_score=d["max_score"],
            output=d.get("output", ""), visibility=d.get("visibility", "visible"),
            number=d.get("number", ""), extra=d.get("extra_data", {}),
            status=d.get("status", ""),
        )


@dataclass
class Result:
    tests: list[TestResult] = field(default_factory=list)
    output: str = ""
    execution_time: float = 0.0
    # Identity, hashes, limits, sandbox, late penalty, load errors: everything beyond the spec.
    extra: dict = field(default_factory=dict)

    @property
    def raw_score(self) -> float:
        return cents(sum(t.score for t in self.tests))

    @property
    def max_score(self) -> float:
        return cents(sum(t.max_score for t in self.tests))

    @property
    def penalty(self) -> float:
        """Fraction of the raw score taken away for lateness (0 when on time)."""
        return self.extra.get("late", {}).get("penalty", 0.0)

    @property
    def score(self) -> float:
        return min(cents(self.raw_score * (1.0 - self.penalty)), self.raw_score)

    @property
    def misconceptions(self) -> list[str]:
        """Every misconception a failed test was found to show, once, in test order."""
        return list(dict.fromkeys(m for t in self.tests
                                  for m in t.extra.get("misconceptions", [])))

    def summary(self) -> "Result":
        """The same result without its feedback text: what class-wide views (gradebook,
        histogram, pass rates, misconceptions) need, small enough to hold a whole class."""
        tests = [TestResult(t.name, t.score, t.max_score, extra={
            "misconceptions": t.extra.get("misconceptions", [])}, status=t.status)
            for t in self.tests]
        return Result(tests, "", self.execution_time, self.extra)

    def to_json(self) -> dict:
        return {
            "score": self.score,
            "execution_time": round(self.execution_time, 4),
            "output": self.output,
            "tests": [t.to_json() for t in self.tests],
            "extra_data": self.extra,
        }

    @classmethod
    def from_json(cls, d: dict) -> "Result":
        return cls(
            tests=[TestResult.from_json(t) for t in d.get("tests", [])],
            output=d.get("output", ""),
            execution_time=d.get("execution_time", 0.0),
            extra=d.get("extra_data", {}),
        )
