"""A randomized model test of the sorted-set commands.

Thousands of random operations go to the server and to a small Python model
of sorted sets; every reply is compared with what the model predicts, and
so is OBJECT ENCODING (listpack while small, skiplist once a member or the
count passes the configured limits, and the STORE commands choosing the
encoding of their result), so both encodings and the conversions between
them are covered.  A failure names the seed, the step and the command; set
ZSET_MODEL_SEED to replay one seed.  It runs against redis-server too
(CAIRN_TEST_SERVER=redis), which checks the model itself.

The model keeps away from what Redis leaves unspecified or random: lex
ranges only on a key whose scores are all equal, ZRANDMEMBER checked for
validity rather than equality, and no negative-zero scores (whose sign a
listpack does not keep)."""
import math
import os
import random

import pytest

INF = float("inf")
SCORES = ["-3", "-1.5", "-1", "0.5", "1", "2", "2.5", "7", "10", "+inf", "-inf", "1e3"]
INCRS = ["1", "-1", "0.5", "2", "+inf", "-inf", "-2.5"]
WEIGHTS = ["1", "2", "0.5", "3"]
ZKEYS = ["z0", "z1", "z2", "z3"]
LEX = "lex"
SETKEY = "s0"  # a plain set, as an input to the set algebra (score 1)

NOT_NUMBER = "resulting score is not a number (NaN)"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def fmt(score):
    """A score as Redis 7.0 prints it."""
    if math.isinf(score):
        return "inf" if score > 0 else "-inf"
    return "%.17g" % score


def parse(text):
    return float(text.replace("+inf", "inf"))


def order(z):
    """Members in (score, member bytes) order."""
    return sorted(z.items(), key=lambda kv: (kv[1], kv[0].encode()))


def flat(pairs):
    out = []
    for m, s in pairs:
        out += [m, fmt(s)]
    return out


class Model:
    def __init__(self, entries, value):
        self.z = {}      # key -> {member: score}
        self.enc = {}    # key -> "listpack" | "skiplist"
        self.sets = {}   # key -> set of members
        self.entries = entries
        self.value = value

    # -- encodings, as Redis 7.0 decides them --
    def fits(self, n, maxlen):
        return n <= self.entries and maxlen <= self.value

    def create(self, key, first_member):
        self.z[key] = {}
        ok = self.entries > 0 and len(first_member) <= self.value
        self.enc[key] = "listpack" if ok else "skiplist"

    def add_member(self, key, member, score):
        z = self.z[key]
        if member not in z and self.enc[key] == "listpack" and \
                (len(z) + 1 > self.entries or len(member) > self.value):
            self.enc[key] = "skiplist"
        z[member] = score

    def store(self, key, pairs):
        """A STORE command's result: the right encoding for its size."""
        self.delete(key)
        if not pairs:
            return
        self.z[key] = dict(pairs)
        maxlen = max(len(m) for m, _ in pairs)
        self.enc[key] = "listpack" if self.fits(len(pairs), maxlen) else "skiplist"

    def delete(self, key):
        self.z.pop(key, None)
        self.enc.pop(key, None)
        self.sets.pop(key, None)

    def drop_if_empty(self, key):
        if key in self.z and not self.z[key]:
            self.delete(key)

    def wrongtype(self, key):
        return key in self.sets

    def source(self, key):
        """An input of the set algebra: member -> score."""
        if key in self.sets:
            return {m: 1.0 for m in self.sets[key]}
        return dict(self.z.get(key, {}))


class Err(str):
    """An expected error reply (its message)."""


def aggregate(acc, v, how):
    if how == "SUM":
        acc = acc + v
        return 0.0 if math.isnan(acc) else acc
    if how == "MIN":
        return v if v < acc else acc
    return v if v > acc else acc


class Gen:
    """Random commands and the replies the model predicts for them."""

    def __init__(self, rng, model, members):
        self.rng = rng
        self.m = model
        self.members = members

    def pick(self, seq):
        return self.rng.choice(seq)

    def member(self):
        return self.pick(self.members)

    def key(self):
        r = self.rng.random()
        if r < 0.03:
            return SETKEY
        if r < 0.06:
            return "nokey"
        return self.pick(ZKEYS)

    def score_bound(self):
        r = self.rng.random()
        if r < 0.1:
            return "-inf", -INF, False
        if r < 0.2:
            return "+inf", INF, False
        text = self.pick(SCORES[:9])
        v = parse(text)
        if self.rng.random() < 0.4:
            return "(" + text, v, True
        return text, v, False

    # -- writes --
    def zadd(self):
        key = self.key()
        flags = [f for f in ("NX", "XX", "GT", "LT", "CH", "INCR") if self.rng.random() < 0.15]
        npairs = 1 if "INCR" in flags and self.rng.random() < 0.9 else self.rng.randint(1, 4)
        pairs = [(self.pick(SCORES), self.member()) for _ in range(npairs)]
        args = ["ZADD", key] + flags + [x for p in pairs for x in p]
        f = set(flags)
        if "NX" in f and "XX" in f:
            return args, Err("XX and NX options at the same time are not compatible")
        if ("GT" in f and "NX" in f) or ("LT" in f and "NX" in f) or ("GT" in f and "LT" in f):
            return args, Err("GT, LT, and/or NX options at the same time are not compatible")
        if "INCR" in f and npairs > 1:
            return args, Err("INCR option supports a single increment-element pair")
        if self.m.wrongtype(key):
            return args, Err(WRONGTYPE)
        return args, self.apply_zadd(key, f, [(parse(s), mem) for s, mem in pairs])

    def apply_zadd(self, key, f, pairs):
        m = self.m
        if key not in m.z:
            if "XX" in f:
                return None if "INCR" in f else 0
            m.create(key, pairs[0][1])
        z = m.z[key]
        added = updated = processed = 0
        score = 0
        for s, mem in pairs:
            score = s
            if mem in z:
                cur = z[mem]
                if "NX" in f:
                    continue
                if "INCR" in f:
                    score = cur + s
                    if math.isnan(score):
                        return Err(NOT_NUMBER)
                if ("LT" in f and score >= cur) or ("GT" in f and score <= cur):
                    continue
                processed += 1
                if score != cur:
                    z[mem] = score
                    updated += 1
            elif "XX" in f:
                continue
            else:
                m.add_member(key, mem, score)
                added += 1
                processed += 1
        if "INCR" in f:
            return fmt(score) if processed else None
        return added + updated if "CH" in f else added

    def zincrby(self):
        key, mem, inc = self.key(), self.member(), self.pick(INCRS)
        args = ["ZINCRBY", key, inc, mem]
        if self.m.wrongtype(key):
            return args, Err(WRONGTYPE)
        return args, self.apply_zadd(key, {"INCR"}, [(parse(inc), mem)])

    def zrem(self):
        key = self.key()
        mems = [self.member() for _ in range(self.rng.randint(1, 3))]
        args = ["ZREM", key] + mems
        if self.m.wrongtype(key):
            return args, Err(WRONGTYPE)
        z = self.m.z.get(key, {})
        n = 0
        for mem in mems:
            if mem in z:
                del z[mem]
                n += 1
        self.m.drop_if_empty(key)
        return args, n

    def zpop(self):
        key = self.key()
        cmd = self.pick(["ZPOPMIN", "ZPOPMAX"])
        count = self.pick([None, 0, 1, 2, 5])
        args = [cmd, key] + ([] if count is None else [str(count)])
        if self.m.wrongtype(key):
            return args, Err(WRONGTYPE)
        if key not in self.m.z:
            return args, []
        n = 1 if count is None else count
        return args, flat(self.pop(key, cmd.endswith("MAX"), n))

    def pop(self, key, from_max, n):
        z = self.m.z[key]
        items = order(z)
        if from_max:
            items.reverse()
        out = items[:n]
        for mem, _ in out:
            del z[mem]
        self.m.drop_if_empty(key)
        return out

    def zmpop(self):
        keys = [self.key() for _ in range(self.rng.randint(1, 3))]
        where = self.pick(["MIN", "MAX"])
        count = self.pick([None, 1, 3])
        args = ["ZMPOP", str(len(keys))] + keys + [where] + \
            ([] if count is None else ["COUNT", str(count)])
        for key in keys:
            if self.m.wrongtype(key):
                return args, Err(WRONGTYPE)
            if key in self.m.z:
                out = self.pop(key, where == "MAX", count or 1)
                return args, [key, [[mem, fmt(s)] for mem, s in out]]
        return args, None

    def zremrange(self):
        key = self.key()
        kind = self.pick(["RANK", "SCORE"])
        if kind == "RANK":
            a, b = self.rng.randint(-6, 6), self.rng.randint(-6, 6)
            args = ["ZREMRANGEBYRANK", key, str(a), str(b)]
        else:
            (lt, lv, lx), (ht, hv, hx) = self.score_bound(), self.score_bound()
            args = ["ZREMRANGEBYSCORE", key, lt, ht]
        if self.m.wrongtype(key):
            return args, Err(WRONGTYPE)
        if key not in self.m.z:
            return args, 0
        items = order(self.m.z[key])
        if kind == "RANK":
            gone = [mem for mem, _ in rank_slice(items, a, b)]
        else:
            gone = [mem for mem, s in items if in_range(s, lv, lx, hv, hx)]
        for mem in gone:
            del self.m.z[key][mem]
        self.m.drop_if_empty(key)
        return args, len(gone)

    # -- reads --
    def zrange(self):
        key = self.key()
        kind = self.pick(["RANK", "SCORE", "OLD"])
        rev = self.rng.random() < 0.4
        withscores = self.rng.random() < 0.5
        items = order(self.m.z.get(key, {}))
        if kind == "RANK":
            a, b = self.rng.randint(-6, 6), self.rng.randint(-6, 6)
            args = ["ZRANGE", key, str(a), str(b)] + (["REV"] if rev else [])
            res = rank_slice(list(reversed(items)) if rev else items, a, b)
        else:
            (lt, lv, lx), (ht, hv, hx) = self.score_bound(), self.score_bound()
            limit = None
            if self.rng.random() < 0.4:
                limit = (self.rng.randint(-1, 4), self.rng.randint(-1, 4))
            lim_args = ["LIMIT", str(limit[0]), str(limit[1])] if limit else []
            if kind == "SCORE":
                args = ["ZRANGE", key] + ([ht, lt, "BYSCORE", "REV"] if rev else
                                          [lt, ht, "BYSCORE"]) + lim_args
            else:
                name = "ZREVRANGEBYSCORE" if rev else "ZRANGEBYSCORE"
                args = [name, key] + ([ht, lt] if rev else [lt, ht]) + lim_args
            res = [(mem, s) for mem, s in items if in_range(s, lv, lx, hv, hx)]
            if rev:
                res.reverse()
            res = apply_limit(res, limit)
        if withscores:
            args.append("WITHSCORES")
        if self.m.wrongtype(key):
            return args, Err(WRONGTYPE)
        return args, flat(res) if withscores else [mem for mem, _ in res]

    def zrangestore(self):
        dst, src = self.pick(ZKEYS), self.key()
        a, b = self.rng.randint(-6, 6), self.rng.randint(-6, 6)
        args = ["ZRANGESTORE", dst, src, str(a), str(b)]
        if self.m.wrongtype(src):
            return args, Err(WRONGTYPE)
        res = rank_slice(order(self.m.z.get(src, {})), a, b)
        self.m.store(dst, res)
        return args, len(res)

    def point_reads(self):
        key = self.key()
        r = self.rng.random()
        z = self.m.z.get(key, {})
        if r < 0.2:
            args, want = ["ZCARD", key], len(z)
        elif r < 0.4:
            mem = self.member()
            args, want = ["ZSCORE", key, mem], fmt(z[mem]) if mem in z else None
        elif r < 0.55:
            mems = [self.member() for _ in range(3)]
            args, want = ["ZMSCORE", key] + mems, [fmt(z[x]) if x in z else None for x in mems]
        elif r < 0.8:
            mem, rev = self.member(), self.rng.random() < 0.5
            items = [x for x, _ in order(z)]
            if rev:
                items.reverse()
            args = ["ZREVRANK" if rev else "ZRANK", key, mem]
            want = items.index(mem) if mem in z else None
        else:
            (lt, lv, lx), (ht, hv, hx) = self.score_bound(), self.score_bound()
            args = ["ZCOUNT", key, lt, ht]
            want = sum(1 for s in z.values() if in_range(s, lv, lx, hv, hx))
        if self.m.wrongtype(key):
            return args, Err(WRONGTYPE)
        return args, want

    # -- lex ranges, on a key whose scores are all 0 --
    def lex(self):
        z = self.m.z.get(LEX, {})
        r = self.rng.random()
        lo, hi = lex_bound(self.rng, self.members), lex_bound(self.rng, self.members)
        items = [x for x, _ in order(z)]
        inside = [x for x in items if lex_in(x, lo, hi)]
        if r < 0.3:
            mems = [self.member() for _ in range(self.rng.randint(1, 3))]
            args = ["ZADD", LEX] + [y for mem in mems for y in ("0", mem)]
            if LEX not in self.m.z:
                self.m.create(LEX, mems[0])
            n = 0
            for mem in mems:
                if mem not in self.m.z[LEX]:
                    n += 1
                self.m.add_member(LEX, mem, 0.0)
            return args, n
        if r < 0.45:
            return ["ZLEXCOUNT", LEX, lo, hi], len(inside)
        if r < 0.75:
            rev = self.rng.random() < 0.5
            limit = (self.rng.randint(-1, 3), self.rng.randint(-1, 3)) \
                if self.rng.random() < 0.4 else None
            lim_args = ["LIMIT", str(limit[0]), str(limit[1])] if limit else []
            if self.rng.random() < 0.5:
                args = ["ZREVRANGEBYLEX", LEX, hi, lo] if rev else ["ZRANGEBYLEX", LEX, lo, hi]
            else:
                args = ["ZRANGE", LEX] + ([hi, lo, "BYLEX", "REV"] if rev else [lo, hi, "BYLEX"])
            res = list(reversed(inside)) if rev else inside
            return args + lim_args, apply_limit(res, limit)
        if r < 0.85:
            for mem in inside:
                del self.m.z[LEX][mem]
            self.m.drop_if_empty(LEX)
            return ["ZREMRANGEBYLEX", LEX, lo, hi], len(inside)
        dst = self.pick(ZKEYS)
        self.m.store(dst, [(x, 0.0) for x in inside])
        return ["ZRANGESTORE", dst, LEX, lo, hi, "BYLEX"], len(inside)

    # -- the set algebra --
    def setop(self):
        op = self.pick(["UNION", "INTER", "DIFF"])
        keys = [self.pick(ZKEYS + [SETKEY, "nokey"]) for _ in range(self.rng.randint(1, 3))]
        weights = aggr = None
        if op != "DIFF" and self.rng.random() < 0.4:
            weights = [self.pick(WEIGHTS) for _ in keys]
        if op != "DIFF" and self.rng.random() < 0.4:
            aggr = self.pick(["SUM", "MIN", "MAX"])
        store = self.rng.random() < 0.5
        dst = self.pick(ZKEYS)
        args = (["Z" + op + "STORE", dst] if store else ["Z" + op]) + [str(len(keys))] + keys
        if weights:
            args += ["WEIGHTS"] + weights
        if aggr:
            args += ["AGGREGATE", aggr]
        if not store:
            args.append("WITHSCORES")
        res = setop(self.m, op, keys, [parse(w) for w in weights] if weights else
                    [1.0] * len(keys), aggr or "SUM")
        if store:
            self.m.store(dst, res)
            return args, len(res)
        return args, flat(res)

    def zintercard(self):
        keys = [self.pick(ZKEYS + [SETKEY]) for _ in range(self.rng.randint(1, 3))]
        limit = self.pick([None, 0, 1, 2])
        args = ["ZINTERCARD", str(len(keys))] + keys + ([] if limit is None else
                                                        ["LIMIT", str(limit)])
        n = len(setop(self.m, "INTER", keys, [1.0] * len(keys), "SUM"))
        return args, min(n, limit) if limit else n

    def keyspace(self):
        r = self.rng.random()
        src, dst = self.pick(ZKEYS), self.pick(ZKEYS)
        if r < 0.4:
            args = ["COPY", src, dst, "REPLACE"]
            if src == dst:
                return args, Err("source and destination objects are the same")
            if src not in self.m.z:
                return args, 0
            self.m.delete(dst)
            self.m.z[dst] = dict(self.m.z[src])
            self.m.enc[dst] = self.m.enc[src]
            return args, 1
        if r < 0.6 and src in self.m.z and src != dst:
            self.m.delete(dst)
            self.m.z[dst] = self.m.z.pop(src)
            self.m.enc[dst] = self.m.enc.pop(src)
            return ["RENAME", src, dst], "OK"
        self.m.delete(src)
        return ["DEL", src], None  # DEL's count is not modelled; see run()


