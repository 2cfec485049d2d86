"""Tasks reach the broker through the transactional outbox only (issue 12,
defect 5): a `.delay()`, `.apply_async()`, `delay_on_commit()` or `send_task()`
anywhere else would raise after a commit when the broker is down, and lose the
task. `transaction.on_commit` is the outbox's too, but for the listed in-process
callbacks that cannot fail on the broker."""

import ast
from pathlib import Path

from django.conf import settings

HAND_OFF = {"delay", "apply_async", "delay_on_commit", "apply_async_on_commit", "send_task"}
OUTBOX = "outbox/services.py"
ON_COMMIT_ELSEWHERE = {
    # Drops the practice's unwrapped keys from this process's cache.
    "patients/rotation.py",
    # Writes the key's pending encryption counts after the commit (issue 18 item 2):
    # a database write in this process, no task handed over.
    "patients/keys.py",
    # Moves the agent's ring marker in Redis after the commit (issue 14, console/ring.py):
    # no task handed over; a move lost with the process is caught by the lease's end.
    "console/services.py",
}
NOT_APPS = {"tests", "bench", "scripts", "docs", "static", "templates", "locale"}


def _first_party_modules() -> dict[str, str]:
    base = Path(settings.BASE_DIR)
    modules = {}
    for package in sorted(base.iterdir()):
        if package.name in NOT_APPS or not (package / "__init__.py").exists():
            continue
        for path in package.rglob("*.py"):
            modules[path.relative_to(base).as_posix()] = path.read_text(encoding="utf-8")
    return modules


def _calls(source: str, names: set[str]) -> list[int]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in names:
                found.append(node.lineno)
    return sorted(found)


def test_call_finder_sees_each_way_of_enqueueing():
    source = (
        "task.delay(1)\n"
        "transaction.on_commit(lambda: task.apply_async((2,)))\n"
        "task.delay_on_commit(3)\n"
        "app.send_task('x')\n"
        "task.apply(kwargs={})\n"
    )
    assert _calls(source, HAND_OFF) == [1, 2, 3, 4]
    assert _calls(source, {"on_commit"}) == [2]


def test_only_the_outbox_hands_tasks_to_the_broker():
    modules = _first_party_modules()
    assert OUTBOX in modules and "compliance/incidents.py" in modules
    elsewhere = {
        path: lines
        for path, source in modules.items()
        if path != OUTBOX and (lines := _calls(source, HAND_OFF))
    }
    assert elsewhere == {}


def test_on_commit_callbacks_are_the_outboxs_or_listed():
    modules = _first_party_modules()
    using = {path for path, source in modules.items() if _calls(source, {"on_commit"})}
    assert using == {OUTBOX} | ON_COMMIT_ELSEWHERE
