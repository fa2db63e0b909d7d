"""The generic keyspace commands: DEL, UNLINK, EXISTS, TYPE, the EXPIRE
family, TTL/PTTL/EXPIRETIME/PEXPIRETIME, PERSIST, KEYS, SCAN, RANDOMKEY,
RENAME, RENAMENX, COPY, MOVE, TOUCH and OBJECT.

Every assertion here holds against Redis 7.0 too (run the suite with
CAIRN_TEST_SERVER=redis): replies and error strings are Redis's."""
import time

import pytest
import redis

NOT_INT = "value is not an integer or out of range"
SYNTAX = "syntax error"
INT_RANGE = "value is out of range, value must between -2147483648 and 2147483647"


def raw(r, *args):
    """Run a command and return the reply as sent, without redis-py's
    per-command parsing (SCAN's cursor is a bulk string, RENAME's OK is not
    True, OBJECT HELP is an array of status lines)."""
    conn = r.connection_pool.get_connection(args[0])
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        r.connection_pool.release(conn)


def err(r, *args):
    """The message of the error reply to a command (without the '-')."""
    with pytest.raises(redis.ResponseError) as e:
        raw(r, *args)
    return str(e.value)


@pytest.fixture
def no_active_expire(r):
    """Stop active expiry so expired keys stay until something touches them."""
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    yield
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def make_stale(r, *keys):
    """Create keys that have already expired but are still in the db
    (needs no_active_expire)."""
    for k in keys:
        r.set(k, "v", px=1)
    time.sleep(0.02)


# ---------------------------------------------------------------- DEL & co.


def test_del_counts_deleted_keys(r):
    r.mset({"a": 1, "b": 2, "c": 3})
    assert r.execute_command("DEL", "a", "b", "missing") == 2
    assert r.exists("a", "b") == 0
    assert r.get("c") == "3"


def test_del_repeated_key_counts_once(r):
    r.set("a", 1)
    assert r.execute_command("DEL", "a", "a", "a") == 1


def test_del_missing_and_arity(r):
    assert r.delete("nope") == 0
    assert err(r, "DEL") == "wrong number of arguments for 'del' command"


def test_unlink(r):
    r.mset({"a": 1, "b": 2})
    assert r.execute_command("UNLINK", "a", "b", "c") == 2
    assert r.dbsize() == 0
    assert err(r, "UNLINK") == "wrong number of arguments for 'unlink' command"


def test_exists_counts_repeats(r):
    r.set("a", 1)
    assert r.exists("a") == 1
    assert r.exists("missing") == 0
    assert r.exists("a", "a", "missing", "a") == 3
    assert err(r, "EXISTS") == "wrong number of arguments for 'exists' command"


def test_type(r):
    r.set("s", "x")
    assert r.type("s") == "string"
    assert r.type("missing") == "none"
    assert err(r, "TYPE") == "wrong number of arguments for 'type' command"
    assert err(r, "TYPE", "a", "b") == "wrong number of arguments for 'type' command"


def test_touch_counts_existing(r):
    r.mset({"a": 1, "b": 2})
    assert r.touch("a", "b", "c") == 2
    assert r.touch("a", "a") == 2
    assert r.touch("x") == 0
    assert err(r, "TOUCH") == "wrong number of arguments for 'touch' command"


# ------------------------------------------------------------------- EXPIRE


def test_expire_and_ttl(r):
    r.set("k", "v")
    assert r.execute_command("EXPIRE", "k", 100) == 1
    assert r.ttl("k") == 100
    assert 99000 < r.pttl("k") <= 100000


def test_pexpire_and_pttl(r):
    r.set("k", "v")
    assert r.execute_command("PEXPIRE", "k", 100500) == 1
    assert 100000 < r.pttl("k") <= 100500
    # TTL rounds to the nearest second.
    assert r.ttl("k") in (100, 101)


def test_expire_missing_key(r):
    assert r.execute_command("EXPIRE", "missing", 100) == 0
    assert r.execute_command("PEXPIRE", "missing", 100) == 0
    assert r.execute_command("EXPIREAT", "missing", 2000000000) == 0
    assert r.execute_command("PEXPIREAT", "missing", 2000000000000) == 0
    assert r.exists("missing") == 0


def test_ttl_missing_and_no_ttl(r):
    assert r.ttl("missing") == -2
    assert r.pttl("missing") == -2
    assert r.execute_command("EXPIRETIME", "missing") == -2
    assert r.execute_command("PEXPIRETIME", "missing") == -2
    r.set("k", "v")
    assert r.ttl("k") == -1
    assert r.pttl("k") == -1
    assert r.execute_command("EXPIRETIME", "k") == -1
    assert r.execute_command("PEXPIRETIME", "k") == -1


def test_expireat_and_expiretime(r):
    r.set("k", "v")
    assert r.execute_command("PEXPIREAT", "k", 33177117420499) == 1
    assert r.execute_command("PEXPIRETIME", "k") == 33177117420499
    assert r.execute_command("EXPIRETIME", "k") == 33177117420
    r.execute_command("PEXPIREAT", "k", 33177117420500)
    # EXPIRETIME rounds to the nearest second.
    assert r.execute_command("EXPIRETIME", "k") == 33177117421
    assert r.execute_command("EXPIREAT", "k", 33177117400) == 1
    assert r.execute_command("PEXPIRETIME", "k") == 33177117400000
    assert r.execute_command("EXPIRETIME", "k") == 33177117400


def test_expireat_relative_to_now(r):
    r.set("k", "v")
    now = int(r.time()[0])
    assert r.execute_command("EXPIREAT", "k", now + 50) == 1
    assert 48 <= r.ttl("k") <= 51


def test_expire_in_the_past_deletes(r):
    r.mset({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert r.execute_command("EXPIRE", "a", -1) == 1
    assert r.execute_command("PEXPIRE", "b", 0) == 1
    assert r.execute_command("EXPIREAT", "c", 1000) == 1
    assert r.execute_command("PEXPIREAT", "d", -5) == 1
    assert r.exists("a", "b", "c", "d") == 0
    assert r.dbsize() == 1


def test_expire_replaces_ttl(r):
    r.set("k", "v")
    r.expire("k", 100)
    r.expire("k", 200)
    assert r.ttl("k") == 200


def test_expire_not_an_integer(r):
    r.set("k", "v")
    assert err(r, "EXPIRE", "k", "abc") == NOT_INT
    assert err(r, "PEXPIRE", "k", "1.5") == NOT_INT
    assert err(r, "EXPIREAT", "k", "") == NOT_INT
    assert err(r, "PEXPIREAT", "k", "99999999999999999999") == NOT_INT
    assert r.ttl("k") == -1


def test_expire_overflow(r):
    r.set("k", "v")
    big = "9223372036854775807"
    assert err(r, "EXPIRE", "k", big) == "invalid expire time in 'expire' command"
    assert err(r, "EXPIRE", "k", "-9223372036854775807") == (
        "invalid expire time in 'expire' command")
    assert err(r, "PEXPIRE", "k", big) == "invalid expire time in 'pexpire' command"
    assert err(r, "EXPIREAT", "k", big) == "invalid expire time in 'expireat' command"
    # The overflow check comes before the key lookup.
    assert err(r, "EXPIRE", "missing", big) == "invalid expire time in 'expire' command"
    assert r.ttl("k") == -1
    # The largest absolute time in ms is fine.
    assert r.execute_command("PEXPIREAT", "k", big) == 1
    assert r.execute_command("PEXPIRETIME", "k") == 9223372036854775807


def test_expire_arity(r):
    assert err(r, "EXPIRE", "k") == "wrong number of arguments for 'expire' command"
    assert err(r, "PEXPIRE") == "wrong number of arguments for 'pexpire' command"
    assert err(r, "EXPIREAT", "k") == "wrong number of arguments for 'expireat' command"
    assert err(r, "PEXPIREAT", "k") == "wrong number of arguments for 'pexpireat' command"
    assert err(r, "TTL") == "wrong number of arguments for 'ttl' command"
    assert err(r, "PTTL", "a", "b") == "wrong number of arguments for 'pttl' command"
    assert err(r, "EXPIRETIME") == "wrong number of arguments for 'expiretime' command"
    assert err(r, "PEXPIRETIME") == "wrong number of arguments for 'pexpiretime' command"
    assert err(r, "PERSIST") == "wrong number of arguments for 'persist' command"


def test_expire_nx(r):
    r.set("k", "v")
    assert r.execute_command("EXPIRE", "k", 100, "NX") == 1
    assert r.execute_command("EXPIRE", "k", 200, "nx") == 0
    assert r.ttl("k") == 100
    assert r.execute_command("EXPIRE", "missing", 100, "NX") == 0


def test_expire_xx(r):
    r.set("k", "v")
    assert r.execute_command("EXPIRE", "k", 100, "XX") == 0
    assert r.ttl("k") == -1
    r.expire("k", 100)
    assert r.execute_command("EXPIRE", "k", 200, "xx") == 1
    assert r.ttl("k") == 200


T = 33177117420000  # an absolute time in ms, far in the future


def test_expire_gt(r):
    r.set("k", "v")
    # No TTL counts as infinite: nothing is greater.
    assert r.execute_command("PEXPIREAT", "k", T, "GT") == 0
    assert r.ttl("k") == -1
    r.execute_command("PEXPIREAT", "k", T)
    assert r.execute_command("PEXPIREAT", "k", T - 1, "GT") == 0
    assert r.execute_command("PEXPIREAT", "k", T, "GT") == 0
    assert r.execute_command("PEXPIREAT", "k", T + 1, "GT") == 1
    assert r.execute_command("PEXPIRETIME", "k") == T + 1
    assert r.execute_command("EXPIRE", "k", 100, "gt") == 0
    assert r.execute_command("PEXPIRETIME", "k") == T + 1


def test_expire_lt(r):
    r.set("k", "v")
    # No TTL counts as infinite: anything is less.
    assert r.execute_command("PEXPIREAT", "k", T, "LT") == 1
    assert r.execute_command("PEXPIRETIME", "k") == T
    assert r.execute_command("PEXPIREAT", "k", T + 1, "LT") == 0
    assert r.execute_command("PEXPIREAT", "k", T, "LT") == 0
    assert r.execute_command("PEXPIREAT", "k", T - 1, "lt") == 1
    assert r.execute_command("PEXPIRETIME", "k") == T - 1
    assert r.execute_command("EXPIRE", "k", 50, "LT") == 1
    assert r.ttl("k") == 50


def test_expire_xx_gt_combined(r):
    r.set("k", "v")
    assert r.execute_command("PEXPIREAT", "k", T, "XX", "GT") == 0
    assert r.ttl("k") == -1
    r.execute_command("PEXPIREAT", "k", T)
    assert r.execute_command("PEXPIREAT", "k", T + 2, "XX", "GT") == 1
    assert r.execute_command("PEXPIREAT", "k", T + 1, "XX", "LT") == 1
    assert r.execute_command("PEXPIRETIME", "k") == T + 1


def test_expire_lt_in_the_past_deletes(r):
    r.set("k", "v")
    r.expire("k", 100)
    assert r.execute_command("EXPIRE", "k", -10, "LT") == 1
    assert r.exists("k") == 0


def test_expire_gt_past_does_not_delete(r):
    r.set("k", "v")
    r.expire("k", 100)
    assert r.execute_command("EXPIRE", "k", -10, "GT") == 0
    assert r.ttl("k") == 100


def test_expire_option_errors(r):
    r.set("k", "v")
    nx = "NX and XX, GT or LT options at the same time are not compatible"
    assert err(r, "EXPIRE", "k", 100, "NX", "XX") == nx
    assert err(r, "EXPIRE", "k", 100, "GT", "NX") == nx
    assert err(r, "PEXPIRE", "k", 100, "NX", "LT") == nx
    assert err(r, "EXPIRE", "k", 100, "GT", "LT") == (
        "GT and LT options at the same time are not compatible")
    assert err(r, "EXPIREAT", "k", 100, "XX", "LT", "GT") == (
        "GT and LT options at the same time are not compatible")
    assert err(r, "EXPIRE", "k", 100, "FOO") == "Unsupported option FOO"
    assert err(r, "EXPIRE", "k", 100, "NX", "bar") == "Unsupported option bar"
    # Options are parsed before the time.
    assert err(r, "EXPIRE", "k", "abc", "FOO") == "Unsupported option FOO"
    assert err(r, "EXPIRE", "k", "abc", "NX") == NOT_INT
    assert r.ttl("k") == -1


def test_persist(r):
    r.set("k", "v")
    assert r.persist("k") is False
    r.expire("k", 100)
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    assert r.persist("k") is False
    assert r.persist("missing") is False


# --------------------------------------------------------------------- KEYS


def test_keys_patterns(r):
    r.mset({k: 1 for k in ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "other"]})
    assert sorted(r.keys("*")) == sorted(
        ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "other"])
    assert sorted(r.keys("h?llo")) == ["h*llo", "hallo", "hello", "hxllo"]
    assert sorted(r.keys("h*llo")) == ["h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo"]
    assert sorted(r.keys("h[ae]llo")) == ["hallo", "hello"]
    assert sorted(r.keys("h[^e]llo")) == ["h*llo", "hallo", "hxllo"]
    assert sorted(r.keys("h[a-b]llo")) == ["hallo"]
    assert r.keys("h\\*llo") == ["h*llo"]
    assert r.keys("nomatch*") == []
    assert r.keys("other") == ["other"]
    assert err(r, "KEYS") == "wrong number of arguments for 'keys' command"