def rank_slice(items, a, b):
    n = len(items)
    if a < 0:
        a += n
    if b < 0:
        b += n
    a = max(a, 0)
    if a > b or a >= n:
        return []
    return items[a:min(b, n - 1) + 1]


def apply_limit(items, limit):
    if not limit:
        return items
    off, cnt = limit
    if off < 0:
        return []
    items = items[off:]
    return items if cnt < 0 else items[:cnt]


def in_range(s, lv, lx, hv, hx):
    lo_ok = s > lv if lx else s >= lv
    hi_ok = s < hv if hx else s <= hv
    return lo_ok and hi_ok


def lex_bound(rng, members):
    r = rng.random()
    if r < 0.1:
        return "-"
    if r < 0.2:
        return "+"
    base = rng.choice(members)
    if rng.random() < 0.3:
        base = base[:max(1, len(base) - 1)]
    return rng.choice("[(") + base


def lex_in(x, lo, hi):
    xb = x.encode()

    def ge(b):
        if b == "-":
            return True
        if b == "+":
            return False
        v = b[1:].encode()
        return xb > v if b[0] == "(" else xb >= v

    def le(b):
        if b == "+":
            return True
        if b == "-":
            return False
        v = b[1:].encode()
        return xb < v if b[0] == "(" else xb <= v
    return ge(lo) and le(hi)


