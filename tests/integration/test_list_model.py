"""A randomized model test of the list commands.

Thousands of random list commands are sent to the server and applied to a
plain Python model (a dict of Python lists written from Redis's
documentation); the replies are compared one by one, and the whole
dataset every so often.  The seed is fixed (override it with
CAIRN_LIST_SEED) and printed with the failing step, so a failure can be
replayed.  Each run uses several list-max-listpack-size values, so lists
cross quicklist node boundaries and change encoding back and forth.  Holds
against Redis 7.0 too (CAIRN_TEST_SERVER=redis)."""
import os
import random

import pytest
import redis

SEED = int(os.environ.get("CAIRN_LIST_SEED", "20240611"))
STEPS = 3000
KEYS = ["a", "b", "c"]
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


class Err(Exception):
    """An error reply expected from the model."""


def send(r, *args):
    """The reply to a command, raw (no redis-py callbacks); an error reply
    becomes ("err", message)."""
    conn = r.connection_pool.get_connection(args[0])
    try:
        conn.send_command(*args)
        try:
            return conn.read_response()
        except redis.ResponseError as e:
            return ("err", str(e))
    finally:
        r.connection_pool.release(conn)


def norm_index(lst, i):
    return i + len(lst) if i < 0 else i


def redis_range(lst, start, end):
    n = len(lst)
    if start < 0:
        start += n
    if end < 0:
        end += n
    start = max(start, 0)
    if start > end or start >= n:
        return []
    return lst[start:min(end, n - 1) + 1]


class Model:
    """Redis's list semantics over a dict of Python lists; "s" holds a
    string, to exercise WRONGTYPE."""

    def __init__(self):
        self.d = {"s": "string"}

    def lst(self, key, create=False):
        v = self.d.get(key)
        if isinstance(v, str):
            raise Err(WRONGTYPE)
        if v is None and create:
            v = self.d[key] = []
        return v

    def cleanup(self, key):
        if self.d.get(key) == []:
            del self.d[key]

    def push(self, key, vals, left, only_if_exists=False):
        lst = self.lst(key)
        if lst is None:
            if only_if_exists:
                return 0
            lst = self.lst(key, create=True)
        for v in vals:
            if left:
                lst.insert(0, v)
            else:
                lst.append(v)
        return len(lst)

    def pop(self, key, left, count=None):
        lst = self.lst(key)
        if lst is None:
            return None
        if count is None:
            v = lst.pop(0) if left else lst.pop()
            self.cleanup(key)
            return v
        if count == 0:
            return []
        out = []
        for _ in range(min(count, len(lst))):
            out.append(lst.pop(0) if left else lst.pop())
        self.cleanup(key)
        return out

    def llen(self, key):
        lst = self.lst(key)
        return len(lst) if lst else 0

    def lrange(self, key, s, e):
        lst = self.lst(key)
        return redis_range(lst, s, e) if lst else []

    def lindex(self, key, i):
        lst = self.lst(key)
        if lst is None:
            return None
        i = norm_index(lst, i)
        return lst[i] if 0 <= i < len(lst) else None

    def lset(self, key, i, v):
        if key not in self.d:
            raise Err("no such key")
        lst = self.lst(key)
        i = norm_index(lst, i)
        if not 0 <= i < len(lst):
            raise Err("index out of range")
        lst[i] = v
        return "OK"

    def linsert(self, key, before, pivot, v):
        lst = self.lst(key)
        if lst is None:
            return 0
        if pivot not in lst:
            return -1
        i = lst.index(pivot)
        lst.insert(i if before else i + 1, v)
        return len(lst)

    def lrem(self, key, count, v):
        lst = self.lst(key)
        if lst is None:
            return 0
        idxs = [i for i, x in enumerate(lst) if x == v]
        if count < 0:
            idxs = idxs[::-1][:-count]
        elif count > 0:
            idxs = idxs[:count]
        for i in sorted(idxs, reverse=True):
            del lst[i]
        self.cleanup(key)
        return len(idxs)

    def ltrim(self, key, s, e):
        lst = self.lst(key)
        if lst is None:
            return "OK"
        self.d[key] = redis_range(lst, s, e)
        self.cleanup(key)
        return "OK"

    def lpos(self, key, v, rank, count, maxlen):
        lst = self.lst(key)
        if lst is None:
            return [] if count is not None else None
        n = len(lst)
        order = range(n) if rank > 0 else range(n - 1, -1, -1)
        if maxlen:
            order = list(order)[:maxlen]
        hits = [i for i in order if lst[i] == v][abs(rank) - 1:]
        if count is None:
            return hits[0] if hits else None
        return hits[:count] if count else hits

    def lmove(self, src, dst, from_left, to_left):
        s = self.lst(src)
        if s is None:
            return None
        self.lst(dst)  # WRONGTYPE before popping
        v = s.pop(0) if from_left else s.pop()
        d = self.lst(dst, create=True)
        d.insert(0, v) if to_left else d.append(v)
        self.cleanup(src)
        return v

    def mpop(self, keys, left, count):
        for k in keys:
            lst = self.lst(k)
            if lst:
                return [k, self.pop(k, left, count)]
        return None


def values(rng):
    """A value from a small pool (so searches hit), sometimes large or
    integer-like."""
    r = rng.random()
    if r < 0.6:
        return rng.choice(["x", "y", "z", "1", "2", "-3", "100000", "007"])
    if r < 0.85:
        return str(rng.randint(-10**12, 10**12))
    return rng.choice("pqr") * rng.choice([40, 300, 1200])


