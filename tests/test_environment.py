"""Every environment variable the code reads is in the README's configuration
tables, and every variable there is read by the code. The variables are found by
parsing the code, never listed by hand."""

import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "secretariat" / "settings.py"
NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _constant_name(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant):
        value = call.args[0].value
        if isinstance(value, str) and NAME.match(value):
            return value
    return None


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _subscript_read(node: ast.AST) -> str | None:
    """os.environ["X"], read (not assigned)."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)):
        return None
    if _is_os_environ(node.value) and isinstance(node.slice, ast.Constant):
        return node.slice.value
    return None


def _call_read(node: ast.AST, *, settings: bool) -> str | None:
    """os.environ.get("X") and os.getenv("X"); in settings.py also django-environ's
    env("X") and env.<cast>("X")."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    on_env = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
    read = (
        (isinstance(func, ast.Attribute) and func.attr == "get" and _is_os_environ(func.value))
        or (on_env and func.attr == "getenv" and func.value.id == "os")
        or (settings and isinstance(func, ast.Name) and func.id == "env")
        or (settings and on_env and func.value.id == "env")
    )
    return _constant_name(node) if read else None


def _reads(tree: ast.AST, *, settings: bool) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        name = _subscript_read(node) or _call_read(node, settings=settings)
        if name:
            names.add(name)
    return names


def variables_read_by_the_code() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "*.py"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    names = set()
    for relative in filter(None, listed.decode().split("\0")):
        path = ROOT / relative
        if path.is_file():
            names |= _reads(ast.parse(path.read_text()), settings=path == SETTINGS)
    return names


def variables_documented_in_the_readme() -> set[str]:
    """Backquoted names in the table rows of the README's configuration section."""
    section = (ROOT / "README.md").read_text().split("\n## Configuration", 1)[1]
    section = section.split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("|"):
            cell = line.split("|")[1]
            names |= {name for name in re.findall(r"`([^`]+)`", cell) if NAME.match(name)}
    return names


def test_the_code_reads_the_variables_we_know_of():
    # The finder itself: a variable of each kind of read must be found.
    found = variables_read_by_the_code()
    assert {"SECRET_KEY", "DATABASE_URL", "SECRETARIAT_ENV", "CHROMIUM_PATH"} <= found
    assert "DATABASE_POOL" in found  # a read spread over several lines


def test_every_variable_the_code_reads_is_documented_in_the_readme():
    missing = variables_read_by_the_code() - variables_documented_in_the_readme()
    assert sorted(missing) == []


def test_every_variable_documented_in_the_readme_is_read_by_the_code():
    stale = variables_documented_in_the_readme() - variables_read_by_the_code()
    assert sorted(stale) == []
