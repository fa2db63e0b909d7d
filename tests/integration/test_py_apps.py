"""Python libraries built on Redis, in their real flows against the server:
RQ (jobs, a burst worker, failures, retries, callbacks, dependencies,
scheduled jobs, results, requeue, a worker process stopped by its pub/sub
commands), Celery (a worker process with the Redis broker and result
backend: tasks, retries, failures, groups, chords, chains, priorities,
remote control), limits (fixed, moving and elastic windows hitting and
clearing their limits), django-redis (get/set/incr/ttl/locks/
delete_pattern/versions, plain, compressed and sharded) and cachelib.
Debian packages them (scripts/bootstrap.sh installs them); outside CI a
missing one skips its test.  Runs against redis-server too
(CAIRN_TEST_SERVER=redis)."""
import datetime
import importlib
import os
import subprocess
import sys
import time

import pytest
import redis

from conftest import wait_for

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyapps")
sys.path.insert(0, HERE)


def need(module):
    """Import module, or skip the test where it is not installed; CI
    installs every one (scripts/bootstrap.sh), so there it must be."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{module} is not installed (scripts/bootstrap.sh installs it)")


def url(server, db=0):
    return f"redis://{server.host}:{server.port}/{db}"


def test_rq_jobs(server, r):
    need("rq")
    from rq import Queue, Retry, SimpleWorker, Worker
    from rq.job import Job
    from rq.registry import (DeferredJobRegistry, FailedJobRegistry, FinishedJobRegistry,
                             ScheduledJobRegistry)
    import rq_jobs

    conn = redis.Redis(host=server.host, port=server.port, socket_timeout=10)
    q = Queue("default", connection=conn)
    ok = q.enqueue(rq_jobs.add, 2, 3, on_success=rq_jobs.on_success)
    bad = q.enqueue(rq_jobs.boom, on_failure=rq_jobs.on_failure)
    retried = q.enqueue(rq_jobs.flaky, "attempts", retry=Retry(max=3))
    dependent = q.enqueue(rq_jobs.add, 10, 20, depends_on=ok)
    meta = q.enqueue(rq_jobs.progress)
    later = q.enqueue_in(datetime.timedelta(seconds=1), rq_jobs.add, 5, 5)
    many = q.enqueue_many([Queue.prepare_data(rq_jobs.add, (i, i)) for i in range(5)])
    assert q.count == 9
    assert DeferredJobRegistry(queue=q).get_job_ids() == [dependent.id]
    assert ScheduledJobRegistry(queue=q).get_job_ids() == [later.id]
    assert later.get_status() == "scheduled"

    # SimpleWorker runs the jobs in this process (no fork per job); its
    # calls to the server are Worker's.
    SimpleWorker([q], connection=conn).work(burst=True)
    for job in (ok, bad, retried, dependent, meta, *many):
        job.refresh()
    assert ok.get_status() == "finished" and ok.return_value() == 5
    assert [res.type.name for res in ok.results()] == ["SUCCESSFUL"]
    assert r.get("callback:" + ok.id) == "ok 5"
    assert bad.get_status() == "failed" and "ValueError: boom" in bad.latest_result().exc_string
    assert r.get("callback:" + bad.id) == "failed ValueError"
    assert retried.get_status() == "finished" and retried.return_value() == 3
    assert r.get("attempts") == "3"
    assert dependent.get_status() == "finished" and dependent.return_value() == 30
    assert meta.meta == {"progress": 100}
    fetched = Job.fetch_many([j.id for j in many], connection=conn)
    assert [j.return_value() for j in fetched] == [0, 2, 4, 6, 8]
    assert FailedJobRegistry(queue=q).get_job_ids() == [bad.id]
    assert len(FinishedJobRegistry(queue=q)) == 9
    assert q.count == 0

    # The scheduled job becomes due; a worker with the scheduler moves it
    # to the queue and runs it.
    due = ScheduledJobRegistry(queue=q).get_scheduled_time(later)
    time.sleep(max(0.0, due.replace(tzinfo=datetime.timezone.utc).timestamp() - time.time()) + 0.05)
    SimpleWorker([q], connection=conn).work(burst=True, with_scheduler=True)
    assert later.get_status(refresh=True) == "finished" and later.return_value() == 10

    # Requeued from the failed registry, the job fails again.
    FailedJobRegistry(queue=q).requeue(bad.id)
    assert q.count == 1
    SimpleWorker([q], connection=conn).work(burst=True)
    bad.refresh()
    assert bad.get_status() == "failed"
    assert Worker.all(connection=conn) == []
    conn.close()


def test_rq_worker_process(server, r):
    """A worker process waiting in BLPOP: it takes jobs as they come, its
    running job is stopped and the worker shut down through its pub/sub
    channel."""
    need("rq")
    from rq import Queue, Worker
    from rq.command import send_shutdown_command, send_stop_job_command

    conn = redis.Redis(host=server.host, port=server.port, socket_timeout=10)
    q = Queue("work", connection=conn)
    worker = subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", "--url", url(server),
                               "--name", "w1", "--worker-ttl", "30", "work"],
                              cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: [w.name for w in Worker.all(connection=conn)] == ["w1"])
        job = q.enqueue("rq_jobs.add", 1, 2)
        assert wait_for(lambda: job.get_status(refresh=True) == "finished")
        assert job.return_value() == 3
        sleeper = q.enqueue("time.sleep", 30)
        assert wait_for(lambda: sleeper.get_status(refresh=True) == "started")
        send_stop_job_command(conn, sleeper.id)
        assert wait_for(lambda: sleeper.get_status(refresh=True) == "stopped")
        send_shutdown_command(conn, "w1")
        assert worker.wait(20) == 0
        assert Worker.all(connection=conn) == []
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait()
        conn.close()


def test_celery_worker(server, r):
    need("celery")
    os.environ["CELERY_URL"] = url(server)
    from celery import chain, chord, group
    import celery_tasks as t

    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "celery_tasks", "worker",
                               "-P", "solo", "-l", "WARNING", "-Q", "celery,other",
                               "--without-heartbeat", "--without-mingle", "--without-gossip"],
                              cwd=HERE, env=dict(os.environ), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    # result.get() waits on the result backend's pub/sub channel.
    try:
        assert t.add.delay(2, 3).get(timeout=30) == 5
        assert t.flaky.delay(2).get(timeout=20) == 2
        assert t.add.apply_async((1, 1), priority=9).get(timeout=20) == 2
        assert t.add.apply_async((2, 2), queue="other", priority=0).get(timeout=20) == 4
        assert group(t.add.s(i, i) for i in range(5)).delay().get(timeout=20) == [0, 2, 4, 6, 8]
        assert chord((t.add.s(i, 1) for i in range(4)), t.total.s()).delay().get(timeout=20) == 10
        assert chain(t.add.s(1, 2), t.add.s(10)).delay().get(timeout=20) == 13
        later = t.add.apply_async((7, 8), countdown=0.5)
        assert later.get(timeout=20) == 15 and later.state == "SUCCESS"
        later.forget()
        assert later.state == "PENDING"
        # Remote control goes through the broker's fanout (pub/sub).
        assert list(t.app.control.inspect(timeout=5, limit=1).ping().values()) == [{"ok": "pong"}]
        t.add.apply_async((0, 0), countdown=60).revoke()
        assert t.app.control.purge() == 0
        failed = t.fail.delay()
        with pytest.raises(ValueError, match="nope"):
            failed.get(timeout=20)
        assert failed.state == "FAILURE" and "ValueError: nope" in failed.traceback
    finally:
        worker.terminate()
        worker.wait(20)


def test_limits_strategies(server, r):
    need("limits")
    from limits import parse, storage, strategies

    st = storage.storage_from_string(f"redis://{server.host}:{server.port}")
    assert st.check()
    item = parse("5/second")
    for strategy in (strategies.FixedWindowRateLimiter, strategies.MovingWindowRateLimiter,
                     strategies.FixedWindowElasticExpiryRateLimiter):
        lim = strategy(st)
        who = ("user", strategy.__name__)
        assert [lim.hit(item, *who) for _ in range(7)] == [True] * 5 + [False] * 2
        assert not lim.test(item, *who)
        assert lim.get_window_stats(item, *who)[1] == 0
        lim.clear(item, *who)
        assert lim.test(item, *who) and lim.hit(item, *who)
        assert lim.get_window_stats(item, *who)[1] == 4
        # A cost larger than what is left is refused and takes nothing.
        two = parse("2/minute")
        assert lim.hit(two, "cost", strategy.__name__, cost=2)
        assert not lim.hit(two, "cost", strategy.__name__)
    # The moving window frees its slots as they age out of the second.
    moving = strategies.MovingWindowRateLimiter(st)
    quick = parse("2/second")
    assert moving.hit(quick, "age") and moving.hit(quick, "age") and not moving.hit(quick, "age")
    assert wait_for(lambda: moving.hit(quick, "age"), timeout=5)
    assert st.reset() > 0
    assert r.keys("LIMITS:*") == []


def django_cache(server, db, **options):
    need("django_redis")
    from django.conf import settings
    if not settings.configured:
        settings.configure()
    from django_redis.cache import RedisCache
    location = url(server, db) if not options.get("SHARDS") else \
        [url(server, db + i) for i in range(options.pop("SHARDS"))]
    return RedisCache(location, {"OPTIONS": options})


@pytest.mark.parametrize("kind", ["default", "zlib-json", "herd", "shard"])
def test_django_redis_cache(server, r, kind):
    options = {
        "default": {},
        "zlib-json": {"COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor",
                      "SERIALIZER": "django_redis.serializers.json.JSONSerializer"},
        "herd": {"CLIENT_CLASS": "django_redis.client.HerdClient"},
        "shard": {"CLIENT_CLASS": "django_redis.client.ShardClient", "SHARDS": 2},
    }[kind]
    c = django_cache(server, 1, **options)
    c.clear()
    big = {"text": "x" * 2000}
    assert c.set("a", {"x": [1, 2]}, timeout=30)
    assert c.set("big", big)
    assert c.get("a") == {"x": [1, 2]} and c.get("big") == big and c.get("nope", 7) == 7
    herd = 60 if kind == "herd" else 0  # HerdClient keeps a value 60 s longer
    assert 0 < c.ttl("a") <= 30 + herd
    if kind != "herd":  # HerdClient has no incr
        c.set("n", 1)
        assert (c.incr("n"), c.incr("n", 5), c.decr("n")) == (2, 7, 6)
        with pytest.raises(ValueError):
            c.incr("missing")
        c.set("huge", 2**63 - 1)
        assert c.incr("huge") == 2**63  # past int64: django-redis's fallback
    assert not c.add("a", 2) and c.add("b", 2) and c.get_or_set("c", 3) == 3
    assert "c" in c
    c.set_many({"k1": 1, "k2": 2, "k3": 3})
    assert c.get_many(["k1", "k2", "k3", "zz"]) == {"k1": 1, "k2": 2, "k3": 3}
    c.delete_many(["k1", "k2"])
    assert c.get_many(["k1", "k2", "k3"]) == {"k3": 3}
    c.set("p", 1, timeout=None)
    assert c.ttl("p") is None and c.ttl("nokey") == 0
    assert c.expire("p", 100) and 99 <= c.ttl("p") <= 100
    assert 90000 < c.pttl("p") <= 100000
    assert c.persist("p") and c.ttl("p") is None
    assert c.touch("p", 50) and 49 <= c.ttl("p") <= 50 + herd
    c.set("gone", 1, timeout=0)
    assert c.get("gone") is None
    assert c.set("nx", 1, nx=True) and not c.set("nx", 2, nx=True) and c.get("nx") == 1
    assert c.set("v", 1, version=2) and c.get("v", version=2) == 1
    assert c.incr_version("v", version=2) == 3 and c.get("v", version=3) == 1
    assert c.get("v", version=2) is None
    assert c.delete("a") and not c.delete("a")
    if kind != "shard":  # the sharded client has no pattern operations
        for i in range(30):
            c.set(f"user:{i}", i)
        assert len(c.keys("user:*")) == 30 and len(list(c.iter_keys("user:*", itersize=7))) == 30
        assert c.delete_pattern("user:1*", itersize=5) == 11
        assert sorted(c.keys("user:*")) == sorted(f"user:{i}" for i in range(30)
                                                  if not str(i).startswith("1"))
    with c.lock("L", timeout=5, blocking_timeout=1) as lock:
        other = c.lock("L", timeout=5, blocking_timeout=0.1)
        assert not other.acquire()
        assert lock.extend(10) and 10 < c.ttl("L") <= 15
        assert lock.reacquire() and c.ttl("L") <= 5
    assert other.acquire() and other.locked()
    other.release()
    assert not other.locked()
    c.close()


def test_cachelib(server, r):
    need("cachelib")
    from cachelib import RedisCache

    c = RedisCache(host=server.host, port=server.port, db=2, key_prefix="app:", default_timeout=30)
    assert c.set("a", {"x": [1, 2]}) and c.get("a") == {"x": [1, 2]}
    assert not c.add("a", 1) and c.add("b", 1)
    assert c.set_many({"k1": 1, "k2": "two", "k3": 3.5}) == ["k1", "k2", "k3"]
    assert c.get_many("k1", "k2", "k3", "zz") == [1, "two", 3.5, None]
    assert (c.inc("n"), c.inc("n", 5), c.dec("n", 2)) == (1, 6, 4)
    assert c.has("n") and not c.has("nope")
    assert c.delete("a") and not c.delete("a")
    assert c.set("forever", 1, timeout=0)
    db2 = redis.Redis(host=server.host, port=server.port, db=2, decode_responses=True)
    assert db2.ttl("app:forever") == -1 and 0 < db2.ttl("app:b") <= 30
    assert c.clear() and db2.keys("app:*") == []
    db2.close()