def test_keys_empty_db(r):
    assert r.keys("*") == []


def test_keys_is_case_sensitive(r):
    r.set("Key", 1)
    assert r.keys("key") == []
    assert r.keys("K*") == ["Key"]


def test_keys_skips_expired(r, no_active_expire):
    r.set("live", 1)
    make_stale(r, "dead1", "dead2")
    assert r.keys("*") == ["live"]
    # KEYS only reads: the stale keys are still counted.
    assert r.dbsize() == 3


# --------------------------------------------------------------------- SCAN


def full_scan(r, **kw):
    seen = []
    cursor = 0
    for _ in range(10000):
        cursor, keys = r.scan(cursor, **kw)
        seen.extend(keys)
        if cursor == 0:
            return seen
    raise AssertionError("SCAN did not terminate")


def test_scan_returns_every_key(r):
    keys = {f"key:{i}" for i in range(1000)}
    with r.pipeline(transaction=False) as p:
        for k in keys:
            p.set(k, 1)
        p.execute()
    assert set(full_scan(r)) == keys
    assert set(full_scan(r, count=1)) == keys
    assert set(full_scan(r, count=1000)) == keys


def set_keys(r, keys):
    with r.pipeline(transaction=False) as p:
        for k in keys:
            p.set(k, 1)
        p.execute()


def test_scan_guarantee_while_growing(r):
    """Keys present for the whole scan are returned even though the table
    grows (and rehashes) between calls."""
    original = {f"orig:{i}" for i in range(200)}
    set_keys(r, original)
    seen = set()
    cursor, added = 0, 0
    for _ in range(10000):
        cursor, keys = r.scan(cursor, count=10)
        seen.update(keys)
        if cursor == 0:
            break
        # Grow from 200 to 2200 keys over the first calls: several resizes.
        if added < 2000:
            set_keys(r, [f"new:{added + i}" for i in range(200)])
            added += 200
    assert cursor == 0
    assert original <= seen
    assert r.dbsize() == 200 + added


def test_scan_guarantee_while_shrinking(r):
    """Keys present for the whole scan are returned even though the table
    shrinks between calls."""
    keep = {f"keep:{i}" for i in range(50)}
    doomed = [f"doomed:{i}" for i in range(2000)]
    set_keys(r, keep)
    set_keys(r, doomed)
    seen = set()
    cursor = 0
    for _ in range(10000):
        cursor, keys = r.scan(cursor, count=20)
        seen.update(keys)
        if cursor == 0:
            break
        if doomed:
            with r.pipeline(transaction=False) as p:
                for k in doomed[:400]:
                    p.delete(k)
                p.execute()
            del doomed[:400]
    assert cursor == 0
    assert keep <= seen


def test_scan_empty_db(r):
    assert r.execute_command("SCAN", "0") == (0, [])


def test_scan_reply_shape(r):
    r.mset({"a": 1, "b": 2})
    reply = raw(r, "SCAN", "0", "COUNT", "100")
    assert reply[0] == "0"
    assert sorted(reply[1]) == ["a", "b"]


def test_scan_match(r):
    r.mset({f"user:{i}": 1 for i in range(50)})
    r.mset({f"item:{i}": 1 for i in range(50)})
    found = full_scan(r, match="user:*")
    assert set(found) == {f"user:{i}" for i in range(50)}
    assert set(full_scan(r, match="user:1?")) == {f"user:{i}" for i in range(10, 20)}
    assert full_scan(r, match="none*") == []
    assert len(set(full_scan(r, match="*"))) == 100


