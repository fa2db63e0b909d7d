"""The Celery application of test_py_apps.py: the broker and the result
backend are the server under test (CELERY_URL); the worker runs this
module in its own process."""
import os

from celery import Celery

app = Celery("celery_tasks", broker=os.environ["CELERY_URL"], backend=os.environ["CELERY_URL"])
app.conf.update(
    task_acks_late=True,
    broker_transport_options={"visibility_timeout": 60, "queue_order_strategy": "priority"},
    result_expires=300,
    broker_connection_retry_on_startup=False,
    worker_hijack_root_logger=False,
)


@app.task
def add(x, y):
    return x + y


@app.task
def total(xs):
    return sum(xs)


@app.task(bind=True, max_retries=3)
def flaky(self, fails):
    if self.request.retries < fails:
        raise self.retry(countdown=0.1)
    return self.request.retries


@app.task
def fail():
    raise ValueError("nope")
