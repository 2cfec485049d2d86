import pytest


@pytest.fixture(autouse=True)
def eager_tasks(request):
    """Tasks enqueued by a request run in process here (the real worker on Redis
    is exercised by test_worker.py, marked `real_worker`)."""
    from secretariat.celery import app

    if request.node.get_closest_marker("real_worker"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous
