"""The follower proxy's own exactly-once sessions (docs/replication.md,
"Writes through a follower").

Cairn-only (Redis has no consensus replication).  Clients connected to a
follower write through it while the leader is killed (SIGKILL) and while
it is paused (SIGSTOP): the follower sends the writes that were in flight
again, under the same session and number, to the new leader, so every
client gets its real reply, and every increment is applied exactly once.
"""
import signal
import threading
import time

import pytest
import redis

from raftgroup import group  # noqa: F401 (fixture)
from raftgroup import Group, close_checked, followers, wait_for

pytestmark = pytest.mark.cairn_only


class Incrementer:
    """Clients of one node INCR one counter until stopped, recording each
    reply (the counter's value after that increment) and each error."""

    def __init__(self, node, clients=4):
        self.node = node
        self.replies = []
        self.errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.go = threading.Event()
        self.go.set()
        self.busy = 0
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def run(self):
        with self.node.client(socket_timeout=30) as c:
            while not self.stop.is_set():
                if not self.go.wait(0.1):
                    continue
                with self.lock:
                    self.busy += 1
                try:
                    v = c.incr("n")
                except (redis.RedisError, OSError) as e:
                    with self.lock:
                        self.errors.append(repr(e))
                        self.busy -= 1
                    time.sleep(0.01)
                    continue
                with self.lock:
                    self.replies.append(v)
                    self.busy -= 1

    def pause(self):
        """No write in flight until resume()."""
        self.go.clear()
        wait_for("the writes in flight", lambda: self.busy == 0)

    def resume(self):
        self.go.set()

    def count(self):
        with self.lock:
            return len(self.replies)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)


def lead_elsewhere(group, avoid):
    """Make a node other than avoid lead (avoid's clients then forward)."""
    lead = group.leader(timeout=10)
    if lead.id == avoid.id:
        target = next(n for n in group.nodes if n.id != avoid.id and n.alive())
        with lead.client() as c:
            c.execute_command("RAFT", "TRANSFER-LEADER", target.id)
        wait_for("the transfer", lambda: group.leader(timeout=5).id == target.id)
        lead = target
    return lead


def wait_progress(inc, more):
    start = inc.count()
    wait_for("writes through the follower", lambda: inc.count() >= start + more, timeout=30)


def test_writes_through_a_follower_survive_leader_faults(group):
    lead = group.leader()
    fol = followers(group, lead)[0]
    inc = Incrementer(fol)
    try:
        wait_progress(inc, 50)
        # the leader dies with forwarded writes in flight
        lead.kill()
        wait_progress(inc, 50)
        lead.start()
        # If the follower was elected, leadership moves away from it with no
        # write in flight (a leader that loses leadership closes the
        # connections of its own writes in flight: not the proxy's case).
        inc.pause()
        lead = lead_elsewhere(group, fol)
        inc.resume()
        # the leader pauses: the others elect a new one meanwhile
        wait_progress(inc, 50)
        lead.proc.send_signal(signal.SIGSTOP)
        try:
            wait_for("a new leader", lambda: group.leader(timeout=5, exclude=(lead.id,)))
            wait_progress(inc, 50)
        finally:
            lead.proc.send_signal(signal.SIGCONT)
        wait_progress(inc, 50)
    finally:
        inc.join()
    # Refused while no node led, or while the follower itself led and
    # handed leadership over (not run: what any client of a group sees
    # then) is fine; an outcome left unknown is not.
    refused = ("CLUSTERDOWN The cluster is down", "TRYAGAIN Leadership is being transferred")
    assert [e for e in inc.errors if not any(r in e for r in refused)] == []
    # each reply is the counter after one increment: exactly 1..N, none
    # missing (an increment applied twice would leave a value no client saw)
    assert sorted(inc.replies) == list(range(1, len(inc.replies) + 1))
    digest = group.wait_same_digest(group.nodes)
    assert digest != "0" * 40
    for n in group.nodes:
        with n.client() as c:
            wait_for("the counter", lambda c=c: int(c.get("n")) == len(inc.replies))


PUSH = "redis.call('incr', KEYS[1]) return redis.call('lpush', KEYS[2], ARGV[1])"
LIB = ("#!lua name=lib\n"
       "redis.register_function('bump', function(keys) return redis.call('incrby', keys[1], 10) end)\n"
       "redis.register_function{function_name='peek', flags={'no-writes'},\n"
       "  callback=function(keys) return redis.call('get', keys[1]) end}")


def calls(node, cmd):
    """How many times node ran cmd (INFO commandstats), 0 if never."""
    with node.client() as c:
        return c.info("commandstats").get(f"cmdstat_{cmd}", {}).get("calls", 0)


def libraries(node):
    """The names of the function libraries node holds."""
    with node.client() as c:
        return [lib[1] for lib in c.function_list()]