def test_scan_type(r):
    r.mset({f"s{i}": 1 for i in range(20)})
    assert set(full_scan(r, _type="string")) == {f"s{i}" for i in range(20)}
    assert set(full_scan(r, _type="STRING")) == {f"s{i}" for i in range(20)}
    assert full_scan(r, _type="list") == []
    assert full_scan(r, _type="nosuchtype") == []


def test_scan_match_and_type_and_count(r):
    r.mset({f"a{i}": 1 for i in range(30)})
    found = full_scan(r, match="a1*", count=5, _type="string")
    assert set(found) == {"a1"} | {f"a1{i}" for i in range(10)}


def test_scan_errors(r):
    assert err(r, "SCAN", "abc") == "invalid cursor"
    assert err(r, "SCAN", " 1") == "invalid cursor"
    assert err(r, "SCAN", "1x") == "invalid cursor"
    assert err(r, "SCAN", "99999999999999999999999") == "invalid cursor"
    assert err(r, "SCAN", "0", "COUNT", "0") == SYNTAX
    assert err(r, "SCAN", "0", "COUNT", "-1") == SYNTAX
    assert err(r, "SCAN", "0", "COUNT", "x") == NOT_INT
    assert err(r, "SCAN", "0", "COUNT") == SYNTAX
    assert err(r, "SCAN", "0", "MATCH") == SYNTAX
    assert err(r, "SCAN", "0", "TYPE") == SYNTAX
    assert err(r, "SCAN", "0", "FOO", "bar") == SYNTAX
    # The cursor is checked before the options.
    assert err(r, "SCAN", "x", "FOO") == "invalid cursor"
    assert err(r, "SCAN") == "wrong number of arguments for 'scan' command"


def test_scan_skips_and_deletes_expired(r, no_active_expire):
    r.mset({f"live{i}": 1 for i in range(10)})
    make_stale(r, *[f"dead{i}" for i in range(10)])
    assert r.dbsize() == 20
    assert set(full_scan(r)) == {f"live{i}" for i in range(10)}
    # Unlike KEYS, SCAN deletes the expired keys it meets.
    assert r.dbsize() == 10


# ---------------------------------------------------------------- RANDOMKEY


def test_randomkey(r):
    assert r.randomkey() is None
    r.set("only", 1)
    assert r.randomkey() == "only"
    keys = {f"k{i}" for i in range(20)}
    r.mset({k: 1 for k in keys})
    seen = {r.randomkey() for _ in range(200)}
    assert seen <= keys | {"only"}
    assert len(seen) > 5
    assert err(r, "RANDOMKEY", "x") == "wrong number of arguments for 'randomkey' command"


def test_randomkey_uniform(r):
    # Every key equally likely however the keyspace's buckets are filled
    # (chi-square, 9 degrees of freedom: 40 is a 1 in 100000 chance).
    keys = [f"k{i}" for i in range(10)]
    r.mset({k: 1 for k in keys})
    p = r.pipeline(transaction=False)
    for _ in range(3000):
        p.randomkey()
    picks = p.execute()
    expected = len(picks) / len(keys)
    assert sum((picks.count(k) - expected) ** 2 / expected for k in keys) < 40


def test_randomkey_skips_expired(r, no_active_expire):
    make_stale(r, "d1", "d2", "d3")
    r.set("live", 1)
    for _ in range(10):
        assert r.randomkey() == "live"


def test_randomkey_only_expired(r, no_active_expire):
    make_stale(r, "d1", "d2", "d3")
    assert r.dbsize() == 3
    assert r.randomkey() is None
    assert r.dbsize() == 0


# ------------------------------------------------------------------- RENAME


def test_rename(r):
    r.set("a", "va")
    assert r.rename("a", "b") is True
    assert r.get("b") == "va"
    assert r.exists("a") == 0


def test_rename_missing(r):
    assert err(r, "RENAME", "nope", "b") == "no such key"
    assert err(r, "RENAME", "nope", "nope") == "no such key"
    assert err(r, "RENAMENX", "nope", "b") == "no such key"


def test_rename_overwrites(r):
    r.set("a", "va")
    r.set("b", "vb", ex=100)
    r.rename("a", "b")
    assert r.get("b") == "va"
    # The destination's TTL goes with its old value.
    assert r.ttl("b") == -1
    assert r.dbsize() == 1