def setop(m, op, keys, weights, aggr):
    """Redis's zunionInterDiffGenericCommand: inputs sorted by size
    (stably) except for DIFF, scores weighted, NaN made 0."""
    srcs = [(m.source(k), w, k) for k, w in zip(keys, weights)]
    if op != "DIFF":
        srcs.sort(key=lambda t: len(t[0]))
    out = {}
    if op == "UNION":
        for src, w, _ in srcs:
            for mem, s in src.items():
                v = w * s
                if math.isnan(v):
                    v = 0.0
                out[mem] = aggregate(out[mem], v, aggr) if mem in out else v
    elif op == "INTER":
        first, w0, k0 = srcs[0]
        for mem, s in first.items():
            acc = w0 * s
            if math.isnan(acc):
                acc = 0.0
            for src, w, k in srcs[1:]:
                if mem not in src:
                    break
                acc = aggregate(acc, src[mem] * w, aggr)
            else:
                out[mem] = acc
    else:
        first = srcs[0][0]
        for mem, s in first.items():
            if not any(mem in src for src, _, _ in srcs[1:]):
                out[mem] = s
    return order(out)


def check_zrandmember(r, model, rng, ctx):
    key = rng.choice(ZKEYS)
    z = model.z.get(key, {})
    count = rng.choice([1, 2, 5, 40, -3, -10])
    withscores = rng.random() < 0.5
    args = ["ZRANDMEMBER", key, str(count)] + (["WITHSCORES"] if withscores else [])
    got = r.execute_command(*args)
    if withscores:
        pairs = list(zip(got[::2], got[1::2]))
    else:
        pairs = [(x, None) for x in got]
    want_n = min(count, len(z)) if count > 0 else (-count if z else 0)
    assert len(pairs) == want_n, (ctx, args, got)
    for mem, s in pairs:
        assert mem in z, (ctx, args, got)
        if withscores:
            assert s == fmt(z[mem]), (ctx, args, got)
    if count > 0:
        assert len({mem for mem, _ in pairs}) == len(pairs), (ctx, args, got)


