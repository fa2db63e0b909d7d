"""Redis 7 functions: FUNCTION LOAD/DELETE/FLUSH/LIST/STATS/KILL/HELP and
FCALL/FCALL_RO, with Redis 7.0's load environment, flags and error texts,
and libraries kept across restarts.  Checked against redis-server too
(CAIRN_TEST_SERVER=redis)."""
import threading

import pytest
import redis

from durable import DurableServer, wait_no_child
from waiting import wait_busy


def lib(name, *bodies):
    return "#!lua name=%s\n%s\n" % (name, "\n".join(bodies))


def err_of(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


@pytest.fixture
def f(r):
    r.function_flush()
    yield r
    r.function_flush()


ECHO = "redis.register_function('echo', function(keys, args) return {keys, args} end)"
SETTER = "redis.register_function('setter', function(k, a) return redis.call('set', k[1], a[1]) end)"


def test_load_and_call(f):
    assert f.function_load(lib("mylib", ECHO, SETTER)) == "mylib"
    assert f.fcall("echo", 2, "k1", "k2", "a1") == [["k1", "k2"], ["a1"]]
    assert f.fcall("echo", 0) == [[], []]
    assert f.fcall("setter", 1, "x", "hello") == "OK"
    assert f.get("x") == "hello"
    # Function names are found whatever their case.
    assert f.execute_command("FCALL", "ECHO", 0) == [[], []]


def test_named_arguments_flags_and_description(f):
    code = lib("named", "redis.register_function{function_name='get_it', "
               "callback=function(k) return redis.call('get', k[1]) end, "
               "flags={'no-writes', 'allow-oom'}, description='reads a key'}", SETTER)
    f.function_load(code)
    f.set("k", "v")
    assert f.fcall_ro("get_it", 1, "k") == "v"
    assert err_of(f, "FCALL_RO", "setter", 1, "k", "w") == \
        "Can not execute a script with write flag using *_ro command."
    libs = f.function_list(withcode=True)
    assert len(libs) == 1
    entry = dict(zip(libs[0][::2], libs[0][1::2]))
    assert entry["library_name"] == "named"
    assert entry["engine"] == "LUA"
    assert entry["library_code"] == code
    funcs = {}
    for fn in entry["functions"]:
        d = dict(zip(fn[::2], fn[1::2]))
        funcs[d["name"]] = d
    assert funcs["get_it"]["description"] == "reads a key"
    assert sorted(funcs["get_it"]["flags"]) == ["allow-oom", "no-writes"]
    assert funcs["setter"]["description"] is None
    assert funcs["setter"]["flags"] == []


def test_no_writes_function_cannot_write(f):
    f.function_load(lib("ro", "redis.register_function{function_name='sneaky', "
                        "callback=function(k) return redis.call('set', k[1], 'v') end, "
                        "flags={'no-writes'}}"))
    for cmd in ("FCALL", "FCALL_RO"):
        assert err_of(f, cmd, "sneaky", 1, "x") == \
            "Write commands are not allowed from read-only scripts. script: sneaky, " \
            "on @user_function:2."
    assert f.exists("x") == 0


LOAD_ERRORS = [
    ("redis.register_function()",
     "Error registering functions: ERR wrong number of arguments to redis.register_function"),
    ("redis.register_function('a b', function() end)",
     "Error registering functions: ERR Library names can only contain letters, numbers, or "
     "underscores(_) and must be at least one character long"),
    ("redis.call('set', 'x', 'y')",
     "Error registering functions: ERR user_function:2: Script attempted to access "
     "nonexistent global variable 'call'"),
    ("local t = tostring(1)",
     "Error registering functions: ERR user_function:2: Script attempted to access "
     "nonexistent global variable 'tostring'"),
    ("x = 5", "Error registering functions: ERR user_function:2: Attempt to modify a readonly table"),
    ("local a = nil + 1",
     "Error registering functions: ERR user_function:2: attempt to perform arithmetic on a nil "
     "value"),
    ("local a = (", "Error compiling function: user_function:3: unexpected symbol near '<eof>'"),
    ("redis.register_function{function_name='f', callback=function() end, flags={'bogus'}}",
     "Error registering functions: ERR unknown flag given"),
    ("redis.register_function{function_name='f'}",
     "Error registering functions: ERR redis.register_function must get a callback argument"),
    ("redis.register_function('f', function() end)\nredis.register_function('f', function() end)",
     "Error registering functions: ERR Function already exists in the library"),
    ("local x = 1", "No functions registered"),
    ("local i = 0 while true do i = i + 1 end",
     "Error registering functions: ERR FUNCTION LOAD timeout"),
]


@pytest.mark.parametrize("body,error", LOAD_ERRORS)
def test_load_errors(f, body, error):
    assert err_of(f, "FUNCTION", "LOAD", lib("bad", body)) == error
    assert f.function_list() == []


@pytest.mark.parametrize("code,error", [
    ("redis.register_function('k', function() end)", "Missing library metadata"),
    ("#!lua", "Invalid library metadata"),
    ("#!lua\nredis.register_function('k', function() end)", "Library name was not given"),
    ("#!lua name=a foo=bar\nx", "Invalid metadata value given: foo=bar"),
    ("#!lua name=a name=b\nx", "Invalid metadata value, name argument was given multiple times"),
    ("#!js name=a\nx", "Engine 'js' not found"),
    # The engine is what follows "#!" up to the first space: here none.
    ("#! name=a\nx", "Engine '' not found"),
    ("#!lua name=a-b\nx", "Library names can only contain letters, numbers, or underscores(_) "
     "and must be at least one character long"),
])
def test_metadata_errors(f, code, error):
    assert err_of(f, "FUNCTION", "LOAD", code) == error


def test_replace_delete_and_conflicts(f):
    f.function_load(lib("one", "redis.register_function('g', function() return 1 end)"))
    assert err_of(f, "FUNCTION", "LOAD", lib("one", "redis.register_function('g', "
                                                    "function() return 2 end)")) == \
        "Library 'one' already exists"
    f.function_load(lib("one", "redis.register_function('g', function() return 2 end)"),
                    replace=True)
    assert f.fcall("g", 0) == 2
    # Another library may not take a function name, whatever its case.
    assert err_of(f, "FUNCTION", "LOAD", lib("two", "redis.register_function('G', "
                                                    "function() end)")) == \
        "Function G already exists"
    # A failed replace leaves the old library in place.
    assert err_of(f, "FUNCTION", "LOAD", "REPLACE", lib("one", "local x = 1")) == \
        "No functions registered"
    assert f.fcall("g", 0) == 2
    # Replacing drops the functions the new code no longer registers.
    f.function_load(lib("one", "redis.register_function('h', function() return 3 end)"),
                    replace=True)
    assert err_of(f, "FCALL", "g", 0) == "Function not found"
    assert f.fcall("h", 0) == 3
    assert err_of(f, "FUNCTION", "DELETE", "nope") == "Library not found"
    assert f.function_delete("one") in (True, "OK")
    assert err_of(f, "FCALL", "h", 0) == "Function not found"
    assert err_of(f, "FUNCTION", "LOAD", "BOGUS", lib("x", ECHO)) == "Unknown option given: BOGUS"


def test_fcall_errors(f):
    f.function_load(lib("e", ECHO))
    assert err_of(f, "FCALL", "nope", 0) == "Function not found"
    assert err_of(f, "FCALL", "echo", "x") == "Bad number of keys provided"
    assert err_of(f, "FCALL", "echo", 2, "a") == \
        "Number of keys can't be greater than number of args"
    assert err_of(f, "FCALL", "echo", -1) == "Number of keys can't be negative"
    f.function_load(lib("api", "redis.register_function('again', function() "
                               "return redis.register_function('z', function() end) end)"))
    assert err_of(f, "FCALL", "again", 0) == \
        "user_function:2: attempt to call field 'register_function' (a nil value) " \
        "script: again, on @user_function:2."


def test_list_filters(f):
    f.function_load(lib("alpha", "redis.register_function('a1', function() end)"))
    f.function_load(lib("beta", "redis.register_function('b1', function() end)"))
    names = lambda libs: sorted(dict(zip(x[::2], x[1::2]))["library_name"] for x in libs)
    assert names(f.function_list()) == ["alpha", "beta"]
    assert names(f.function_list(library="AL*")) == ["alpha"]  # no regard to case
    assert names(f.function_list(library="gamma")) == []
    assert "library_code" not in f.function_list()[0]
    assert err_of(f, "FUNCTION", "LIST", "foo") == "Unknown argument foo"
    assert err_of(f, "FUNCTION", "LIST", "LIBRARYNAME") == "library name argument was not given"


def test_flush_stats_and_flushall(f):
    f.function_load(lib("s1", ECHO, SETTER))
    f.function_load(lib("s2", "redis.register_function('x1', function() end)"))
    stats = f.function_stats()
    assert stats[0] == "running_script" and stats[1] is None
    engines = stats[3]
    assert engines[0] == "LUA"
    assert engines[1] == ["libraries_count", 2, "functions_count", 3]
    f.flushall()  # the dataset's keys go, libraries stay
    assert f.fcall("echo", 0) == [[], []]
    assert err_of(f, "FUNCTION", "FLUSH", "bad") == "FUNCTION FLUSH only supports SYNC|ASYNC option"
    assert err_of(f, "FUNCTION", "FLUSH", "SYNC", "extra") == \
        "unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP."
    assert f.function_flush("SYNC") in (True, "OK")
    assert f.function_list() == []
    assert f.function_stats()[3][1] == ["libraries_count", 0, "functions_count", 0]


BUSY_FN = "Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
BUSY_EVAL = "Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."


def test_slow_function_busy_stats_and_kill(server_factory):
    s = server_factory("--busy-reply-threshold", "100")
    runner, other = s.client(), s.client()
    other.function_flush()
    other.function_load(lib("slow", "redis.register_function('spin', function() "
                                    "while true do end end)"))
    out = {}

    def go():
        try:
            out["reply"] = runner.fcall("spin", 0)
        except Exception as e:
            out["error"] = e

    t = threading.Thread(target=go)
    t.start()
    assert wait_busy(other).endswith(BUSY_FN)
    stats = other.function_stats()
    running = dict(zip(stats[1][::2], stats[1][1::2]))
    assert running["name"] == "spin"
    assert running["command"] == ["FCALL", "spin", "0"]  # as the client sent it
    assert running["duration_ms"] >= 0
    assert err_of(other, "SCRIPT", "KILL").endswith(BUSY_FN)
    assert other.execute_command("FUNCTION", "KILL") in (True, "OK")
    t.join(5)
    assert not t.is_alive()
    assert str(out["error"]) == \
        "Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."
    assert err_of(other, "FUNCTION", "KILL") == "NOTBUSY No scripts in execution right now."
    other.function_flush()


def test_function_kill_refuses_an_eval(server_factory):
    s = server_factory("--busy-reply-threshold", "100")
    runner, other = s.client(), s.client()
    other.ping()
    t = threading.Thread(target=lambda: pytest.raises(redis.ResponseError, runner.eval,
                                                      "while true do end", 0))
    t.start()
    assert wait_busy(other).endswith(BUSY_EVAL)
    assert err_of(other, "FUNCTION", "KILL").endswith(BUSY_EVAL)
    other.script_kill()
    t.join(5)
    assert not t.is_alive()


def test_help(f):
    lines = f.execute_command("FUNCTION", "HELP")
    assert lines[0].startswith("FUNCTION <subcommand>")
    assert "LOAD [REPLACE] <FUNCTION CODE>" in lines


# --- libraries are dataset: they survive restarts -----------------------------------

AOF = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")


@pytest.mark.cairn_only
def test_libraries_survive_restart_from_the_log_and_a_rewrite(tmp_path):
    s = DurableServer(tmp_path / "data", *AOF).start()
    try:
        c = s.client()
        c.function_load(lib("kept", ECHO))
        c.function_load(lib("gone", "redis.register_function('tmp', function() end)"))
        c.function_load(lib("kept", ECHO, SETTER), replace=True)
        c.function_delete("gone")
        s.kill9()
        s.start()
        c = s.client()
        assert c.fcall("setter", 1, "k", "v") == "OK"
        assert err_of(c, "FCALL", "tmp", 0) == "Function not found"
        # A rewrite puts the libraries into the new base snapshot.
        c.bgrewriteaof()
        wait_no_child(c)
        s.kill9()
        s.start()
        c = s.client()
        assert c.fcall("echo", 1, "a") == [["a"], []]
        libs = c.function_list()
        assert len(libs) == 1 and dict(zip(libs[0][::2], libs[0][1::2]))["library_name"] == "kept"
    finally:
        s.stop()


@pytest.mark.cairn_only
def test_libraries_survive_restart_from_a_snapshot(tmp_path):
    s = DurableServer(tmp_path / "data", "--appendonly", "no").start()
    try:
        c = s.client()
        c.function_load(lib("snap", ECHO))
        c.save()
        s.stop()
        s.start()
        assert s.client().fcall("echo", 0) == [[], []]
    finally:
        s.stop()