def random_step(rng, m, grow):
    """Pick a command; return (argv, function computing the model reply).
    While grow is set, pushes are more frequent, so lists get long enough
    to span several nodes; then they shrink again."""
    key = rng.choice(KEYS + ["s"] if rng.random() < 0.05 else KEYS)
    key2 = rng.choice(KEYS)
    left = rng.random() < 0.5
    end = "LEFT" if left else "RIGHT"
    op = 0 if grow and rng.random() < 0.3 else rng.randrange(22)
    n = m.llen(key) if not isinstance(m.d.get(key), str) else 0
    idx = rng.randint(-n - 2, n + 2)
    if op < 4:
        vals = [values(rng) for _ in range(rng.randint(1, 8 if grow else 3))]
        return ["LPUSH" if left else "RPUSH", key, *vals], lambda: m.push(key, vals, left)
    if op == 4:
        vals = [values(rng) for _ in range(rng.randint(1, 2))]
        return (["LPUSHX" if left else "RPUSHX", key, *vals],
                lambda: m.push(key, vals, left, only_if_exists=True))
    if op in (5, 6):
        if rng.random() < 0.5:
            return ["LPOP" if left else "RPOP", key], lambda: m.pop(key, left)
        cnt = rng.randint(0, 12)
        return ["LPOP" if left else "RPOP", key, str(cnt)], lambda: m.pop(key, left, cnt)
    if op == 7:
        return ["LLEN", key], lambda: m.llen(key)
    if op == 8:
        s, e = rng.randint(-n - 2, n + 2), rng.randint(-n - 2, n + 2)
        return ["LRANGE", key, str(s), str(e)], lambda: m.lrange(key, s, e)
    if op == 9:
        return ["LINDEX", key, str(idx)], lambda: m.lindex(key, idx)
    if op == 10:
        v = values(rng)
        return ["LSET", key, str(idx), v], lambda: m.lset(key, idx, v)
    if op == 11:
        before = rng.random() < 0.5
        pivot, v = values(rng), values(rng)
        return (["LINSERT", key, "BEFORE" if before else "AFTER", pivot, v],
                lambda: m.linsert(key, before, pivot, v))
    if op == 12:
        cnt, v = rng.randint(-3, 3), values(rng)
        return ["LREM", key, str(cnt), v], lambda: m.lrem(key, cnt, v)
    if op == 13:
        s, e = rng.randint(-n - 2, 3), rng.randint(-3, n + 2)
        return ["LTRIM", key, str(s), str(e)], lambda: m.ltrim(key, s, e)
    if op == 14:
        v = values(rng)
        argv = ["LPOS", key, v]
        rank = rng.choice([1, 1, 2, -1, -2, 3])
        count = rng.choice([None, None, 0, 1, 2])
        maxlen = rng.choice([0, 0, 3, 10])
        if rank != 1 or rng.random() < 0.2:
            argv += ["RANK", str(rank)]
        if count is not None:
            argv += ["COUNT", str(count)]
        if maxlen:
            argv += ["MAXLEN", str(maxlen)]
        return argv, lambda: m.lpos(key, v, rank, count, maxlen)
    if op in (15, 16):
        to_left = rng.random() < 0.5
        return (["LMOVE", key, key2, end, "LEFT" if to_left else "RIGHT"],
                lambda: m.lmove(key, key2, left, to_left))
    if op == 17:
        return ["RPOPLPUSH", key, key2], lambda: m.lmove(key, key2, False, True)
    if op == 18:
        keys = rng.sample(KEYS, rng.randint(1, 3))
        cnt = rng.randint(1, 4)
        return (["LMPOP", str(len(keys)), *keys, end, "COUNT", str(cnt)],
                lambda: m.mpop(keys, left, cnt))
    # Blocking pops, only when they are served at once (no waiting here).
    keys = rng.sample(KEYS, rng.randint(1, 3))
    if not any(m.d.get(k) for k in keys):
        return ["LLEN", key], lambda: m.llen(key)
    if op == 19:
        def blpop():
            r = m.mpop(keys, left, 1)
            return [r[0], r[1][0]]
        return ["BLPOP" if left else "BRPOP", *keys, "0"], blpop
    if op == 20:
        return (["BLMPOP", "0", str(len(keys)), *keys, end, "COUNT", "2"],
                lambda: m.mpop(keys, left, 2))
    src = next(k for k in keys if m.d.get(k))
    return (["BLMOVE", src, key2, end, "RIGHT", "0"], lambda: m.lmove(src, key2, left, False))


def expected(fn):
    try:
        return fn()
    except Err as e:
        return ("err", str(e))


def check_dataset(r, m):
    for k in KEYS:
        assert send(r, "LRANGE", k, "0", "-1") == (m.d.get(k) or [])
        assert send(r, "EXISTS", k) == (1 if k in m.d else 0)


@pytest.fixture
def model_server(r):
    yield r
    r.config_set("list-max-listpack-size", -2)


@pytest.mark.parametrize("fill", [-2, 3, 1, -1])
def test_list_model(model_server, fill):
    r = model_server
    r.config_set("list-max-listpack-size", fill)
    seed = SEED + fill
    rng = random.Random(seed)
    m = Model()
    r.set("s", "string")
    for step in range(STEPS):
        argv, fn = random_step(rng, m, grow=(step // 500) % 2 == 0)
        want = expected(fn)
        got = send(r, *argv)
        assert got == want, (f"seed {seed} (CAIRN_LIST_SEED={SEED}, fill {fill}) step {step}: "
                             f"{argv!r} replied {got!r}, the model says {want!r}")
        if step % 100 == 0:
            check_dataset(r, m)
    check_dataset(r, m)
