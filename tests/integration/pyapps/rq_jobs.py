"""Job functions for test_py_apps.py's RQ flows (RQ imports them by name)."""
from rq import get_current_job


def add(a, b):
    return a + b


def boom():
    raise ValueError("boom")


def flaky(key):
    """Fails twice, then succeeds: a retried job's attempts are counted in
    the server."""
    n = get_current_job().connection.incr(key)
    if n < 3:
        raise RuntimeError(f"attempt {n}")
    return n


def progress():
    job = get_current_job()
    job.meta["progress"] = 100
    job.save_meta()
    return job.id


def on_success(job, connection, result, *args, **kwargs):
    connection.set("callback:" + job.id, f"ok {result}")


def on_failure(job, connection, exc_type, exc_value, tb):
    connection.set("callback:" + job.id, "failed " + exc_type.__name__)
