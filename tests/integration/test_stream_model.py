"""Random sequences of XADD, XTRIM, XDEL, XSETID, XRANGE, XREVRANGE, XLEN
and XINFO STREAM sent to the server under test and to redis-server, reply
by reply.  IDs are explicit (or <ms>-*) so both sides generate the same;
values of varied sizes exercise both node limits, and XINFO's
radix-tree-keys checks that nodes split where Redis's do (so that
approximate trimming removes the same entries).  Bounded by count and by
time; a mismatch names its seed."""
import random
import time

from refserver import call, pair, reference  # noqa: F401  (fixture)

FIELDS = ["a", "b", "c", "temperature", "x"]


def random_id(rng, state):
    roll = rng.random()
    if roll < 0.7:
        state["ms"] += rng.choice([0, 0, 1, 2, 50])
        return f"{state['ms']}-*" if rng.random() < 0.5 else f"{state['ms']}-{rng.randrange(3)}"
    if roll < 0.8:
        return str(state["ms"] + 1)
    return f"{max(0, state['ms'] - rng.randrange(5))}-{rng.randrange(4)}"


def random_fields(rng):
    n = rng.choice([1, 1, 2, 3])
    names = FIELDS[:n] if rng.random() < 0.7 else rng.sample(FIELDS, n)
    out = []
    for f in names:
        size = rng.choice([1, 3, 10, 60, 300, 1200])
        v = str(rng.randrange(10 ** 6)) if rng.random() < 0.3 else "v" * rng.randrange(size)
        out += [f, v]
    return out


def trim_args(rng, state):
    if rng.random() < 0.5:
        args = ["MAXLEN", rng.choice(["=", "~", None]), rng.randrange(0, 400)]
    else:
        args = ["MINID", rng.choice(["=", "~", None]),
                f"{max(0, state['ms'] - rng.randrange(300))}-{rng.randrange(3)}"]
    args = [a for a in args if a is not None]
    if "~" in args and rng.random() < 0.3:
        args += ["LIMIT", rng.randrange(0, 300)]
    return args


def random_range_bound(rng, state, end):
    roll = rng.random()
    if roll < 0.15:
        return "+" if end else "-"
    base = f"{rng.randrange(state['ms'] + 2)}"
    if rng.random() < 0.5:
        base += f"-{rng.randrange(3)}"
    return ("(" + base) if rng.random() < 0.3 else base


def random_command(rng, state, key):
    roll = rng.random()
    if roll < 0.45:
        args = ["XADD", key]
        if rng.random() < 0.15:
            args += trim_args(rng, state)
        return args + [random_id(rng, state)] + random_fields(rng)
    if roll < 0.52:
        return ["XTRIM", key] + trim_args(rng, state)
    if roll < 0.62:
        ids = [f"{rng.randrange(state['ms'] + 1)}-{rng.randrange(3)}" for _ in range(rng.randrange(1, 6))]
        return ["XDEL", key] + ids
    if roll < 0.64:
        return ["XSETID", key, f"{state['ms'] + rng.randrange(3)}-{rng.randrange(3)}"]
    if roll < 0.85:
        cmd = rng.choice(["XRANGE", "XREVRANGE"])
        a, b = random_range_bound(rng, state, False), random_range_bound(rng, state, True)
        args = [cmd, key] + ([a, b] if cmd == "XRANGE" else [b, a])
        if rng.random() < 0.5:
            args += ["COUNT", rng.randrange(-1, 20)]
        return args
    if roll < 0.9:
        return ["XLEN", key]
    return ["XINFO", "STREAM", key]


def comparable(cmd, reply):
    """Redis's radix tree has inner nodes the sorted array has not."""
    if cmd[0] == "XINFO" and isinstance(reply, list):
        reply = list(reply)
        i = reply.index(b"radix-tree-nodes")
        del reply[i:i + 2]
    return reply


def test_random_stream_sequences_match_redis(server, reference):  # noqa: F811
    a, b = pair(server, reference)
    seed = int(time.time())
    rng = random.Random(seed)
    state = {"ms": 1}
    deadline = time.time() + 8
    for round_ in range(40):
        key = f"s{round_ % 3}"
        for _ in range(150):
            cmd = random_command(rng, state, key)
            got, want = call(a, *cmd), call(b, *cmd)
            assert comparable(cmd, got) == comparable(cmd, want), (seed, cmd)
        full = ["XRANGE", key, "-", "+"]
        assert call(a, *full) == call(b, *full), (seed, key)
        if time.time() > deadline:
            break
