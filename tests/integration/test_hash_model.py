"""A randomized model test of the hash commands.

Thousands of random operations go to the server and to a plain Python
model (key -> dict, plus whether the hash has been converted to a
hashtable); every reply is compared with the model's prediction, and so is
OBJECT ENCODING after every write.  The seed is fixed and printed on
failure; set HASH_MODEL_SEED to try another one.  Run it against Redis with
CAIRN_TEST_SERVER=redis to check the model itself.
"""
import os
import random
import re
from decimal import Decimal
from fractions import Fraction

import pytest
import redis

SEED = int(os.environ.get("HASH_MODEL_SEED", "7301"))
STEPS = int(os.environ.get("HASH_MODEL_STEPS", "4000"))
MAX_ENTRIES = 8   # small limits so both encodings and the conversion get exercised
MAX_VALUE = 16
KEYS = ["h0", "h1", "h2"]
STRING_KEY = "str"
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
INT_RE = re.compile(r"^(0|-?[1-9][0-9]*)$")
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


class Error(str):
    """An error reply, as the model predicts it."""


def as_int(s):
    """The value as Redis's string2ll reads it, or None."""
    if not INT_RE.match(s):
        return None
    v = int(s)
    return v if INT64_MIN <= v <= INT64_MAX else None


def as_number(s):
    """The value as an exact fraction, for the values this test stores
    (integers and decimals with few digits), or None if not a float."""
    if not re.match(r"^-?[0-9]+(\.[0-9]+)?$", s):
        return None
    return Fraction(Decimal(s))


