"""Figures the suite prints at the end of a run (pages crawled per persona,
examples per form): tests add lines here, conftest's terminal summary prints them."""

LINES: dict[str, list[str]] = {}


def add(section: str, line: str) -> None:
    LINES.setdefault(section, []).append(line)
