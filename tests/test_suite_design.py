"""The hidden suite's design, checked against the reference model alone (no sandbox).

Each hidden test function is called directly with a `Checker` whose answers come from
`grader.checking.model.evaluate(ops, root, bug, order)`: the reference engine running one
misconception's closure and visiting children in order `order`, as an engine keeping `_prev` in
a set may. Properties:

1. A verdict (pass/fail) never depends on the visiting order: the same engine gets the same
   grade however its sets happen to iterate, also when the order changes from graph to graph.
2. The correct model passes every test in every order.
3. No misconception goes unnoticed: for each bug the model can run, some hidden test fails.
4. Forward tests only look at forward values: no backward bug fails them.

Feedback text is not looked at here, only verdicts; `model.evaluate` is memoised so the
~50,000 test runs take seconds.
"""
from __future__ import annotations

import pkgutil
import random

import pytest

import grader.suite
from grader.checking import model
from grader.checking.check import Checker, Failed
from grader.checking.misconceptions import MODEL_BUGS
from suite_cases import discover

ORDERS = range(30)
MIXED_SEEDS = range(10)


CASES = discover()
IDS = [c[0] for c in CASES]


@pytest.fixture(scope="module", autouse=True)
def _memoised():
    """Memoise the model: a pure function of its arguments."""
    evaluate = model.evaluate
    seen = {}

    def cached_evaluate(ops, root, bug=None, order=0):
        key = (repr(ops), root, bug if isinstance(bug, (str, type(None))) else tuple(bug), order)
        if key not in seen:
            seen[key] = evaluate(ops, root, bug, order)
        data, grad = seen[key]
        return list(data), list(grad)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(model, "evaluate", cached_evaluate)
        yield


def passes(func, kwargs: dict, bug: str | None, order_of) -> bool:
    """Run one hidden test against the model; `order_of()` gives each request's visiting order."""
    def ask(request):
        data, grad = model.evaluate(request["ops"], request["root"], bug, order_of())
        return {"data": data, "grad": grad if request.get("backward", True) else None}

    try:
        func(Checker(ask), **kwargs)
    except Failed:
        return False
    return True


def verdicts(bug: str | None) -> dict[str, dict[int, bool]]:
    """test id -> {order: passed} for one model bug."""
    return {cid: {order: passes(func, kwargs, bug, lambda o=order: o) for order in ORDERS}
            for cid, func, kwargs in CASES}


def test_discovery_finds_the_suite():
    modules = {cid.split("::")[0] for cid in IDS}
    expected = {m.name for m in pkgutil.iter_modules(grader.suite.__path__)
                if m.name.startswith("test_")}
    assert modules == expected
    from grader.suite.test_random import SEEDS
    assert sum(cid.startswith("test_random::test_random_graph[") for cid in IDS) == len(SEEDS)
    assert len(IDS) == len(set(IDS))


def test_reference_model_passes_everything_in_every_order():
    failing = {cid: [o for o, ok in by_order.items() if not ok]
               for cid, by_order in verdicts(None).items() if not all(by_order.values())}
    assert not failing, f"the correct model fails (test: orders) {failing}"


@pytest.mark.parametrize("bug", MODEL_BUGS)
def test_verdicts_do_not_depend_on_visiting_order(bug):
    table = verdicts(bug)
    split = {cid: sorted(o for o, ok in by_order.items() if ok)
             for cid, by_order in table.items() if len(set(by_order.values())) > 1}
    assert not split, f"{bug}: verdict depends on child order (test: orders it passes in) {split}"
    failed = [cid for cid, by_order in table.items() if not any(by_order.values())]
    assert failed, f"no hidden test notices {bug}"
    forward = [cid for cid, by_order in table.items()
               if cid.startswith("test_forward::") and not all(by_order.values())]
    assert not forward, f"forward-only tests fail for the backward bug {bug}: {forward}"


@pytest.mark.parametrize("bug", [None] + MODEL_BUGS)
def test_verdicts_stable_when_order_changes_between_graphs(bug):
    """A set-keeping engine's order differs for every graph it builds (every test and probe)."""
    split = []
    for cid, func, kwargs in CASES:
        base = passes(func, kwargs, bug, lambda: 0)
        for seed in MIXED_SEEDS:
            rng = random.Random(f"{bug}-{cid}-{seed}")
            if passes(func, kwargs, bug, lambda: rng.randrange(1000)) != base:
                split.append((cid, seed))
                break
    assert not split, f"{bug}: verdict changes with per-graph visiting orders: {split}"


def features(ops: list[list], root: int) -> set[str]:
    """What building a recorded graph asks of an engine, operator by operator."""
    found = set()
    for op in ops[:root + 1]:
        kind, args = op[0], op[1:]
        if kind in ("add", "sub", "mul", "div"):
            left, right = (isinstance(a, dict) for a in args)
            symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[kind]
            found.add(f"1 {symbol} a" if left else "numbers on the right" if right
                      else f"a {symbol} b")
        elif kind != "leaf":
            found.add(kind)
    return found


@pytest.mark.parametrize("cid", IDS)
def test_each_test_is_about_one_thing(cid):
    """Besides `+` and `*` of Values, a test needs one feature, unless its name says
    "Whole engine": so a missing method costs only the tests that need it."""
    from corpus_truth import Recorder
    from suite_cases import display_name

    func, kwargs = next((f, k) for c, f, k in CASES if c == cid)
    recorder = Recorder()
    func(recorder, **kwargs)
    needs = set().union(*(features(r["ops"], r["root"]) for r in recorder.requests))
    extra = needs - {"a + b", "a * b"}
    if not display_name(func, kwargs).startswith("Whole engine"):
        assert len(extra) <= 1, f"{cid} needs {sorted(extra)} besides + and *"