def check_zscan(r, model, rng, ctx):
    key = rng.choice(ZKEYS + [LEX])
    seen, cursor = {}, "0"
    for _ in range(1000):
        cursor, items = r.execute_command("ZSCAN", key, cursor, "COUNT", "3")
        for mem, s in zip(items[::2], items[1::2]):
            seen[mem] = s
        if cursor == "0":
            break
    want = {mem: fmt(s) for mem, s in model.z.get(key, {}).items()}
    assert seen == want, (ctx, key)


def run(r, seed, steps, entries, value, members):
    rng = random.Random(seed)
    model = Model(entries, value)
    r.flushall()
    r.config_set("zset-max-listpack-entries", entries)
    r.config_set("zset-max-listpack-value", value)
    r.sadd(SETKEY, *rng.sample(members, 6))
    model.sets[SETKEY] = set(r.smembers(SETKEY))
    gen = Gen(rng, model, members)
    ops = [(gen.zadd, 20), (gen.zincrby, 5), (gen.zrem, 6), (gen.zpop, 5), (gen.zmpop, 3),
           (gen.zremrange, 3), (gen.zrange, 14), (gen.zrangestore, 3), (gen.point_reads, 14),
           (gen.lex, 8), (gen.setop, 8), (gen.zintercard, 2), (gen.keyspace, 2)]
    funcs = [f for f, w in ops for _ in range(w)]
    for step in range(steps):
        ctx = f"seed={seed} step={step}"
        args, want = rng.choice(funcs)()
        try:
            got = r.execute_command(*args)
        except Exception as e:  # an error reply
            got = Err(str(e))
        if args[0] == "DEL":
            want = got  # the count is not modelled
        if isinstance(want, Err):
            assert isinstance(got, Err) and got == want, f"{ctx} {args}: {got!r} != {want!r}"
        else:
            assert not isinstance(got, Err) and got == want, \
                f"{ctx} {args}: {got!r} != {want!r}"
        if step % 7 == 0:
            key = rng.choice(ZKEYS + [LEX])
            got_enc = r.object("encoding", key)
            assert got_enc == model.enc.get(key), f"{ctx} OBJECT ENCODING {key}: {got_enc}"
            full = r.execute_command("ZRANGE", key, "0", "-1", "WITHSCORES")
            assert full == flat(order(model.z.get(key, {}))), f"{ctx} contents of {key}"
        if step % 31 == 0:
            check_zrandmember(r, model, rng, ctx)
        if step % 97 == 0:
            check_zscan(r, model, rng, ctx)
    assert r.dbsize() == len(model.z) + len(model.sets)