def format_number(x):
    """INCRBYFLOAT's formatting of an exactly representable value."""
    if x == 0:
        return "0"
    s = format(Decimal(x.numerator) / Decimal(x.denominator), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


class Model:
    def __init__(self):
        self.h = {}          # key -> {field: value}
        self.converted = {}  # key -> True once a hashtable

    def encoding(self, key):
        return "hashtable" if self.converted.get(key) else "listpack"

    def set(self, key, field, value):
        h = self.h.setdefault(key, {})
        new = field not in h
        h[field] = value
        if len(field) > MAX_VALUE or len(value) > MAX_VALUE or len(h) > MAX_ENTRIES:
            self.converted[key] = True
        return new

    def delete_key(self, key):
        self.h.pop(key, None)
        self.converted.pop(key, None)


class Runner:
    def __init__(self, r, seed):
        self.r = r
        self.rng = random.Random(seed)
        self.m = Model()
        self.log = []

    # ---------------------------------------------------------- inputs

    def key(self):
        return STRING_KEY if self.rng.random() < 0.03 else self.rng.choice(KEYS)

    def field(self):
        x = self.rng.random()
        if x < 0.05:
            return "L" * self.rng.randint(MAX_VALUE - 1, MAX_VALUE + 3)
        if x < 0.10:
            return str(self.rng.randint(-3, 12))  # stored as integers
        return f"f{self.rng.randint(0, 11)}"

    def value(self):
        x = self.rng.random()
        if x < 0.3:
            return str(self.rng.randint(-1000, 1000))
        if x < 0.5:
            return format_number(Fraction(self.rng.randint(-400, 400), 4))
        if x < 0.6:
            return "x" * self.rng.randint(MAX_VALUE - 2, MAX_VALUE + 4)
        if x < 0.65:
            return ""
        return f"s{self.rng.randint(0, 999)}"

    # ------------------------------------------------------ plumbing

    def call(self, *args):
        self.log.append(args)
        conn = self.r.connection_pool.get_connection(args[0])
        try:
            conn.send_command(*args)
            try:
                return conn.read_response()
            except redis.ResponseError as e:
                return Error(str(e))
        finally:
            self.r.connection_pool.release(conn)

    def expect(self, got, want, what=""):
        assert got == want, self.failure(f"{what} got {got!r}, want {want!r}")

    def failure(self, msg):
        tail = "\n".join(" ".join(map(str, a)) for a in self.log[-8:])
        return f"seed={SEED} step={len(self.log)}: {msg}\nlast commands:\n{tail}"

    def wrongtype(self, key, *args):
        """A command on the string key gives WRONGTYPE; True if handled."""
        if key != STRING_KEY:
            return False
        self.expect(self.call(*args), Error(WRONGTYPE))
        return True

    def check_encoding(self, key):
        if key in self.m.h:
            self.expect(self.call("OBJECT", "ENCODING", key), self.m.encoding(key), "encoding")
        else:
            self.expect(self.call("EXISTS", key), 0, "exists")

    # ------------------------------------------------------ operations

    def op_hset(self):
        key = self.key()
        pairs = [(self.field(), self.value()) for _ in range(self.rng.randint(1, 3))]
        args = [x for p in pairs for x in p]
        cmd = self.rng.choice(["HSET", "HMSET"])
        if self.wrongtype(key, cmd, key, *args):
            return
        added = len({f for f, _ in pairs} - set(self.m.h.get(key, {})))
        for f, v in pairs:
            self.m.set(key, f, v)
        self.expect(self.call(cmd, key, *args), "OK" if cmd == "HMSET" else added)
        self.check_encoding(key)

    def op_hsetnx(self):
        key, f, v = self.key(), self.field(), self.value()
        if self.wrongtype(key, "HSETNX", key, f, v):
            return
        exists = f in self.m.h.get(key, {})
        if not exists:
            self.m.set(key, f, v)
        self.expect(self.call("HSETNX", key, f, v), 0 if exists else 1)
        self.check_encoding(key)

    def op_hget(self):
        key, f = self.key(), self.field()
        if self.wrongtype(key, "HGET", key, f):
            return
        self.expect(self.call("HGET", key, f), self.m.h.get(key, {}).get(f))

    def op_hmget(self):
        key = self.key()
        fields = [self.field() for _ in range(self.rng.randint(1, 4))]
        if self.wrongtype(key, "HMGET", key, *fields):
            return
        h = self.m.h.get(key, {})
        self.expect(self.call("HMGET", key, *fields), [h.get(f) for f in fields])

    def op_hdel(self):
        key = self.key()
        fields = [self.field() for _ in range(self.rng.randint(1, 3))]
        if self.wrongtype(key, "HDEL", key, *fields):
            return
        h = self.m.h.get(key, {})
        gone = {f for f in fields if f in h}
        for f in gone:
            del h[f]
        if key in self.m.h and not h:
            self.m.delete_key(key)
        self.expect(self.call("HDEL", key, *fields), len(gone))
        self.check_encoding(key)

    def op_small_reads(self):
        key, f = self.key(), self.field()
        if self.wrongtype(key, "HLEN", key):
            return
        h = self.m.h.get(key, {})
        self.expect(self.call("HLEN", key), len(h))
        self.expect(self.call("HEXISTS", key, f), int(f in h))
        self.expect(self.call("HSTRLEN", key, f), len(h.get(f, "")))

    def op_whole(self):
        key = self.key()
        if self.wrongtype(key, "HGETALL", key):
            return
        h = self.m.h.get(key, {})
        flat = self.call("HGETALL", key)
        self.expect(dict(zip(flat[0::2], flat[1::2])), h, "hgetall")
        self.expect(len(flat), 2 * len(h), "hgetall length")
        keys, vals = self.call("HKEYS", key), self.call("HVALS", key)
        self.expect(dict(zip(keys, vals)), h, "hkeys/hvals")
        self.expect(len(keys), len(h), "hkeys length")

    def op_hincrby(self):
        key, f = self.key(), self.field()
        incr = self.rng.randint(-50, 50)
        if self.rng.random() < 0.05:
            incr = self.rng.choice([INT64_MAX, INT64_MIN, INT64_MAX - 10, INT64_MIN + 10])
        if self.wrongtype(key, "HINCRBY", key, f, incr):
            return
        cur = self.m.h.get(key, {}).get(f, "0")
        v = as_int(cur)
        if v is None:
            want = Error("hash value is not an integer")
        elif not INT64_MIN <= v + incr <= INT64_MAX:
            want = Error("increment or decrement would overflow")
        else:
            want = v + incr
            self.m.set(key, f, str(want))
        self.expect(self.call("HINCRBY", key, f, incr), want)
        self.check_encoding(key)

    def op_hincrbyfloat(self):
        key, f = self.key(), self.field()
        incr = Fraction(self.rng.randint(-400, 400), 4)
        if self.wrongtype(key, "HINCRBYFLOAT", key, f, format_number(incr)):
            return
        cur = self.m.h.get(key, {}).get(f, "0")
        v = as_number(cur)
        if v is not None and abs(v) > 2 ** 40:
            return  # beyond what a long double adds exactly: leave it to HINCRBY
        if v is None:
            want = Error("hash value is not a float")
        else:
            want = format_number(v + incr)
            self.m.set(key, f, want)
        self.expect(self.call("HINCRBYFLOAT", key, f, format_number(incr)), want)
        self.check_encoding(key)

    def op_hrandfield(self):
        key = self.key()
        h = self.m.h.get(key, {})
        if self.rng.random() < 0.3:
            if self.wrongtype(key, "HRANDFIELD", key):
                return
            got = self.call("HRANDFIELD", key)
            assert (got in h) if h else got is None, self.failure(f"hrandfield {got!r}")
            return
        count = self.rng.randint(-15, 15)
        withvalues = self.rng.random() < 0.5
        args = ["HRANDFIELD", key, count] + (["WITHVALUES"] if withvalues else [])
        if self.wrongtype(key, *args):
            return
        got = self.call(*args)
        n = abs(count) if count < 0 else min(count, len(h))
        if not h:
            n = 0
        if withvalues:
            self.expect(len(got), 2 * n, "hrandfield length")
            pairs = list(zip(got[0::2], got[1::2]))
            for fld, val in pairs:
                self.expect(val, h.get(fld), f"hrandfield value of {fld!r}")
            fields = [fld for fld, _ in pairs]
        else:
            self.expect(len(got), n, "hrandfield length")
            fields = got
        assert set(fields) <= set(h), self.failure(f"hrandfield fields {fields!r}")
        if count > 0:
            self.expect(len(set(fields)), len(fields), "hrandfield distinct")

    def op_hscan(self):
        key = self.key()
        if self.wrongtype(key, "HSCAN", key, 0):
            return
        h = self.m.h.get(key, {})
        opts = []
        match = None
        if self.rng.random() < 0.3:
            match = "f1*"
            opts += ["MATCH", match]
        if self.rng.random() < 0.5:
            opts += ["COUNT", self.rng.randint(1, 5)]
        seen, cursor = {}, "0"
        for _ in range(1000):
            cursor, part = self.call("HSCAN", key, cursor, *opts)
            for fld, val in zip(part[0::2], part[1::2]):
                self.expect(val, h.get(fld), f"hscan value of {fld!r}")
                seen[fld] = val
            if cursor == "0":
                break
        want = {f: v for f, v in h.items() if match is None or f.startswith("f1")}
        self.expect(seen, want, "hscan")

    def op_keyspace(self):
        x = self.rng.random()
        a, b = self.rng.sample(KEYS, 2)
        if x < 0.3:
            self.expect(self.call("DEL", a), int(a in self.m.h))
            self.m.delete_key(a)
        elif x < 0.5:
            self.expect(self.call("TYPE", a), "hash" if a in self.m.h else "none")
        elif x < 0.75:
            if a not in self.m.h:
                self.expect(self.call("RENAME", a, b), Error("no such key"))
                return
            self.expect(self.call("RENAME", a, b), "OK")
            self.m.h[b] = self.m.h.pop(a)
            self.m.converted[b] = self.m.converted.pop(a, False)
        else:
            exists = a in self.m.h
            self.expect(self.call("COPY", a, b, "REPLACE"), int(exists))
            if exists:
                self.m.h[b] = dict(self.m.h[a])
                self.m.converted[b] = self.m.converted.get(a, False)
        self.check_encoding(a)
        self.check_encoding(b)

    def run(self, steps):
        ops = [(self.op_hset, 20), (self.op_hsetnx, 5), (self.op_hget, 8), (self.op_hmget, 5),
               (self.op_hdel, 12), (self.op_small_reads, 6), (self.op_whole, 5),
               (self.op_hincrby, 8), (self.op_hincrbyfloat, 8), (self.op_hrandfield, 6),
               (self.op_hscan, 4), (self.op_keyspace, 3)]
        funcs = [f for f, _ in ops]
        weights = [w for _, w in ops]
        for _ in range(steps):
            self.rng.choices(funcs, weights)[0]()
        # The end state, key by key.
        for key in KEYS:
            h = self.m.h.get(key, {})
            self.expect(self.r.hgetall(key), h, f"final {key}")
            self.check_encoding(key)


@pytest.fixture
def small_limits(r):
    r.config_set("hash-max-listpack-entries", MAX_ENTRIES)
    r.config_set("hash-max-listpack-value", MAX_VALUE)
    yield r
    r.config_set("hash-max-listpack-entries", 512)
    r.config_set("hash-max-listpack-value", 64)


def test_hash_model(small_limits):
    r = small_limits
    r.set(STRING_KEY, "not a hash")
    runner = Runner(r, SEED)
    runner.run(STEPS)
    print(f"hash model: seed={SEED}, {len(runner.log)} commands")
