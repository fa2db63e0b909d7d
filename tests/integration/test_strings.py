"""The string command family: GET/SET and options, SETNX/SETEX/PSETEX,
GETSET/GETDEL/GETEX, MGET/MSET/MSETNX, APPEND/STRLEN, GETRANGE/SUBSTR/
SETRANGE, INCR/DECR/INCRBY/DECRBY/INCRBYFLOAT and LCS.

Every assertion here holds against Redis 7.0 too (CAIRN_TEST_SERVER=redis).
Error replies are checked byte for byte through a resp RESP connection,
since redis-py strips the "ERR " prefix.
"""
import socket
import time

import pytest

LLONG_MAX = 9223372036854775807
LLONG_MIN = -9223372036854775808

WRONGTYPE = "-WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "-ERR syntax error"
NOT_INT = "-ERR value is not an integer or out of range"
NOT_FLOAT = "-ERR value is not a valid float"
OVERFLOW = "-ERR increment or decrement would overflow"
TOO_BIG = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)"


def bad_expire(cmd):
    return f"-ERR invalid expire time in '{cmd}' command"


# --------------------------------------------------------------------------
# A minimal RESP2/RESP3 client, to see replies exactly as sent.
# --------------------------------------------------------------------------


class Err(str):
    """An error reply, kept whole with its leading '-'."""


class Map(list):
    """A RESP3 map, as a list of (key, value) pairs."""


