"""Expiry: lazy (a key past its time is gone the moment it is read) and
active (the server deletes keys nobody reads), and DEBUG SET-ACTIVE-EXPIRE
switching the latter off.

Waits are bounded: no test here takes more than a few seconds."""
import time

import pytest


def wait_for(predicate, timeout=5.0, interval=0.02):
    """Poll predicate until it is true or timeout seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture
def no_active_expire(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    yield
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_lazy_expiry_on_get(r):
    # One round trip: on a busy machine 50 ms can pass between two.
    p = r.pipeline(transaction=False)
    p.set("k", "v", px=50)
    p.get("k")
    assert p.execute() == [True, "v"]
    time.sleep(0.1)
    assert r.get("k") is None
    assert r.exists("k") == 0
    assert r.ttl("k") == -2


def test_lazy_expiry_with_active_expiry_off(r, no_active_expire):
    r.set("k", "v", px=50)
    time.sleep(0.1)
    # Still stored, since nothing has looked at it ...
    assert r.dbsize() == 1
    # ... until a read finds it expired and deletes it.
    assert r.get("k") is None
    assert r.dbsize() == 0


def test_active_expiry_deletes_untouched_keys(r):
    with r.pipeline(transaction=False) as p:
        for i in range(100):
            p.set(f"k{i}", "v", px=100)
        p.execute()
    assert r.dbsize() == 100
    # Only DBSIZE is used: it does not look at the keys themselves.
    assert wait_for(lambda: r.dbsize() == 0, timeout=5.0)


def test_active_expiry_leaves_other_keys(r):
    r.set("forever", "v")
    r.set("later", "v", ex=100)
    with r.pipeline(transaction=False) as p:
        for i in range(50):
            p.set(f"k{i}", "v", px=50)
        p.execute()
    assert wait_for(lambda: r.dbsize() == 2, timeout=5.0)
    assert r.get("forever") == "v"
    assert r.ttl("later") > 90


def test_set_active_expire_off_keeps_keys_until_accessed(r, no_active_expire):
    with r.pipeline(transaction=False) as p:
        for i in range(100):
            p.set(f"k{i}", "v", px=50)
        p.execute()
    time.sleep(0.5)
    assert r.dbsize() == 100
    # Reading half of them deletes exactly those.
    for i in range(50):
        assert r.get(f"k{i}") is None
    assert r.dbsize() == 50
    assert r.exists(*[f"k{i}" for i in range(50, 100)]) == 0
    assert r.dbsize() == 0


def test_set_active_expire_back_on(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        with r.pipeline(transaction=False) as p:
            for i in range(20):
                p.set(f"k{i}", "v", px=30)
            p.execute()
        time.sleep(0.2)
        assert r.dbsize() == 20
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    assert wait_for(lambda: r.dbsize() == 0, timeout=5.0)


def test_ttl_counts_down(r):
    r.set("k", "v")
    r.pexpire("k", 1000)
    first = r.pttl("k")
    time.sleep(0.2)
    second = r.pttl("k")
    assert 0 < second < first <= 1000
    assert first - second >= 150


def test_persist_cancels_expiry(r):
    p = r.pipeline(transaction=False)  # one round trip, as above
    p.set("k", "v", px=100)
    p.persist("k")
    assert p.execute() == [True, True]
    time.sleep(0.2)
    assert r.get("k") == "v"
    assert r.ttl("k") == -1


def test_overwrite_clears_ttl(r):
    p = r.pipeline(transaction=False)
    p.set("k", "v", px=100)
    p.set("k", "v2")
    p.execute()
    time.sleep(0.2)
    assert r.get("k") == "v2"
    assert r.ttl("k") == -1


def test_expire_extends_life(r):
    p = r.pipeline(transaction=False)
    p.set("k", "v", px=100)
    p.pexpire("k", 10000)
    p.execute()
    time.sleep(0.2)
    assert r.get("k") == "v"


def test_renamed_key_expires(r):
    r.set("a", "v", px=100)
    r.rename("a", "b")
    time.sleep(0.2)
    assert r.get("b") is None
    assert r.exists("a", "b") == 0


def test_copied_key_expires(r):
    r.set("a", "v", px=100)
    r.copy("a", "b")
    time.sleep(0.2)
    assert r.exists("a", "b") == 0


def test_expired_key_not_in_keys_or_scan(r, no_active_expire):
    r.set("live", "v")
    r.set("dead", "v", px=20)
    time.sleep(0.1)
    assert r.keys("*") == ["live"]
    assert r.scan(0, count=100) == (0, ["live"])


def test_expired_key_can_be_recreated(r, no_active_expire):
    r.set("k", "old", px=20)
    time.sleep(0.1)
    assert r.set("k", "new", nx=True) is True
    assert r.get("k") == "new"
    assert r.ttl("k") == -1


def test_expire_then_expiretime_is_absolute(r):
    r.set("k", "v")
    r.expire("k", 100)
    now = int(r.time()[0])
    assert now + 99 <= r.execute_command("EXPIRETIME", "k") <= now + 101
