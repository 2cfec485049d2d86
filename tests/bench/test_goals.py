"""The goal lines the benchmarks print and the table `make bench` ends with."""

import pytest

from bench.goals import goal, parse, table


def test_goal_lower_is_met_at_or_under_its_target(capsys):
    assert goal(issue="18.3", figure="name", measured=1.2, unit="x", target=1.2, better="lower")
    assert not goal(
        issue="18.3", figure="name", measured=1.21, unit="x", target=1.2, better="lower"
    )
    lines = capsys.readouterr().out.splitlines()
    assert [parse(line)[4] for line in lines] == ["met", "NOT met"]


def test_goal_higher_is_met_at_or_over_its_target(capsys):
    assert goal(
        issue="14", figure="webhook", measured=500, unit="events/s", target=500, better="higher"
    )
    assert not goal(
        issue="14", figure="webhook", measured=151, unit="events/s", target=500, better="higher"
    )
    fields = parse(capsys.readouterr().out.splitlines()[1])
    assert fields == ["14", "webhook", "151 events/s", "≥ 500 events/s", "NOT met"]


def test_goal_refuses_an_unknown_direction():
    with pytest.raises(ValueError):
        goal(issue="15", figure="feed", measured=1, unit="ms", target=10, better="faster")


def test_parse_ignores_ordinary_output():
    assert parse("304 revalidation, 210 events   3.1/4.2/9.0   8.1   1.01x") is None
    assert parse("GOAL\tonly\tthree") is None


def test_table_counts_the_goals_met(capsys):
    goal(issue="15", figure="feed 304", measured=14.25, unit="ms", target=10, better="lower")
    goal(
        issue="14",
        figure="ring to console p95",
        measured=684,
        unit="ms",
        target=1000,
        better="lower",
    )
    rows = [parse(line) for line in capsys.readouterr().out.splitlines()]
    printed = table(rows)
    assert printed.splitlines()[0].split() == ["issue", "figure", "measured", "goal", "verdict"]
    assert "14.25 ms" in printed and "≤ 1000 ms" in printed
    assert printed.splitlines()[-1] == "1 of 2 goals met"


def test_goal_prints_counts_whole_and_ratios_unspaced(capsys):
    goal(issue="4", figure="errors", measured=0, unit="errors", target=0, better="lower")
    goal(issue="18.3", figure="name", measured=1.054, unit="x", target=1.2, better="lower")
    rows = [parse(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0][2:4] == ["0 errors", "≤ 0 errors"]
    assert rows[1][2:4] == ["1.05x", "≤ 1.20x"]
