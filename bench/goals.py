"""A benchmark's figure against the issue's goal, printed as one line that
`make bench` (bench/__main__.py) collects into the closing table.

    goal(issue="18.3", figure="exact name, 1M vs 10k", measured=1.05,
         unit="x", target=1.2, better="lower")

The line is tab-separated so it stays readable alone (`python -m bench.X`) and
parses without ambiguity; the table is printed after every benchmark has run.
"""

PREFIX = "GOAL"


def goal(
    *,
    issue: str,
    figure: str,
    measured: float,
    unit: str,
    target: float,
    better: str,
) -> bool:
    """Print the figure against its target and return whether it is met.
    `better` is "lower" (a time, a ratio of times) or "higher" (a throughput)."""
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', not {better!r}")
    met = measured <= target if better == "lower" else measured >= target
    sign = "≤" if better == "lower" else "≥"
    unit = unit if unit == "x" else f" {unit}"  # 1.05x, 14.25 ms
    fields = [
        PREFIX,
        issue,
        figure,
        f"{_number(measured)}{unit}",
        f"{sign} {_number(target)}{unit}",
        "met" if met else "NOT met",
    ]
    print("\t".join(fields), flush=True)
    return met


def _number(value: float) -> str:
    if isinstance(value, int):  # a count (errors, queries) or a whole target
        return str(value)
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2f}"


def parse(line: str) -> list[str] | None:
    """The fields of a goal line (issue, figure, measured, target, verdict), or None."""
    fields = line.rstrip("\n").split("\t")
    if len(fields) != 6 or fields[0] != PREFIX:
        return None
    return fields[1:]


def table(rows: list[list[str]]) -> str:
    """The collected goal lines as one aligned table, in the order they ran."""
    header = ["issue", "figure", "measured", "goal", "verdict"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    met = sum(row[4] == "met" for row in rows)
    lines.append(f"{met} of {len(rows)} goals met")
    return "\n".join(lines)
