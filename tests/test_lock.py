"""The locks hold what pyproject.toml asks for: a dependency added to pyproject
without `make lock` fails here, not on someone else's machine."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def _hashed(lock: str) -> bool:
    # Every requirement is followed by its hashes (pip's --require-hashes format).
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements" / lock).read_text())
    requirements = [block for block in blocks if PIN.match(block)]
    return bool(requirements) and all("--hash=sha256:" in block for block in requirements)


@pytest.mark.parametrize(
    ("lock", "dependencies"),
    [
        ("runtime.txt", PROJECT["dependencies"]),
        ("test.txt", PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]),
    ],
)
def test_each_lock_pins_every_dependency_within_its_range(lock, dependencies):
    pins = _pins(lock)
    wrong = []
    for line in dependencies:
        requirement = Requirement(line)
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned, prereleases=True):
            wrong.append(f"{requirement}: {pinned}")
    assert wrong == [], "run `make lock` after changing pyproject.toml"


def test_the_runtime_lock_agrees_with_the_test_lock():
    runtime, test = _pins("runtime.txt"), _pins("test.txt")
    assert {name: test.get(name) for name in runtime} == runtime


@pytest.mark.parametrize("lock", ["runtime.txt", "test.txt"])
def test_every_pin_carries_its_hashes(lock):
    assert _hashed(lock)
