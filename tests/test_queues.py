"""Two Celery queues (settings.CELERY_TASK_ROUTES): a long purge never delays a
reminder. Checked on the router and on the real broker."""

import pytest
import redis
from django.conf import settings

from secretariat.celery import app


def _project_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith(("celery.", "tests.")))


def _queue(name: str) -> str:
    route = app.amqp.router.route({}, name, args=(), kwargs={})
    return route["queue"].name


def test_every_heavy_task_names_exactly_one_registered_task():
    tasks = _project_tasks()
    for short_name in settings.HEAVY_TASKS:
        assert [t for t in tasks if t.rsplit(".", 1)[1] == short_name], short_name


def test_every_task_goes_to_the_heavy_or_the_interactive_queue():
    queues = {name: _queue(name) for name in _project_tasks()}
    heavy = {name for name, queue in queues.items() if queue == "heavy"}
    assert {name.rsplit(".", 1)[1] for name in heavy} == set(settings.HEAVY_TASKS)
    assert set(queues.values()) == {"heavy", "interactive"}
    assert _queue("appointments.tasks.reminder_deliver") == "interactive"


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("heavy", "interactive")
    yield client
    client.delete("heavy", "interactive")


@pytest.mark.real_worker  # published to Redis, not run in process
def test_a_purge_and_a_reminder_land_in_different_queues_on_redis(broker):
    purge = next(name for name in _project_tasks() if name.endswith(".purge_expired"))
    with app.connection_for_write() as connection:
        app.tasks[purge].apply_async(connection=connection)
        app.tasks["appointments.tasks.reminder_deliver"].apply_async(
            kwargs={"practice_id": 0, "reminder_id": 0}, connection=connection
        )
    assert broker.llen("heavy") == 1
    assert broker.llen("interactive") == 1


def test_a_worker_started_without_a_queue_consumes_both():
    # make run with a broker, and the suite's workers, run one worker for everything.
    assert sorted(app.amqp.queues.consume_from) == ["heavy", "interactive"]