def seeds(default):
    s = os.environ.get("ZSET_MODEL_SEED")
    return [int(s)] if s else default


@pytest.fixture
def mr(server):
    """A client without redis-py's reply parsing, thresholds restored after."""
    c = server.client()
    c.response_callbacks.clear()
    yield c
    c.config_set("zset-max-listpack-entries", 128)
    c.config_set("zset-max-listpack-value", 64)
    c.close()


@pytest.mark.parametrize("seed", seeds([1, 2, 3]))
def test_model_small_limits(mr, seed):
    """Tight limits: sets cross the listpack/skiplist line all the time."""
    members = [f"m{i}" for i in range(20)] + ["long-member-x", "long-member-y", "a", "b", "c"]
    run(mr, seed, 2500, entries=6, value=8, members=members)


@pytest.mark.parametrize("seed", seeds([11, 12]))
def test_model_default_limits(mr, seed):
    """Redis's defaults, with enough members to pass 128 now and then."""
    members = [f"k{i}" for i in range(170)] + ["x" * 70]
    run(mr, seed, 3000, entries=128, value=64, members=members)


@pytest.mark.parametrize("seed", seeds([21]))
def test_model_always_skiplist(mr, seed):
    members = [f"m{i}" for i in range(30)]
    run(mr, seed, 1500, entries=0, value=64, members=members)
