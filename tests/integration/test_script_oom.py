"""Scripts and functions over maxmemory, as Redis 7.0: a script that
declares it may write (a shebang without no-writes or allow-oom, or any
function without those flags) is refused before it runs; a script without
a shebang runs, and its first command that may grow memory is refused
unless it already wrote.  Checked against redis-server too
(CAIRN_TEST_SERVER=redis)."""
import hashlib

import pytest
import redis

OOM = "OOM command not allowed when used memory > 'maxmemory'."

LIB = """#!lua name=oomlib
redis.register_function('w', function(k) return redis.call('set', k[1], 'v') end)
redis.register_function{function_name='ao', callback=function(k)
  return redis.call('set', k[1], 'v') end, flags={'allow-oom'}}
redis.register_function{function_name='nw', callback=function(k)
  return redis.call('get', k[1]) end, flags={'no-writes'}}
"""


def err_of(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def suffix(body, line):
    return " script: %s, on @user_script:%d." % (hashlib.sha1(body.encode()).hexdigest(), line)


@pytest.fixture
def full(server_factory):
    """A client of a server whose memory is over maxmemory (noeviction)."""
    s = server_factory()
    c = s.client()
    c.set("x", "1")
    c.function_load(LIB)
    c.config_set("maxmemory", "1")
    yield c
    c.config_set("maxmemory", "0")


def test_script_without_shebang_refused_at_its_first_growing_command(full):
    body = "return redis.call('set', KEYS[1], 'v')"
    assert err_of(full, "EVAL", body, 1, "a") == OOM + suffix(body, 1)
    # pcall hands the error to the script.
    assert err_of(full, "EVAL", "return redis.pcall('set', KEYS[1], 'v')", 1, "a") == OOM
    body = "return redis.call('incr', 'x')"
    assert err_of(full, "EVAL", body, 0) == OOM + suffix(body, 1)
    # Commands that do not grow memory run, reads too.
    assert full.eval("return redis.call('expire', 'x', 100)", 0) == 1
    assert full.eval("return redis.call('get', KEYS[1])", 1, "x") == "1"
    # Once it wrote, a script is not stopped half way.
    assert full.eval("redis.call('del', 'zz'); return redis.call('set', KEYS[1], 'v')", 1,
                     "a") == "OK"
    assert full.get("a") == "v"


def test_script_with_shebang_refused_before_it_runs(full):
    assert err_of(full, "EVAL", "#!lua\nreturn redis.call('get', KEYS[1])", 1, "x") == OOM
    assert err_of(full, "EVAL", "#!lua\nreturn redis.call('set', KEYS[1], 'v')", 1, "a") == OOM
    assert err_of(full, "EVAL_RO", "#!lua\nreturn 1", 0) == OOM
    sha = full.script_load("#!lua\nreturn 1")
    assert err_of(full, "EVALSHA", sha, 0) == OOM
    assert err_of(full, "EVALSHA", "a" * 40, 0) == "No matching script. Please use EVAL."
    assert full.eval("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", 1, "x") == "1"
    assert full.eval("#!lua flags=allow-oom\nreturn redis.call('set', KEYS[1], 'v')", 1,
                     "b") == "OK"
    body = "#!lua flags=allow-oom,no-writes\nreturn redis.call('set', KEYS[1], 'v')"
    assert err_of(full, "EVAL", body, 1, "a") == \
        "Write commands are not allowed from read-only scripts." + suffix(body, 2)
    assert err_of(full, "EVAL", "#!lua flags=bogus\nreturn 1", 0) == \
        "Unexpected flag in script shebang: bogus"


def test_functions_follow_their_flags(full):
    assert err_of(full, "FCALL", "w", 1, "c") == OOM
    assert err_of(full, "FCALL_RO", "w", 1, "c") == OOM
    assert full.fcall("ao", 1, "c") == "OK"
    assert full.fcall("nw", 1, "x") == "1"
    assert full.fcall_ro("nw", 1, "x") == "1"


def test_refusals_count_as_rejected_calls(full):
    full.config_resetstat()
    err_of(full, "EVAL", "#!lua\nreturn 1", 0)
    err_of(full, "FCALL", "w", 1, "c")
    err_of(full, "EVAL", "return redis.call('set', KEYS[1], 'v')", 1, "a")
    stats = full.info("commandstats")
    assert stats["cmdstat_eval"]["rejected_calls"] == 1
    assert stats["cmdstat_eval"]["failed_calls"] == 1
    assert stats["cmdstat_fcall"]["rejected_calls"] == 1
    assert stats["cmdstat_set"]["rejected_calls"] == 1
    oom = full.info("errorstats")["errorstat_OOM"]
    assert (oom["count"] if isinstance(oom, dict) else int(oom.split("=")[1])) == 3