def test_scripts_through_a_follower(group):
    """A script that may write runs on the leader only: a follower forwards
    EVAL, EVALSHA (as EVAL with the script from its own cache) and FCALL
    as writes, in a transaction too (before, it ran them itself and its
    dataset parted from the others')."""
    lead = group.leader()
    fol, other = followers(group, lead)
    with fol.client() as c:
        assert c.eval(PUSH, 2, "n", "l", "a") == 1
        sha = c.script_load(PUSH)
        assert c.evalsha(sha, 2, "n", "l", "b") == 2
        assert c.eval("#!lua\nreturn redis.call('set', KEYS[1], 'x')", 1, "s") == "OK"
        with pytest.raises(redis.ResponseError, match="Write commands are not allowed"):
            c.eval("#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'y')", 1, "s")
        assert c.function_load(LIB) == "lib"
        assert c.fcall("bump", 1, "n") == 12
        # functions are data: every node's change as the leader's
        dump = c.function_dump()
        assert c.function_delete("lib")
        wait_for("the library deleted", lambda: not any(map(libraries, group.nodes)))
        assert c.function_restore(dump)
        p = c.pipeline()
        p.eval(PUSH, 2, "n", "l", "c").evalsha(sha, 2, "n", "l", "d").get("n")
        assert p.execute() == [3, 4, "14"]
    for node in (lead, other, fol):
        with node.client() as c:
            wait_for("the writes applied", lambda c=c: c.get("n") == "14")
            assert c.lrange("l", 0, -1) == ["d", "c", "b", "a"] and c.get("s") == "x"
        assert libraries(node) == ["lib"]
    group.wait_same_digest(group.nodes)


def test_read_only_scripts_run_on_the_follower(group):
    """EVAL_RO, a no-writes shebang and FCALL of a no-writes function run
    on the follower itself: the leader never sees them."""
    lead = group.leader()
    fol, _ = followers(group, lead)
    with fol.client() as c:
        c.set("k", "v")
        c.function_load(LIB)
        wait_for("the function", lambda: c.fcall_ro("peek", 1, "k") == "v")
        sha = c.script_load("return redis.call('get', KEYS[1])")
        assert c.eval_ro("return redis.call('get', KEYS[1])", 1, "k") == "v"
        assert c.evalsha_ro(sha, 1, "k") == "v"
        assert c.eval("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", 1, "k") == "v"
        assert c.fcall("peek", 1, "k") == "v"
    for cmd in ("eval", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"):
        assert calls(lead, cmd) == 0, cmd
    assert calls(fol, "eval") == 1 and calls(fol, "fcall") == 1


def test_evalsha_through_a_follower_survives_a_leader_change(group):
    """SCRIPT LOAD is the follower's own: its EVALSHA goes to the leader
    with the script, so a leader that never saw the script runs it, after a
    leader change too.  A digest the follower does not know answers
    NOSCRIPT there, as Redis, even if the leader knows it."""
    lead = group.leader()
    fol, other = followers(group, lead)
    with fol.client() as c, lead.client() as cl, other.client() as co:
        sha = c.script_load(PUSH)
        assert cl.script_exists(sha) == [False] and co.script_exists(sha) == [False]
        assert c.evalsha(sha, 2, "n", "l", "a") == 1
        assert cl.execute_command("RAFT", "TRANSFER-LEADER", other.id) == "OK"
        wait_for("the transfer", lambda: group.leader(timeout=5).id == other.id)
        assert co.script_exists(sha) == [False]
        assert c.evalsha(sha, 2, "n", "l", "b") == 2
        t = c.pipeline()
        t.evalsha(sha, 2, "n", "l", "c")
        assert t.execute() == [3]
        only_leader = co.script_load("return redis.call('incr', KEYS[1])")
        with pytest.raises(redis.exceptions.NoScriptError):
            c.evalsha(only_leader, 1, "n")
        c.script_flush()
        with pytest.raises(redis.exceptions.NoScriptError):
            c.evalsha(sha, 2, "n", "l", "d")
        # redis-py's Script object: EVALSHA, then EVAL on NOSCRIPT
        assert c.register_script(PUSH)(keys=["n", "l"], args=["e"]) == 4
        # WATCH pins the client to the leader: its EVALSHA goes with the
        # script too
        co.script_flush()
        with c.pipeline() as p:
            p.watch("n")
            p.multi()
            p.evalsha(sha, 2, "n", "l", "f")
            assert p.execute() == [5]
    group.wait_same_digest(group.nodes)
    with lead.client() as c:
        assert c.lrange("l", 0, -1) == ["f", "e", "c", "b", "a"]


def test_script_writes_refused_on_a_follower_that_does_not_forward():
    """raft-follower-proxy no: a follower runs a script that may write, as a
    Redis replica does, and refuses its writes with Redis's error; a
    script that declares writes is refused before it runs."""
    g = Group(3, extra_args=("--raft-follower-proxy", "no"))
    try:
        lead = g.leader()
        fol, _ = followers(g, lead)
        with lead.client() as c:
            c.set("k", "v")
            c.function_load(LIB)
        g.wait_applied(g.nodes)
        with fol.client() as c:
            ro = "READONLY You can't write against a read only replica."
            with pytest.raises(redis.exceptions.ReadOnlyError) as e:
                c.eval("return redis.call('set', KEYS[1], 'x')", 1, "k")
            assert str(e.value).startswith(ro[9:] + " script: ")
            with pytest.raises(redis.exceptions.ReadOnlyError) as e:
                c.eval("return redis.pcall('set', KEYS[1], 'x')", 1, "k")
            assert str(e.value) == ro[9:]
            assert c.eval("return redis.call('get', KEYS[1])", 1, "k") == "v"
            for run in (lambda: c.eval("#!lua\nreturn redis.call('set', KEYS[1], 'x')", 1, "k"),
                        lambda: c.fcall("bump", 1, "k")):
                with pytest.raises(redis.exceptions.ReadOnlyError) as e:
                    run()
                assert str(e.value) == ro[9:]
            assert c.fcall("peek", 1, "k") == "v"
            p = c.pipeline()
            p.eval("return redis.call('set', KEYS[1], 'x')", 1, "k")
            with pytest.raises(redis.exceptions.ReadOnlyError):
                p.execute()
            assert c.get("k") == "v"
        g.wait_same_digest(g.nodes)
    finally:
        close_checked(g)