def test_rename_keeps_ttl(r):
    r.set("a", "va")
    r.pexpire("a", 100000)
    r.rename("a", "b")
    assert 99000 < r.pttl("b") <= 100000
    assert r.pttl("a") == -2


def test_rename_same_key(r):
    r.set("a", "va", ex=100)
    assert raw(r, "RENAME", "a", "a") == "OK"
    assert r.get("a") == "va"
    assert r.ttl("a") == 100
    assert r.execute_command("RENAMENX", "a", "a") == 0


def test_renamenx(r):
    r.set("a", "va")
    r.set("b", "vb")
    assert r.renamenx("a", "b") is False
    assert r.get("a") == "va"
    assert r.get("b") == "vb"
    assert r.renamenx("a", "c") is True
    assert r.get("c") == "va"
    assert r.exists("a") == 0


def test_rename_arity(r):
    assert err(r, "RENAME", "a") == "wrong number of arguments for 'rename' command"
    assert err(r, "RENAMENX", "a", "b", "c") == (
        "wrong number of arguments for 'renamenx' command")


def test_rename_keeps_value_encoding(r):
    r.set("a", "12345")
    r.set("b", "x" * 100)
    r.rename("a", "a2")
    r.rename("b", "b2")
    assert r.object("encoding", "a2") == "int"
    assert r.object("encoding", "b2") == "raw"
    assert r.get("b2") == "x" * 100


# --------------------------------------------------------------------- COPY


def test_copy(r):
    r.set("a", "va")
    assert r.copy("a", "b") is True
    assert r.get("a") == "va"
    assert r.get("b") == "va"
    # The copy is independent of the original.
    r.set("b", "changed")
    assert r.get("a") == "va"


def test_copy_missing(r):
    assert r.copy("nope", "b") is False
    assert r.exists("b") == 0


def test_copy_existing_destination(r):
    r.set("a", "va")
    r.set("b", "vb")
    assert r.copy("a", "b") is False
    assert r.get("b") == "vb"
    assert r.execute_command("COPY", "a", "b", "REPLACE") == 1
    assert r.get("b") == "va"


def test_copy_copies_ttl(r):
    r.set("a", "va", px=100000)
    r.set("b", "vb", ex=500)
    r.copy("a", "c")
    assert 99000 < r.pttl("c") <= 100000
    r.execute_command("COPY", "a", "b", "REPLACE")
    assert 99000 < r.pttl("b") <= 100000
    r.set("p", "x")
    r.execute_command("COPY", "p", "b", "replace")
    assert r.ttl("b") == -1


def test_copy_encodings(r):
    r.set("i", "123")
    r.set("e", "short")
    r.set("w", "y" * 100)
    for k in ("i", "e", "w"):
        r.copy(k, k + "2")
        assert r.get(k + "2") == r.get(k)
        assert r.object("encoding", k + "2") == r.object("encoding", k)


def test_copy_to_db(r):
    r.set("a", "va", ex=100)
    try:
        assert r.execute_command("COPY", "a", "a", "DB", "1") == 1
        assert r.get("a") == "va"
        r.execute_command("SELECT", "1")
        assert r.get("a") == "va"
        assert r.ttl("a") == 100
        r.execute_command("SELECT", "0")
        assert r.execute_command("COPY", "a", "a", "DB", "1") == 0
        assert r.execute_command("COPY", "a", "a", "DB", "1", "REPLACE") == 1
    finally:
        r.execute_command("SELECT", "1")
        r.flushdb()
        r.execute_command("SELECT", "0")


def test_copy_errors(r):
    r.set("a", "va")
    assert err(r, "COPY", "a", "a") == "source and destination objects are the same"
    assert err(r, "COPY", "a", "a", "DB", "0") == "source and destination objects are the same"
    assert err(r, "COPY", "a", "b", "DB", "100000") == "DB index is out of range"
    assert err(r, "COPY", "a", "b", "DB", "-1") == "DB index is out of range"
    assert err(r, "COPY", "a", "b", "DB", "x") == NOT_INT
    assert err(r, "COPY", "a", "b", "DB", "99999999999") == INT_RANGE
    assert err(r, "COPY", "a", "b", "DB") == SYNTAX
    assert err(r, "COPY", "a", "b", "FOO") == SYNTAX
    assert err(r, "COPY", "a") == "wrong number of arguments for 'copy' command"
    # Options are checked before the key exists.
    assert err(r, "COPY", "nope", "b", "FOO") == SYNTAX
    assert r.exists("b") == 0