class Raw:
    def __init__(self, server, resp=2):
        self.sock = socket.create_connection((server.host, server.port), timeout=5)
        self.buf = b""
        if resp == 3:
            reply = self.call("HELLO", "3")
            assert not isinstance(reply, Err), reply

    def close(self):
        self.sock.close()

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return Err(line.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"_":
            return None
        if kind in (b"*", b"~", b">"):
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        if kind == b"%":
            return Map((self._read(), self._read()) for _ in range(int(rest)))
        if kind == b",":
            return float(rest)
        raise AssertionError(f"unexpected reply {line!r}")


# Named apart from conftest's `raw` factory, whose replies are type-tagged.
@pytest.fixture
def resp(server, r):
    conn = Raw(server)
    yield conn
    conn.close()


@pytest.fixture
def resp3(server, r):
    conn = Raw(server, resp=3)
    yield conn
    conn.close()


def encoding(r, key):
    return r.object("encoding", key)


# --------------------------------------------------------------------------
# GET / SET
# --------------------------------------------------------------------------


def test_get_missing_key_is_null(r):
    assert r.get("nokey") is None


def test_set_and_get(r):
    assert r.set("k", "hello") is True
    assert r.get("k") == "hello"
    assert r.set("k", "world") is True
    assert r.get("k") == "world"


def test_set_get_binary_safe(rb):
    value = b"a\x00b\r\n\xff\x80"
    assert rb.set(b"bin\x00key", value) is True
    assert rb.get(b"bin\x00key") == value
    assert rb.strlen(b"bin\x00key") == len(value)


def test_set_get_large_value(rb):
    # Large enough to arrive over several reads and to be stored RAW.
    value = bytes(range(256)) * 4096 + b"end"
    assert rb.set(b"big", value) is True
    assert rb.get(b"big") == value
    assert rb.strlen(b"big") == len(value)
    assert rb.append(b"big", b"!") == len(value) + 1
    assert rb.getrange(b"big", -4, -1) == b"end!"


def test_set_empty_string(r):
    assert r.set("k", "") is True
    assert r.get("k") == ""
    assert r.exists("k") == 1


def test_get_set_arity(resp):
    assert resp.call("GET") == "-ERR wrong number of arguments for 'get' command"
    assert resp.call("GET", "a", "b") == "-ERR wrong number of arguments for 'get' command"
    assert resp.call("SET", "a") == "-ERR wrong number of arguments for 'set' command"


def test_set_nx(r, resp):
    assert resp.call("SET", "k", "v1", "NX") == "OK"
    assert resp.call("SET", "k", "v2", "NX") is None
    assert r.get("k") == "v1"


def test_set_xx(r, resp):
    assert resp.call("SET", "k", "v1", "XX") is None
    assert r.exists("k") == 0
    r.set("k", "v1")
    assert resp.call("SET", "k", "v2", "XX") == "OK"
    assert r.get("k") == "v2"


def test_set_nx_xx_together_is_syntax_error(r, resp):
    assert resp.call("SET", "k", "v", "NX", "XX") == SYNTAX
    assert resp.call("SET", "k", "v", "XX", "NX") == SYNTAX
    assert r.exists("k") == 0


def test_set_options_are_case_insensitive(r, resp):
    assert resp.call("SET", "k", "v", "nX", "Ex", "100") == "OK"
    assert 0 < r.ttl("k") <= 100


def test_set_repeated_options_last_wins(r, resp):
    assert resp.call("SET", "k", "v", "EX", "10", "EX", "200") == "OK"
    assert 190 < r.ttl("k") <= 200
    assert resp.call("SET", "k", "v", "XX", "XX", "KEEPTTL", "KEEPTTL") == "OK"
    assert 190 < r.ttl("k") <= 200


def test_set_option_conflicts(r, resp):
    for opts in (
        ("EX", "10", "PX", "100"),
        ("PX", "100", "EX", "10"),
        ("EX", "10", "EXAT", "99999999999"),
        ("PXAT", "99999999999999", "PX", "10"),
        ("KEEPTTL", "EX", "10"),
        ("EX", "10", "KEEPTTL"),
        ("PERSIST",),
        ("EX",),
        ("PX",),
        ("BOGUS",),
        ("NX", "NX", "XX"),
    ):
        assert resp.call("SET", "k", "v", *opts) == SYNTAX, opts
    assert r.exists("k") == 0


def test_set_ex_and_px(r):
    r.set("k", "v", ex=100)
    assert 95 <= r.ttl("k") <= 100
    r.set("k", "v", px=100000)
    assert 95000 <= r.pttl("k") <= 100000


def test_set_exat_and_pxat(r, resp):
    now = int(time.time())
    assert resp.call("SET", "k", "v", "EXAT", now + 100) == "OK"
    assert 95 <= r.ttl("k") <= 100
    now_ms = int(time.time() * 1000)
    assert resp.call("SET", "k", "v", "PXAT", now_ms + 100000) == "OK"
    assert 95000 <= r.pttl("k") <= 100000


def test_set_expire_at_far_future_limits(r, resp):
    assert resp.call("SET", "k", "v", "PXAT", LLONG_MAX) == "OK"
    assert r.pttl("k") > 9 * 10**18
    # The largest EXAT whose milliseconds fit in 64 bits, and one past it.
    assert resp.call("SET", "k", "v", "EXAT", LLONG_MAX // 1000) == "OK"
    assert resp.call("SET", "k", "v", "EXAT", LLONG_MAX // 1000 + 1) == bad_expire("set")


def test_set_invalid_expire_times(r, resp):
    for opts in (
        ("EX", "0"),
        ("EX", "-1"),
        ("PX", "0"),
        ("PX", "-100"),
        ("EXAT", "0"),
        ("PXAT", "-5"),
        ("EX", str(LLONG_MAX // 1000 + 1)),  # seconds -> ms overflows
        ("PX", str(LLONG_MAX)),  # now + ms overflows
        ("EX", str(LLONG_MAX)),
    ):
        assert resp.call("SET", "k", "v", *opts) == bad_expire("set"), opts
    assert r.exists("k") == 0


def test_set_expire_not_an_integer(r, resp):
    assert resp.call("SET", "k", "v", "EX", "ten") == NOT_INT
    assert resp.call("SET", "k", "v", "PX", "1.5") == NOT_INT
    assert resp.call("SET", "k", "v", "EX", "") == NOT_INT
    assert r.exists("k") == 0


def test_set_key_expires(r):
    r.set("k", "v", px=50)
    assert r.get("k") == "v"
    time.sleep(0.2)
    assert r.get("k") is None
    assert r.exists("k") == 0


def test_set_without_keepttl_drops_ttl(r):
    r.set("k", "v", ex=100)
    r.set("k", "w")
    assert r.ttl("k") == -1


def test_set_keepttl_keeps_ttl(r, resp):
    r.set("k", "v", ex=100)
    assert resp.call("SET", "k", "w", "KEEPTTL") == "OK"
    assert r.get("k") == "w"
    assert 95 <= r.ttl("k") <= 100
    # KEEPTTL on a key without TTL leaves it without one.
    r.set("p", "v")
    assert resp.call("SET", "p", "w", "KEEPTTL") == "OK"
    assert r.ttl("p") == -1


def test_set_get_returns_old_value(r, resp):
    assert resp.call("SET", "k", "v1", "GET") is None
    assert r.get("k") == "v1"
    assert resp.call("SET", "k", "v2", "GET") == b"v1"
    assert r.get("k") == "v2"
    r.set("n", 42)
    assert resp.call("SET", "n", "x", "GET") == b"42"


def test_set_get_with_nx_and_xx(r, resp):
    # Redis 7.0 allows GET together with NX.
    assert resp.call("SET", "k", "v1", "NX", "GET") is None
    assert r.get("k") == "v1"
    assert resp.call("SET", "k", "v2", "NX", "GET") == b"v1"
    assert r.get("k") == "v1"
    assert resp.call("SET", "x", "v", "XX", "GET") is None
    assert r.exists("x") == 0
    assert resp.call("SET", "k", "v3", "XX", "GET") == b"v1"
    assert r.get("k") == "v3"


def test_set_get_with_expire(r, resp):
    r.set("k", "old")
    assert resp.call("SET", "k", "new", "GET", "EX", "100") == b"old"
    assert r.get("k") == "new"
    assert 95 <= r.ttl("k") <= 100


def test_set_encodings(r):
    cases = {
        "12345": "int",
        "-1": "int",
        "0": "int",
        str(LLONG_MAX): "int",
        str(LLONG_MIN): "int",
        str(LLONG_MAX + 1): "embstr",
        "0123": "embstr",
        "+1": "embstr",
        " 1": "embstr",
        "1.5": "embstr",
        "abc": "embstr",
        "x" * 44: "embstr",
        "x" * 45: "raw",
    }
    for i, (value, enc) in enumerate(cases.items()):
        r.set(f"k{i}", value)
        assert r.get(f"k{i}") == value
        assert encoding(r, f"k{i}") == enc, value


def test_set_overwrite_sequences(r):
    # SET over an existing string may reuse its object (same shape): every
    # sequence must read back, encode and expire as a fresh SET would.
    values = ["abc", "xyz", "ab", "", "x" * 44, "y" * 44, "7", "12345", "-3", "z",
              "x" * 45, "q", str(LLONG_MAX), "0123", "1.5", "abcd"]
    for i, first in enumerate(values):
        for second in values:
            key = f"o{i}"
            r.set(key, first, ex=100)
            r.set(key, second)
            assert r.get(key) == second
            assert r.ttl(key) == -1
            fresh = f"f{i}"
            r.set(fresh, second)
            assert encoding(r, key) == encoding(r, fresh), (first, second)
    r.set("kt", "abc", ex=100)
    r.set("kt", "xyz", keepttl=True)
    assert r.get("kt") == "xyz" and 95 <= r.ttl("kt") <= 100
    r.set("kg", "abc")
    assert r.set("kg", "de", get=True) == "abc"
    assert r.get("kg") == "de"
    assert r.append("kg", "fgh") == 5
    assert r.get("kg") == "defgh"
    r.set("kg", "ab")
    assert r.get("kg") == "ab" and encoding(r, "kg") == "embstr"
    # A value shared by another key (COPY makes a copy, RENAME moves the
    # object) must not change under it.
    r.set("s1", "one")
    r.copy("s1", "s2")
    r.set("s1", "two")
    assert r.get("s2") == "one" and r.get("s1") == "two"


# --------------------------------------------------------------------------
# SETNX / SETEX / PSETEX
# --------------------------------------------------------------------------


def test_setnx(r, resp):
    assert resp.call("SETNX", "k", "v1") == 1
    assert resp.call("SETNX", "k", "v2") == 0
    assert r.get("k") == "v1"


def test_setnx_on_expired_key(r, resp):
    r.set("k", "v", px=30)
    time.sleep(0.1)
    assert resp.call("SETNX", "k", "w") == 1
    assert r.get("k") == "w"
    assert r.ttl("k") == -1


def test_setex(r, resp):
    assert resp.call("SETEX", "k", "100", "v") == "OK"
    assert r.get("k") == "v"
    assert 95 <= r.ttl("k") <= 100


def test_setex_errors(r, resp):
    assert resp.call("SETEX", "k", "0", "v") == bad_expire("setex")
    assert resp.call("SETEX", "k", "-10", "v") == bad_expire("setex")
    assert resp.call("SETEX", "k", str(LLONG_MAX), "v") == bad_expire("setex")
    assert resp.call("SETEX", "k", "ten", "v") == NOT_INT
    assert resp.call("SETEX", "k", "10") == "-ERR wrong number of arguments for 'setex' command"
    assert r.exists("k") == 0


def test_psetex(r, resp):
    assert resp.call("PSETEX", "k", "100000", "v") == "OK"
    assert r.get("k") == "v"
    assert 95000 <= r.pttl("k") <= 100000
    assert resp.call("PSETEX", "k", "0", "v") == bad_expire("psetex")
    assert resp.call("PSETEX", "k", "-1", "v") == bad_expire("psetex")
    assert resp.call("PSETEX", "k", "1x", "v") == NOT_INT


def test_psetex_expires(r):
    r.psetex("k", 50, "v")
    time.sleep(0.2)
    assert r.get("k") is None


# --------------------------------------------------------------------------
# GETSET / GETDEL / GETEX
# --------------------------------------------------------------------------


def test_getset(r, resp):
    assert resp.call("GETSET", "k", "v1") is None
    assert r.get("k") == "v1"
    assert resp.call("GETSET", "k", "v2") == b"v1"
    assert r.get("k") == "v2"


def test_getset_drops_ttl(r):
    r.set("k", "v", ex=100)
    assert r.getset("k", "w") == "v"
    assert r.ttl("k") == -1


def test_getdel(r, resp):
    r.set("k", "v")
    assert resp.call("GETDEL", "k") == b"v"
    assert r.exists("k") == 0
    assert resp.call("GETDEL", "k") is None
    r.set("n", 7)
    assert resp.call("GETDEL", "n") == b"7"


def test_getex_without_options(r, resp):
    r.set("k", "v", ex=100)
    assert resp.call("GETEX", "k") == b"v"
    assert 95 <= r.ttl("k") <= 100
    assert resp.call("GETEX", "nokey") is None


def test_getex_sets_expire(r, resp):
    r.set("k", "v")
    assert resp.call("GETEX", "k", "EX", "100") == b"v"
    assert 95 <= r.ttl("k") <= 100
    assert resp.call("GETEX", "k", "PX", "200000") == b"v"
    assert 195000 <= r.pttl("k") <= 200000
    assert resp.call("GETEX", "k", "EXAT", int(time.time()) + 300) == b"v"
    assert 295 <= r.ttl("k") <= 300
    assert resp.call("GETEX", "k", "PXAT", int(time.time() * 1000) + 400000) == b"v"
    assert 395 <= r.ttl("k") <= 400
    assert resp.call("GETEX", "k", "ex", "10", "ex", "500") == b"v"
    assert 495 <= r.ttl("k") <= 500


def test_getex_persist(r, resp):
    r.set("k", "v", ex=100)
    assert resp.call("GETEX", "k", "PERSIST") == b"v"
    assert r.ttl("k") == -1
    assert resp.call("GETEX", "k", "PERSIST") == b"v"
    assert r.ttl("k") == -1


def test_getex_absolute_time_in_past_deletes(r, resp):
    r.set("k", "v")
    assert resp.call("GETEX", "k", "PXAT", "1") == b"v"
    assert r.exists("k") == 0
    r.set("k", "v")
    assert resp.call("GETEX", "k", "EXAT", int(time.time()) - 10) == b"v"
    assert r.exists("k") == 0


def test_getex_errors(r, resp):
    r.set("k", "v")
    for opts in (
        ("NX",),
        ("XX",),
        ("GET",),
        ("KEEPTTL",),
        ("EX",),
        ("EX", "10", "PX", "100"),
        ("EX", "10", "PERSIST"),
        ("PERSIST", "EX", "10"),
        ("BOGUS",),
    ):
        assert resp.call("GETEX", "k", *opts) == SYNTAX, opts
    assert resp.call("GETEX", "k", "EX", "0") == bad_expire("getex")
    assert resp.call("GETEX", "k", "PX", "-1") == bad_expire("getex")
    assert resp.call("GETEX", "k", "EX", str(LLONG_MAX)) == bad_expire("getex")
    assert resp.call("GETEX", "k", "EX", "x") == NOT_INT
    assert r.ttl("k") == -1
    # The expire value is only examined once the key is found.
    assert resp.call("GETEX", "nokey", "EX", "0") is None
    assert resp.call("GETEX", "nokey", "BOGUS") == SYNTAX


# --------------------------------------------------------------------------
# MGET / MSET / MSETNX
# --------------------------------------------------------------------------


def test_mget(r, resp):
    r.set("a", "1")
    r.set("b", "bee")
    assert resp.call("MGET", "a", "nokey", "b", "a") == [b"1", None, b"bee", b"1"]
    assert resp.call("MGET") == "-ERR wrong number of arguments for 'mget' command"


def test_mset(r, resp):
    assert resp.call("MSET", "a", "1", "b", "2", "a", "3") == "OK"
    assert r.mget("a", "b") == ["3", "2"]
    assert encoding(r, "a") == "int"


def test_mset_odd_arguments(r, resp):
    assert resp.call("MSET", "a", "1", "b") == "-ERR wrong number of arguments for 'mset' command"
    assert resp.call("MSET", "a") == "-ERR wrong number of arguments for 'mset' command"
    assert r.exists("a") == 0


def test_mset_drops_ttl(r, resp):
    r.set("a", "v", ex=100)
    assert resp.call("MSET", "a", "1", "b", "2") == "OK"
    assert r.ttl("a") == -1


def test_msetnx(r, resp):
    assert resp.call("MSETNX", "a", "1", "b", "2") == 1
    assert resp.call("MSETNX", "c", "3", "a", "9") == 0
    assert r.mget("a", "b", "c") == ["1", "2", None]
    assert resp.call("MSETNX", "a", "1", "b") == (
        "-ERR wrong number of arguments for 'msetnx' command"
    )


# --------------------------------------------------------------------------
# APPEND / STRLEN
# --------------------------------------------------------------------------


def test_append(r, resp):
    assert resp.call("APPEND", "k", "hello") == 5
    assert resp.call("APPEND", "k", " world") == 11
    assert r.get("k") == "hello world"
    assert resp.call("APPEND", "k", "") == 11


def test_append_to_integer(r):
    r.set("k", 10)
    assert encoding(r, "k") == "int"
    assert r.append("k", "20") == 4
    assert r.get("k") == "1020"
    assert encoding(r, "k") == "raw"


def test_append_encodings(r):
    assert r.append("n", "123") == 3
    assert encoding(r, "n") == "int"
    assert r.append("s", "hello") == 5
    assert encoding(r, "s") == "embstr"
    r.append("s", "!")
    assert encoding(r, "s") == "raw"
    # Even an empty append makes the value editable in place.
    r.set("e", "abc")
    assert r.append("e", "") == 3
    assert encoding(r, "e") == "raw"


def test_append_keeps_ttl(r):
    r.set("k", "v", ex=100)
    r.append("k", "w")
    assert 95 <= r.ttl("k") <= 100


def test_append_binary_and_growth(rb):
    rb.set(b"k", b"\x00")
    total = 1
    for i in range(200):
        total = rb.append(b"k", bytes([i % 256]) * 37)
    assert total == 1 + 200 * 37
    value = rb.get(b"k")
    assert value[:1] == b"\x00" and value[1:38] == b"\x00" * 37
    assert value[-37:] == bytes([199]) * 37


def test_strlen(r, resp):
    assert resp.call("STRLEN", "nokey") == 0
    r.set("k", "hello")
    assert resp.call("STRLEN", "k") == 5
    r.set("n", -12345)
    assert resp.call("STRLEN", "n") == 6


# --------------------------------------------------------------------------
# GETRANGE / SUBSTR / SETRANGE
# --------------------------------------------------------------------------


@pytest.mark.parametrize("cmd", ["GETRANGE", "SUBSTR"])
def test_getrange(r, resp, cmd):
    r.set("k", "This is a string")
    cases = [
        ((0, 3), b"This"),
        ((-3, -1), b"ing"),
        ((0, -1), b"This is a string"),
        ((10, 100), b"string"),
        ((5, 3), b""),
        ((-1, -5), b""),
        ((-100, -1), b"This is a string"),
        ((16, 20), b""),
        ((15, 15), b"g"),
        # Redis 7.0 clamps a negative end past the start to 0.
        ((0, -100), b"T"),
        ((-100, -99), b"T"),
    ]
    for (start, end), want in cases:
        assert resp.call(cmd, "k", start, end) == want, (start, end)


def test_getrange_missing_and_integer(r, resp):
    assert resp.call("GETRANGE", "nokey", "0", "-1") == b""
    r.set("n", 1234)
    assert resp.call("GETRANGE", "n", "1", "2") == b"23"
    assert resp.call("GETRANGE", "n", "-2", "-1") == b"34"
    r.set("e", "")
    assert resp.call("GETRANGE", "e", "0", "-1") == b""


def test_getrange_errors(r, resp):
    r.set("k", "hello")
    assert resp.call("GETRANGE", "k", "a", "1") == NOT_INT
    assert resp.call("GETRANGE", "k", "0", "1.5") == NOT_INT
    # Arguments are checked before the key.
    assert resp.call("GETRANGE", "nokey", "x", "1") == NOT_INT
    assert resp.call("GETRANGE", "k", "0") == (
        "-ERR wrong number of arguments for 'getrange' command"
    )


def test_setrange_pads_missing_key_with_zeros(rb, resp):
    assert resp.call("SETRANGE", "k", "5", "xy") == 7
    assert rb.get(b"k") == b"\x00" * 5 + b"xy"
    assert resp.call("SETRANGE", "z", "0", "abc") == 3
    assert rb.get(b"z") == b"abc"


def test_setrange_existing(rb, resp):
    rb.set(b"k", b"Hello World")
    assert resp.call("SETRANGE", "k", "6", "Redis") == 11
    assert rb.get(b"k") == b"Hello Redis"
    assert resp.call("SETRANGE", "k", "15", "!") == 16
    assert rb.get(b"k") == b"Hello Redis\x00\x00\x00\x00!"
    assert resp.call("SETRANGE", "k", "0", "J") == 16
    assert rb.get(b"k")[:5] == b"Jello"


def test_setrange_empty_value(r, resp):
    assert resp.call("SETRANGE", "k", "10", "") == 0
    assert r.exists("k") == 0
    r.set("k", "hello")
    assert resp.call("SETRANGE", "k", "100", "") == 5
    assert r.get("k") == "hello"


def test_setrange_integer_value_and_encoding(r, resp):
    r.set("k", 12345)
    assert resp.call("SETRANGE", "k", "1", "X") == 5
    assert r.get("k") == "1X345"
    assert encoding(r, "k") == "raw"
    resp.call("SETRANGE", "new", "2", "ab")
    assert encoding(r, "new") == "raw"


def test_setrange_keeps_ttl(r):
    r.set("k", "hello", ex=100)
    r.setrange("k", 0, "J")
    assert r.get("k") == "Jello"
    assert 95 <= r.ttl("k") <= 100


def test_setrange_errors(r, resp):
    assert resp.call("SETRANGE", "k", "-1", "x") == "-ERR offset is out of range"
    assert resp.call("SETRANGE", "k", "x", "x") == NOT_INT
    # 512 MB is the limit, for new keys and existing ones alike.
    assert resp.call("SETRANGE", "k", "536870912", "x") == TOO_BIG
    assert resp.call("SETRANGE", "k", "536870911", "xy") == TOO_BIG
    assert resp.call("SETRANGE", "k", str(LLONG_MAX), "x") == TOO_BIG
    assert r.exists("k") == 0
    r.set("s", "abc")
    assert resp.call("SETRANGE", "s", "536870911", "xy") == TOO_BIG
    assert resp.call("SETRANGE", "s", "-1", "x") == "-ERR offset is out of range"
    assert r.get("s") == "abc"


# --------------------------------------------------------------------------
# INCR / DECR / INCRBY / DECRBY
# --------------------------------------------------------------------------


def test_incr_decr(r, resp):
    assert resp.call("INCR", "n") == 1
    assert resp.call("INCR", "n") == 2
    assert resp.call("DECR", "n") == 1
    assert resp.call("DECR", "m") == -1
    assert resp.call("INCRBY", "n", "100") == 101
    assert resp.call("INCRBY", "n", "-200") == -99
    assert resp.call("DECRBY", "n", "1") == -100
    assert resp.call("DECRBY", "n", "-300") == 200
    assert r.get("n") == "200"


def test_incr_string_becomes_int_encoded(r):
    r.set("k", "10")
    assert encoding(r, "k") == "int"
    r.append("k", "0")  # "100", now resp
    assert encoding(r, "k") == "raw"
    assert r.incr("k") == 101
    assert encoding(r, "k") == "int"
    assert r.get("k") == "101"
    r.set("big", str(LLONG_MAX - 1))
    assert r.incr("big") == LLONG_MAX
    assert encoding(r, "big") == "int"


def test_incr_keeps_ttl(r):
    r.set("k", 1, ex=100)
    assert r.incr("k") == 2
    assert 95 <= r.ttl("k") <= 100


def test_incr_not_an_integer(r, resp):
    for value in ("abc", "1.5", " 1", "1 ", "+1", "01", "", str(LLONG_MAX + 1)):
        r.set("k", value)
        assert resp.call("INCR", "k") == NOT_INT, value
        assert r.get("k") == value
    assert resp.call("INCRBY", "n", "1.0") == NOT_INT
    assert resp.call("INCRBY", "n", "x") == NOT_INT
    assert resp.call("DECRBY", "n", "") == NOT_INT
    assert r.exists("n") == 0


def test_incr_overflow(r, resp):
    r.set("k", LLONG_MAX)
    assert resp.call("INCR", "k") == OVERFLOW
    assert resp.call("INCRBY", "k", "1") == OVERFLOW
    assert resp.call("DECRBY", "k", "-1") == OVERFLOW
    assert r.get("k") == str(LLONG_MAX)
    assert resp.call("INCRBY", "k", str(LLONG_MIN)) == -1
    r.set("k", LLONG_MIN)
    assert resp.call("DECR", "k") == OVERFLOW
    assert resp.call("INCRBY", "k", "-1") == OVERFLOW
    assert r.get("k") == str(LLONG_MIN)
    assert resp.call("INCRBY", "k", str(LLONG_MAX)) == -1
    r.set("one", 1)
    assert resp.call("INCRBY", "one", str(LLONG_MAX)) == OVERFLOW
    assert resp.call("INCRBY", "zero", str(LLONG_MAX)) == LLONG_MAX
    assert resp.call("INCRBY", "neg", str(LLONG_MIN)) == LLONG_MIN


def test_decrby_llong_min(r, resp):
    assert resp.call("DECRBY", "k", str(LLONG_MIN)) == "-ERR decrement would overflow"
    assert r.exists("k") == 0
    assert resp.call("DECRBY", "k", str(LLONG_MAX)) == -LLONG_MAX


# --------------------------------------------------------------------------
# INCRBYFLOAT
# --------------------------------------------------------------------------


def test_incrbyfloat(r, resp):
    assert resp.call("INCRBYFLOAT", "f", "10.5") == b"10.5"
    assert resp.call("INCRBYFLOAT", "f", "0.1") == b"10.6"
    assert resp.call("INCRBYFLOAT", "f", "-5") == b"5.6"
    assert r.get("f") == "5.6"


def test_incrbyfloat_formatting(r, resp):
    assert resp.call("INCRBYFLOAT", "a", "5.0e3") == b"5000"
    assert r.get("a") == "5000"
    assert resp.call("INCRBYFLOAT", "a", "2.0e2") == b"5200"
    assert resp.call("INCRBYFLOAT", "b", "1.50") == b"1.5"
    assert resp.call("INCRBYFLOAT", "b", "-1.5") == b"0"
    assert resp.call("INCRBYFLOAT", "c", "-3") == b"-3"
    assert resp.call("INCRBYFLOAT", "d", "0x10") == b"16"
    r.set("e", "3.0e3")
    assert resp.call("INCRBYFLOAT", "e", "1") == b"3001"
    r.set("i", 10)
    assert resp.call("INCRBYFLOAT", "i", "1.5") == b"11.5"
    assert resp.call("INCRBYFLOAT", "i", "-0.5") == b"11"


def test_incrbyfloat_result_is_a_string(r):
    r.set("k", 10)
    assert r.incrbyfloat("k", 1) == 11.0
    assert r.get("k") == "11"
    assert encoding(r, "k") == "embstr"
    assert r.incr("k") == 12


def test_incrbyfloat_keeps_ttl(r):
    r.set("k", "1.5", ex=100)
    r.incrbyfloat("k", 1)
    assert 95 <= r.ttl("k") <= 100


def test_incrbyfloat_errors(r, resp):
    nan_inf = "-ERR increment would produce NaN or Infinity"
    r.set("k", 1)
    assert resp.call("INCRBYFLOAT", "k", "inf") == nan_inf
    assert resp.call("INCRBYFLOAT", "k", "-inf") == nan_inf
    assert resp.call("INCRBYFLOAT", "k", "nan") == NOT_FLOAT
    assert resp.call("INCRBYFLOAT", "k", "abc") == NOT_FLOAT
    assert resp.call("INCRBYFLOAT", "k", " 1") == NOT_FLOAT
    assert resp.call("INCRBYFLOAT", "k", "1 ") == NOT_FLOAT
    assert resp.call("INCRBYFLOAT", "k", "") == NOT_FLOAT
    assert r.get("k") == "1"
    r.set("s", "abc")
    assert resp.call("INCRBYFLOAT", "s", "1") == NOT_FLOAT
    r.set("sp", "1.5 ")
    assert resp.call("INCRBYFLOAT", "sp", "1") == NOT_FLOAT
    assert resp.call("INCRBYFLOAT", "nokey", "x") == NOT_FLOAT
    assert r.exists("nokey") == 0


# --------------------------------------------------------------------------
# LCS
# --------------------------------------------------------------------------


def test_lcs(r, resp):
    r.mset({"key1": "ohmytext", "key2": "mynewtext"})
    assert resp.call("LCS", "key1", "key2") == b"mytext"
    assert resp.call("LCS", "key1", "key2", "LEN") == 6
    assert resp.call("LCS", "key1", "nokey") == b""
    assert resp.call("LCS", "nokey", "nokey2", "LEN") == 0


def test_lcs_idx(r, resp):
    r.mset({"key1": "ohmytext", "key2": "mynewtext"})
    assert resp.call("LCS", "key1", "key2", "IDX") == [
        b"matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len", 6,
    ]
    assert resp.call("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == [
        b"matches", [[[4, 7], [5, 8], 4]], b"len", 6,
    ]
    assert resp.call("LCS", "key1", "key2", "idx", "withmatchlen", "minmatchlen", "-5") == [
        b"matches", [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], b"len", 6,
    ]
    assert resp.call("LCS", "nokey", "key2", "IDX") == [b"matches", [], b"len", 0]


def test_lcs_idx_resp3_is_a_map(r, resp3):
    r.mset({"key1": "ohmytext", "key2": "mynewtext"})
    reply = resp3.call("LCS", "key1", "key2", "IDX")
    assert isinstance(reply, Map)
    assert reply == [(b"matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]]), (b"len", 6)]


def test_lcs_integer_values(r, resp):
    r.set("i", 12345)
    r.set("j", 2345)
    assert resp.call("LCS", "i", "j") == b"2345"
    assert resp.call("LCS", "i", "j", "IDX") == [b"matches", [[[1, 4], [0, 3]]], b"len", 4]


def test_lcs_errors(r, resp):
    r.mset({"a": "hello", "b": "help"})
    assert resp.call("LCS", "a", "b", "IDX", "LEN") == (
        "-ERR If you want both the length and indexes, please just use IDX."
    )
    assert resp.call("LCS", "a", "b", "BOGUS") == SYNTAX
    assert resp.call("LCS", "a", "b", "MINMATCHLEN") == SYNTAX
    assert resp.call("LCS", "a", "b", "MINMATCHLEN", "x") == NOT_INT
    assert resp.call("LCS", "a") == "-ERR wrong number of arguments for 'lcs' command"


def test_lcs_table_size_limit(r, resp):
    # (12001 * 12001) 32-bit cells exceed the default 512 MB limit; the
    # check comes before any work is done.
    r.set("a", "x" * 12000)
    r.set("b", "y" * 12000)
    assert resp.call("LCS", "a", "b") == (
        "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    )


def lcs_table(a, b):
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                t[i][j] = t[i - 1][j - 1] + 1
            else:
                t[i][j] = max(t[i - 1][j], t[i][j - 1])
    return t[len(a)][len(b)]


def is_subsequence(sub, s):
    it = iter(s)
    return all(ch in it for ch in sub)


def test_lcs_random_strings_agree_with_reference(r, resp):
    import random
    rng = random.Random(1234)
    for n, alphabet in ((50, "ab"), (200, "abc"), (300, "acgt")):
        a = "".join(rng.choice(alphabet) for _ in range(n))
        b = "".join(rng.choice(alphabet) for _ in range(n + 17))
        r.mset({"a": a, "b": b})
        want = lcs_table(a, b)
        assert resp.call("LCS", "a", "b", "LEN") == want
        seq = resp.call("LCS", "a", "b").decode()
        assert len(seq) == want
        assert is_subsequence(seq, a) and is_subsequence(seq, b)
        # The IDX ranges are the same subsequence, last match first.
        reply = resp.call("LCS", "a", "b", "IDX", "WITHMATCHLEN")
        assert reply[0] == b"matches" and reply[2] == b"len" and reply[3] == want
        pieces = []
        for (a0, a1), (b0, b1), mlen in reversed(reply[1]):
            assert a[a0:a1 + 1] == b[b0:b1 + 1]
            assert mlen == a1 - a0 + 1
            pieces.append(a[a0:a1 + 1])
        assert "".join(pieces) == seq


@pytest.fixture
def small_bulk_len(r):
    """proto-max-bulk-len at its minimum (1 MB), restored afterwards."""
    old = r.config_get("proto-max-bulk-len")["proto-max-bulk-len"]
    r.config_set("proto-max-bulk-len", 1048576)
    yield 1048576
    r.config_set("proto-max-bulk-len", old)


def test_string_limit_follows_proto_max_bulk_len(r, resp, small_bulk_len):
    assert resp.call("SETRANGE", "k", small_bulk_len, "x") == TOO_BIG
    assert r.exists("k") == 0
    assert resp.call("SETRANGE", "k", small_bulk_len - 1, "x") == small_bulk_len
    assert resp.call("APPEND", "k", "y") == TOO_BIG
    assert resp.call("SETRANGE", "k", small_bulk_len - 1, "xy") == TOO_BIG
    assert r.strlen("k") == small_bulk_len
    assert resp.call("SETRANGE", "k", small_bulk_len - 1, "z") == small_bulk_len
    assert r.getrange("k", -2, -1) == "\x00z"
    r.set("a", "x" * 600)
    r.set("b", "y" * 600)
    assert resp.call("LCS", "a", "b", "LEN") == (
        "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    )
    r.set("b", "y" * 200)
    assert resp.call("LCS", "a", "b", "LEN") == 0


# --------------------------------------------------------------------------
# Keys of another type
# --------------------------------------------------------------------------


@pytest.fixture
def listkey(r):
    """A key "list" holding a list."""
    r.lpush("list", "a")
    return "list"


@pytest.mark.parametrize("args", [
    ("GET", "list"),
    ("SET", "list", "v", "GET"),
    ("SET", "list", "v", "NX", "GET"),
    ("GETSET", "list", "v"),
    ("GETDEL", "list"),
    ("GETEX", "list"),
    ("GETEX", "list", "EX", "0"),
    ("GETEX", "list", "PERSIST"),
    ("APPEND", "list", "x"),
    ("STRLEN", "list"),
    ("GETRANGE", "list", "0", "-1"),
    ("SUBSTR", "list", "0", "-1"),
    ("SETRANGE", "list", "0", "x"),
    ("SETRANGE", "list", "0", ""),
    ("INCR", "list"),
    ("DECR", "list"),
    ("INCRBY", "list", "2"),
    ("DECRBY", "list", "2"),
    ("INCRBYFLOAT", "list", "1.5"),
])
def test_wrong_type_errors(r, resp, listkey, args):
    assert resp.call(*args) == WRONGTYPE
    assert r.type("list") == "list"
    assert r.lrange("list", 0, -1) == ["a"]


def test_expire_error_comes_before_type_error(r, resp, listkey):
    assert resp.call("SET", "list", "v", "GET", "EX", "0") == bad_expire("set")
    assert r.type("list") == "list"


def test_set_family_replaces_other_types(r, resp, listkey):
    assert resp.call("SET", "list", "v") == "OK"
    assert r.type("list") == "string"
    r.delete("list")
    r.lpush("list", "a")
    assert resp.call("SETEX", "list", "100", "v") == "OK"
    assert r.get("list") == "v"
    r.delete("list")
    r.lpush("list", "a")
    assert resp.call("MSET", "list", "2", "b", "3") == "OK"
    assert r.get("list") == "2"


def test_nx_commands_see_other_types_as_existing(r, resp, listkey):
    assert resp.call("SETNX", "list", "v") == 0
    assert resp.call("SET", "list", "v", "NX") is None
    assert resp.call("MSETNX", "d", "4", "list", "5") == 0
    assert r.exists("d") == 0
    assert r.type("list") == "list"


def test_mget_other_type_is_null(r, resp, listkey):
    r.set("a", "1")
    assert resp.call("MGET", "a", "list", "nokey") == [b"1", None, None]


def test_lcs_other_type(r, resp, listkey):
    r.set("a", "hello")
    types = "-ERR The specified keys must contain string values"
    assert resp.call("LCS", "a", "list") == types
    assert resp.call("LCS", "list", "nokey") == types
    assert resp.call("LCS", "list", "a", "LEN") == types


# --------------------------------------------------------------------------
# The command table as COMMAND INFO reports it
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name,arity,flags,keys,acl", [
    ("get", 2, ["readonly", "fast"], [1, 1, 1], ["@read", "@string", "@fast"]),
    ("set", -3, ["write", "denyoom"], [1, 1, 1], ["@write", "@string", "@slow"]),
    ("setnx", 3, ["write", "denyoom", "fast"], [1, 1, 1], ["@write", "@string", "@fast"]),
    ("mget", -2, ["readonly", "fast"], [1, -1, 1], ["@read", "@string", "@fast"]),
    ("mset", -3, ["write", "denyoom"], [1, -1, 2], ["@write", "@string", "@slow"]),
    ("getdel", 2, ["write", "fast"], [1, 1, 1], ["@write", "@string", "@fast"]),
    ("getrange", 4, ["readonly"], [1, 1, 1], ["@read", "@string", "@slow"]),
    ("lcs", -3, ["readonly"], [1, 2, 1], ["@read", "@string", "@slow"]),
])
def test_command_info(resp, name, arity, flags, keys, acl):
    # Flags and categories are status replies; order as Redis lists them.
    info = resp.call("COMMAND", "INFO", name)[0]
    assert info[0] == name.encode()
    assert info[1] == arity
    assert info[2] == flags
    assert info[3:6] == keys
    assert info[6] == acl
