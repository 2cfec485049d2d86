"""Every benchmark of `make bench` is in docs/performance.md's goals table or
its list of benchmarks without a goal, and it calls goal() exactly when the
table lists it: a bench whose figures have a goal cannot drop out of the table
`make bench` ends with unnoticed."""

import ast
import re
from pathlib import Path

from bench.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parents[2]


def _documented() -> tuple[set[str], set[str]]:
    """(benchmarks with a goal, benchmarks without one), as the docs say."""
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    section = text.split("\n## The goals table\n", 1)[1].split("\n## ", 1)[0]
    with_goal = set(re.findall(r"^\| `bench\.(\w+)` \|", section, re.MULTILINE))
    without = re.search(r"^No goal in any issue:(.*?)(?:\n\n|\Z)", section, re.M | re.S)
    return with_goal, set(re.findall(r"`bench\.(\w+)`", without[1]))


def _calls_goal(name: str) -> bool:
    tree = ast.parse((ROOT / "bench" / f"{name}.py").read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "goal"
        for node in ast.walk(tree)
    )


def test_goals_table_lists_every_benchmark_once():
    with_goal, without = _documented()
    assert not with_goal & without
    assert with_goal | without == set(BENCHMARKS)


def test_benchmark_calls_goal_when_the_docs_give_it_one():
    with_goal, _without = _documented()
    assert {name for name in BENCHMARKS if _calls_goal(name)} == with_goal