# --------------------------------------------------------------------- MOVE


def test_move(r):
    r.set("a", "va", px=100000)
    try:
        assert r.move("a", 1) is True
        assert r.exists("a") == 0
        r.execute_command("SELECT", "1")
        assert r.get("a") == "va"
        assert 99000 < r.pttl("a") <= 100000
        # Moving back onto an existing key does nothing.
        r.execute_command("SELECT", "0")
        r.set("a", "other")
        r.execute_command("SELECT", "1")
        assert r.move("a", 0) is False
        assert r.get("a") == "va"
        assert r.move("missing", 0) is False
    finally:
        r.execute_command("SELECT", "1")
        r.flushdb()
        r.execute_command("SELECT", "0")
    assert r.get("a") == "other"


def test_move_errors(r):
    r.set("a", "va")
    assert err(r, "MOVE", "a", "0") == "source and destination objects are the same"
    assert err(r, "MOVE", "a", "100000") == "DB index is out of range"
    assert err(r, "MOVE", "a", "-1") == "DB index is out of range"
    assert err(r, "MOVE", "a", "x") == NOT_INT
    assert err(r, "MOVE", "a", "-2147483649") == INT_RANGE
    assert err(r, "MOVE", "missing", "0") == "source and destination objects are the same"
    assert err(r, "MOVE", "a") == "wrong number of arguments for 'move' command"
    assert r.get("a") == "va"


# ------------------------------------------------------------------- OBJECT


def test_object_encoding(r):
    r.set("int", "12345")
    r.set("emb", "hello")
    r.set("raw", "z" * 45)
    r.set("emb44", "z" * 44)
    assert r.object("encoding", "int") == "int"
    assert r.object("encoding", "emb") == "embstr"
    assert r.object("encoding", "emb44") == "embstr"
    assert r.object("encoding", "raw") == "raw"
    assert r.object("encoding", "missing") is None


def test_object_refcount(r):
    r.set("k", "hello world")
    assert r.object("refcount", "k") == 1
    assert r.object("refcount", "missing") is None


def test_object_idletime(r):
    r.set("k", "v")
    assert r.object("idletime", "k") == 0
    assert r.object("idletime", "missing") is None


def test_object_freq(r):
    r.set("k", "v")
    assert err(r, "OBJECT", "FREQ", "k") == (
        "An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
        "that when switching between policies at runtime LRU and LFU data will take some "
        "time to adjust.")
    assert raw(r, "OBJECT", "FREQ", "missing") is None


def test_object_help(r):
    lines = raw(r, "OBJECT", "HELP")
    assert lines[0] == "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "ENCODING <key>" in lines
    assert "FREQ <key>" in lines
    assert "IDLETIME <key>" in lines
    assert "REFCOUNT <key>" in lines
    assert lines[-2:] == ["HELP", "    Prints this help."]
    assert len(lines) == 15


def test_object_errors(r):
    assert err(r, "OBJECT", "foo", "k") == "unknown subcommand 'foo'. Try OBJECT HELP."
    assert err(r, "OBJECT", "ENCODING") == (
        "wrong number of arguments for 'object|encoding' command")
    assert err(r, "OBJECT", "encoding", "a", "b") == (
        "wrong number of arguments for 'object|encoding' command")
    assert err(r, "OBJECT", "HELP", "x") == "wrong number of arguments for 'object|help' command"
    assert err(r, "OBJECT") == "wrong number of arguments for 'object' command"


# ------------------------------------------------------- lazy expiry on read


def test_commands_ignore_stale_keys(r, no_active_expire):
    make_stale(r, "a", "b", "c", "d", "e", "f", "g", "h")
    assert r.exists("a") == 0
    assert r.type("b") == "none"
    assert r.ttl("c") == -2
    assert r.delete("d") == 0
    assert r.execute_command("EXPIRE", "e", 100) == 0
    assert err(r, "RENAME", "f", "x") == "no such key"
    assert r.copy("g", "y") is False
    assert r.touch("h") == 0
    assert r.exists("x", "y") == 0


def test_rename_onto_stale_key(r, no_active_expire):
    make_stale(r, "dst")
    r.set("src", "v")
    assert r.renamenx("src", "dst") is True
    assert r.get("dst") == "v"
    assert r.ttl("dst") == -1
