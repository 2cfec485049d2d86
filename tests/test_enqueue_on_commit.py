"""Tasks are enqueued only after their transaction commits (DESIGN.md): in code a
request can reach, every `.delay()` / `.apply_async()` sits inside a
`transaction.on_commit(...)` call, so a worker never looks for rows that are not
committed yet, or that a rollback removed."""

import ast
from pathlib import Path

from django.conf import settings

ENQUEUE = {"delay", "apply_async"}
# Not reached by requests: a task may enqueue another one; a command runs alone.
EXEMPT_PARTS = {"management", "migrations"}
EXEMPT_NAMES = {"tasks.py", "celery.py"}
NOT_APPS = {"tests", "bench", "scripts", "docs", "static", "templates", "locale"}


def _first_party_modules() -> list[Path]:
    base = Path(settings.BASE_DIR)
    modules = []
    for package in sorted(base.iterdir()):
        if package.name in NOT_APPS or not (package / "__init__.py").exists():
            continue
        for path in package.rglob("*.py"):
            parts = set(path.relative_to(base).parts)
            if parts & EXEMPT_PARTS or path.name in EXEMPT_NAMES:
                continue
            modules.append(path)
    return modules


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _unguarded_enqueues(source: str) -> list[int]:
    """Line numbers of enqueue calls neither nested in an on_commit(...) call nor
    inside a function of the module handed to on_commit by name."""
    tree = ast.parse(source)
    deferred = {
        arg.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _name(node.func) == "on_commit"
        for arg in node.args
        if isinstance(arg, ast.Name)
    }
    found = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in deferred:
            guarded = True
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name in ENQUEUE and not guarded:
                found.append(node.lineno)
            guarded = guarded or name == "on_commit"
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return found


def test_enqueue_checker_tells_guarded_from_unguarded():
    source = (
        "def view(request):\n"
        "    task.delay(1)\n"
        "    transaction.on_commit(lambda: task.delay(2))\n"
        "    transaction.on_commit(partial(task.apply_async, (3,)))\n"
        "    other.apply_async(args=(4,))\n"
        "    def enqueue():\n"
        "        task.delay(6)\n"
        "    transaction.on_commit(enqueue)\n"
        "    def later():\n"
        "        task.delay(9)\n"
        "    later()\n"
    )
    assert _unguarded_enqueues(source) == [2, 5, 10]


def test_enqueue_from_request_code_waits_for_commit():
    modules = _first_party_modules()
    assert any(path.name == "views.py" for path in modules)
    unguarded = {
        str(path.relative_to(settings.BASE_DIR)): lines
        for path in modules
        if (lines := _unguarded_enqueues(path.read_text(encoding="utf-8")))
    }
    assert unguarded == {}
