"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: the Lua API, the
conversions between Lua and RESP2/RESP3, Redis 7.0's error texts, the
sandbox, the bundled libraries, atomicity, and scripts logged as their
effects.  Checked against redis-server too (CAIRN_TEST_SERVER=redis)."""
import hashlib
import time

import pytest
import redis

from durable import DurableServer
from waiting import block, wait_busy

SHA_RET1 = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"  # sha1("return 1")


def err_of(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def script_err(r, body, *keys_and_args, numkeys=0):
    """The error of EVAL body, with the script suffix Redis 7.0 adds
    checked and removed."""
    msg = err_of(r, "EVAL", body, numkeys, *keys_and_args)
    sha = hashlib.sha1(body.encode()).hexdigest()
    suffix = f" script: {sha}, on @user_script:1."
    assert msg.endswith(suffix), msg
    return msg[: -len(suffix)]


# --- Lua -> RESP2 --------------------------------------------------------------

def test_lua_values_to_resp2(r):
    assert r.eval("return 1", 0) == 1
    assert r.eval("return 3.99", 0) == 3          # numbers truncate
    assert r.eval("return -3.9", 0) == -3
    assert r.eval("return 'x'", 0) == "x"
    assert r.eval("return true", 0) == 1
    assert r.eval("return false", 0) is None
    assert r.eval("return nil", 0) is None
    assert r.eval("return {1, 'a', {2, 3}}", 0) == [1, "a", [2, 3]]
    # An array stops at its first nil.
    assert r.eval("return {1, 2, nil, 4}", 0) == [1, 2]
    assert r.eval("return {1, false, 3}", 0) == [1, None, 3]
    assert r.eval("return {ok='FINE'}", 0) == "FINE"
    assert r.eval("return redis.status_reply('FINE')", 0) == "FINE"
    assert r.eval("return {double=3.5}", 0) == "3.5"
    assert r.eval("return {big_number='123456789012345678901234567890'}", 0) == \
        "123456789012345678901234567890"
    assert r.eval("return {map={a=1}}", 0) == ["a", 1]
    assert r.eval("return {set={a=true}}", 0) == ["a"]
    assert r.eval("return {ok='a\\nb'}", 0) == "a b"


def test_error_tables_become_error_replies(r):
    assert err_of(r, "EVAL", "return {err='My Error'}", 0) == "My Error"
    assert err_of(r, "EVAL", "return redis.error_reply('My Error')", 0) == "My Error"
    assert err_of(r, "EVAL", "return redis.error_reply('-WRONGTYPE foo')", 0) == "WRONGTYPE foo"
    # A single word after '-' is the message, with the code ERR.
    assert err_of(r, "EVAL", "return redis.error_reply('-X')", 0) == "X"
    assert err_of(r, "EVAL", "return redis.error_reply(1)", 0) == \
        "wrong number or type of arguments"
    assert err_of(r, "EVAL", "return redis.status_reply()", 0) == \
        "wrong number or type of arguments"


# --- RESP -> Lua -----------------------------------------------------------------

def test_replies_to_lua_values(r):
    r.set("k", "v")
    assert r.eval("return redis.call('get', KEYS[1])", 1, "k") == "v"
    assert r.eval("return redis.call('get', 'nokey') == false", 0) == 1
    assert r.eval("return type(redis.call('incr', 'n'))", 0) == "number"
    assert r.eval("return redis.call('set', 'a', 'b')['ok']", 0) == "OK"
    assert r.eval("return redis.pcall('incr', 'k')['err']", 0) == \
        "ERR value is not an integer or out of range"
    r.rpush("l", "a", "b")
    assert r.eval("return redis.call('lrange', 'l', 0, -1)", 0) == ["a", "b"]
    # Blocking commands are flagged noscript in Redis 7.0.
    assert script_err(r, "return redis.call('blpop', 'nolist', 0)") == \
        "This Redis command is not allowed from script"


def test_resp3_replies_to_lua_after_setresp(r):
    r.hset("h", "a", "1")
    r.sadd("s", "m")
    r.zadd("z", {"m": 1.5})
    assert r.eval("redis.setresp(3); return redis.call('hgetall', 'h')['map']['a']", 0) == "1"
    assert r.eval("redis.setresp(3); return redis.call('smembers', 's')['set']['m']", 0) == 1
    assert r.eval("redis.setresp(3); return tostring(redis.call('zscore', 'z', 'm')['double'])",
                  0) == "1.5"
    assert r.eval("redis.setresp(3); return redis.call('get', 'nokey') == nil", 0) == 1
    # Back to RESP2 for the next script.
    assert r.eval("return redis.call('hgetall', 'h')", 0) == ["a", "1"]
    assert err_of(r, "EVAL", "return redis.setresp(4)", 0).startswith("RESP version must be 2 or 3.")


def test_lua_values_to_resp3(raw, r):
    c = raw()
    c.cmd("HELLO", "3")
    c.read_reply()
    cases = [
        ("return {double=3.5}", (",", "3.5")),
        ("return {big_number='1234567890123456789012'}", ("(", "1234567890123456789012")),
        ("return false", ("_", "")),
        ("return true", (":", "1")),
        ("redis.setresp(3); return true", ("#", "t")),
        ("redis.setresp(3); return false", ("#", "f")),
        ("return {map={a=1}}", ("%", [(("$", b"a"), (":", "1"))])),
        ("return {set={a=true}}", ("~", [("$", b"a")])),
        ("return {1, 'x'}", ("*", [(":", "1"), ("$", b"x")])),
    ]
    for body, want in cases:
        c.cmd("EVAL", body, "0")
        assert c.read_reply() == want, body


def test_keys_and_argv(r):
    assert r.eval("return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}", 2, "a", "b", "c", "d") == \
        ["a", "b", "c", "d"]
    assert r.eval("return #KEYS + #ARGV", 0) == 0
    assert err_of(r, "EVAL", "return 1", -1) == "Number of keys can't be negative"
    assert err_of(r, "EVAL", "return 1", 3, "a") == \
        "Number of keys can't be greater than number of args"
    assert err_of(r, "EVAL", "return 1", "x") == "value is not an integer or out of range"


def test_numbers_as_arguments_are_formatted_with_17_digits(r):
    r.eval("redis.call('set', 'a', 0.1); redis.call('set', 'b', 3)", 0)
    assert r.get("a") == "0.10000000000000001"
    assert r.get("b") == "3"


# --- script cache ----------------------------------------------------------------

def test_script_load_exists_evalsha_flush(r):
    r.script_flush()
    assert r.script_load("return 1") == SHA_RET1
    assert r.execute_command("SCRIPT", "EXISTS", SHA_RET1, SHA_RET1.upper(), "nope") == [1, 1, 0]
    assert r.evalsha(SHA_RET1, 0) == 1
    assert r.evalsha(SHA_RET1.upper(), 0) == 1
    assert r.eval("return redis.sha1hex('return 1')", 0) == SHA_RET1
    assert r.eval("return redis.sha1hex('')", 0) == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert r.execute_command("SCRIPT", "FLUSH", "ASYNC")
    assert r.execute_command("SCRIPT", "EXISTS", SHA_RET1) == [0]
    assert err_of(r, "EVALSHA", SHA_RET1, 0) == "No matching script. Please use EVAL."
    assert err_of(r, "EVALSHA", "abc", 0) == "No matching script. Please use EVAL."
    # EVAL caches what it runs.
    r.eval("return 1", 0)
    assert r.evalsha(SHA_RET1, 0) == 1
    assert r.execute_command("SCRIPT", "FLUSH", "SYNC")
    assert err_of(r, "SCRIPT", "FLUSH", "foo") == "SCRIPT FLUSH only support SYNC|ASYNC option"
    assert err_of(r, "SCRIPT", "KILL") == "NOTBUSY No scripts in execution right now."
    help_ = r.execute_command("SCRIPT", "HELP")
    assert help_[0].startswith("SCRIPT <subcommand>") and "LOAD <script>" in help_


def test_evalsha_noscript_error_code(raw):
    c = raw()
    c.cmd("EVALSHA", "f" * 40, "0")
    assert c.read_reply() == ("-", "NOSCRIPT No matching script. Please use EVAL.")


def test_compile_errors(r):
    assert err_of(r, "EVAL", "return x(", 0) == \
        "Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
    assert err_of(r, "SCRIPT", "LOAD", "return x(").startswith("Error compiling script")


# --- errors -----------------------------------------------------------------------

def test_runtime_errors_name_the_script_and_line(r):
    assert script_err(r, "return a") == \
        "user_script:1: Script attempted to access nonexistent global variable 'a'"
    assert script_err(r, "a = 1") == "user_script:1: Attempt to modify a readonly table"
    assert script_err(r, "error('boom')") == "user_script:1: boom"
    assert script_err(r, "error({err='CUSTOM bad'})") == "CUSTOM bad"


def test_redis_call_errors(r):
    r.set("k", "v")
    assert script_err(r, "return redis.call('incr','k')") == \
        "value is not an integer or out of range"
    assert script_err(r, "return redis.call('nosuch')") == \
        "Unknown Redis command called from script"
    assert script_err(r, "return redis.call('get')") == \
        "Wrong number of args calling Redis command from script"
    assert script_err(r, "return redis.call()") == \
        "Please specify at least one argument for this redis lib call"
    assert script_err(r, "return redis.call({})") == \
        "Lua redis lib command arguments must be strings or integers"
    # pcall returns the error instead: the reply has no script suffix.
    assert err_of(r, "EVAL", "return redis.pcall('incr','k')", 0) == \
        "value is not an integer or out of range"
    assert err_of(r, "EVAL", "return redis.pcall({})", 0) == \
        "Lua redis lib command arguments must be strings or integers"


def test_commands_flagged_noscript_are_refused(r):
    for cmd in ("'eval', 'return 1', 0", "'multi'", "'script', 'flush'", "'client', 'list'",
                "'config', 'get', 'port'"):
        assert script_err(r, f"return redis.call({cmd})") == \
            "This Redis command is not allowed from script", cmd


def test_read_only_variants_refuse_writes(r):
    r.set("k", "1")
    assert r.execute_command("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "k") == "1"
    body = "return redis.call('del', KEYS[1])"
    msg = err_of(r, "EVAL_RO", body, 1, "k")
    sha = hashlib.sha1(body.encode()).hexdigest()
    assert msg == ("Write commands are not allowed from read-only scripts. "
                   f"script: {sha}, on @user_script:1.")
    assert err_of(r, "EVALSHA_RO", sha, 1, "k") == msg
    assert r.get("k") == "1"


def test_shebang_flags(r):
    r.set("k", "1")
    assert err_of(r, "EVAL", "#!lua flags=no-writes\nreturn redis.call('del', KEYS[1])",
                  1, "k").startswith("Write commands are not allowed from read-only scripts.")
    assert err_of(r, "EVAL_RO", "#!lua\nreturn 1", 0) == \
        "Can not execute a script with write flag using *_ro command."
    assert r.execute_command("EVAL_RO", "#!lua flags=no-writes\nreturn 2", 0) == 2
    assert r.eval("#!lua flags=no-writes,allow-oom,allow-stale\nreturn 3", 0) == 3
    assert err_of(r, "EVAL", "#!lua flags=foo\nreturn 1", 0) == \
        "Unexpected flag in script shebang: foo"
    assert err_of(r, "EVAL", "#!lua foo=bar\nreturn 1", 0) == "Unknown lua shebang option: foo=bar"
    assert err_of(r, "EVAL", "#!python\nreturn 1", 0) == \
        "Unexpected engine in script shebang: #!python"
    assert err_of(r, "EVAL", "#!lua", 0) == "Invalid script shebang"
    # The shebang line counts: errors name the user's line numbers.
    body = "#!lua\nreturn a"
    sha = hashlib.sha1(body.encode()).hexdigest()
    assert err_of(r, "EVAL", body, 0) == (
        "user_script:2: Script attempted to access nonexistent global variable 'a' "
        f"script: {sha}, on @user_script:2.")


# --- the rest of the redis API ---------------------------------------------------

def test_redis_api_constants_and_helpers(r):
    assert r.eval("return redis.REDIS_VERSION", 0) == r.info("server")["redis_version"]
    assert r.eval("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, "
                  "redis.LOG_WARNING}", 0) == [0, 1, 2, 3]
    assert r.eval("return redis.log(redis.LOG_WARNING, 'hello from a test')", 0) is None
    assert script_err(r, "return redis.log(redis.LOG_WARNING)") == \
        "redis.log() requires two arguments or more."
    assert script_err(r, "return redis.log('x', 'y')") == \
        "First argument must be a number (log level)."
    assert script_err(r, "return redis.log(7, 'y')") == "Invalid debug level."
    assert r.eval("return redis.replicate_commands()", 0) == 1
    assert r.eval("redis.set_repl(redis.REPL_ALL); return 1", 0) == 1
    assert script_err(r, "return redis.set_repl(99)") == \
        "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."


def test_redis_log_writes_the_server_log_at_its_level(server_factory):
    s = server_factory("--loglevel", "notice")
    c = s.client()
    assert c.eval("redis.log(redis.LOG_WARNING, 'w-mark', 1.5, {}, 'x') return 1", 0) == 1
    c.eval("redis.log(redis.LOG_NOTICE, 'n-mark')", 0)
    c.eval("redis.log(redis.LOG_VERBOSE, 'v-mark')", 0)
    c.eval("redis.log(redis.LOG_DEBUG, 'd-mark')", 0)
    # A function library's top level may log too.
    c.function_load("#!lua name=logs\nredis.log(redis.LOG_WARNING, 'lib-mark')\n"
                    "redis.register_function('f', function() end)")
    lines = s.read_log().splitlines()
    # Redis's format: "pid:role date time.ms <level mark> message".
    assert any(ln.endswith(" # w-mark 1.5 x") for ln in lines)
    assert any(ln.endswith(" * n-mark") for ln in lines)
    assert any(ln.endswith(" # lib-mark") for ln in lines)
    assert not any("v-mark" in ln or "d-mark" in ln for ln in lines)
    c.config_set("loglevel", "debug")
    c.eval("redis.log(redis.LOG_DEBUG, 'd-mark')", 0)
    assert any(ln.endswith(" . d-mark") for ln in s.read_log().splitlines())
    c.function_flush()


def test_acl_check_cmd(server, r):
    r.execute_command("ACL", "SETUSER", "scriptuser", "on", ">pw", "+@scripting", "+set",
                      "~x*")
    c = server.client()
    try:
        c.execute_command("AUTH", "scriptuser", "pw")
        assert c.eval("return redis.acl_check_cmd('set', 'xx', 1)", 1, "xx") == 1
        # Not allowed: the command, or the key (not declared, so the
        # script itself may run).
        assert c.eval("return redis.acl_check_cmd('hset', 'xx', 'f', 1)", 1, "xx") is None
        assert c.eval("return redis.acl_check_cmd('set', 'yy', 1)", 0) is None
        # A user with every permission may do anything.
        assert r.eval("return redis.acl_check_cmd('hset', 'yy', 'f', 1)", 0) == 1
        assert script_err(r, "return redis.acl_check_cmd('nosuchcmd', 'a')") == \
            "Invalid command passed to redis.acl_check_cmd()"
        assert script_err(r, "return redis.acl_check_cmd({})") == \
            "Lua redis lib command arguments must be strings or integers"
    finally:
        c.close()
        r.execute_command("ACL", "DELUSER", "scriptuser")


def test_verbatim_string_table_to_resp(raw, r):
    body = "return {verbatim_string={format='txt', string='a verbatim'}}"
    assert r.eval(body, 0) == "a verbatim"
    c = raw()
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("EVAL", body, "0")
    assert c.read_reply() == ("=", b"txt:a verbatim")
    # Without both fields as strings it is read as an array, as in Redis.
    c.cmd("EVAL", "return {verbatim_string={format='txt'}}", "0")
    assert c.read_reply() == ("*", [])


def test_sort_by_constant_is_ordered_in_scripts(r):
    # A set sorted BY a constant has no order of its own: a script gets
    # it sorted ALPHA, as in Redis, so its reply does not depend on the
    # hash table.
    members = ["a", "b", "c", "d", "e", "f", "g", "h", "z", "aa", "aaa", "azz"]
    r.sadd("myset", *members)
    assert r.eval("return redis.call('sort', KEYS[1], 'by', '_')", 1, "myset") == sorted(members)
    assert r.eval("return redis.call('sort', KEYS[1], 'by', '_', 'get', '#', 'get', '_:*')",
                  1, "myset")[:4] == ["a", None, "aa", None]


# --- sandbox ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["os", "io", "require", "loadfile", "dofile", "print", "debug",
                                  "setfenv", "newproxy", "module", "package"])
def test_dangerous_globals_are_absent(r, name):
    assert script_err(r, f"return {name}") == \
        f"user_script:1: Script attempted to access nonexistent global variable '{name}'"


def test_globals_and_libraries_are_read_only(r):
    for body in ("string.foo = 1", "math.random = nil", "cjson.encode = nil",
                 "redis.call = nil", "local s = string; s.x = 1",
                 "getmetatable('').__index = {}"):
        assert script_err(r, body) == "user_script:1: Attempt to modify a readonly table", body
    for body in ("rawset(_G, 'x', 1)", "setmetatable(_G, {})"):
        assert script_err(r, body) == "Attempt to modify a readonly table", body
    # Nothing a script did leaks into the next one.
    assert script_err(r, "return x") == \
        "user_script:1: Script attempted to access nonexistent global variable 'x'"


def test_globals_metatable_is_read_only(r):
    # getmetatable(_G) shows the strict-globals metatable, which is read
    # only itself (a false metatable made this an index error).
    assert r.eval("return type(getmetatable(_G))", 0) == "table"
    assert script_err(r, "local g = getmetatable(_G); g.__index = {}") == \
        "user_script:1: Attempt to modify a readonly table"


def test_binary_chunks_are_refused(r):
    # Bytecode is not verified by Lua 5.1: loadstring and load give nil.
    assert script_err(r, "return loadstring(string.dump(function() return 1 end))()") == \
        "user_script:1: attempt to call a nil value"
    assert r.eval("local f, e = loadstring(string.dump(function() end)); return {f == nil, "
                  "type(e)}", 0) == [1, "string"]
    assert r.eval("local d = string.dump(function() return 1 end); local done = false\n"
                  "local f = load(function() if done then return nil end; done = true; "
                  "return d end)\nreturn f == nil", 0) == 1
    assert r.eval("local p = {'return ', '4', '2'}; local i = 0\n"
                  "return load(function() i = i + 1; return p[i] end)()", 0) == 42


def test_allowed_builtins(r):
    for name in ("loadstring", "pcall", "xpcall", "tostring", "tonumber", "unpack", "select",
                 "getmetatable", "setmetatable", "rawget", "rawequal", "ipairs", "pairs",
                 "coroutine", "gcinfo", "collectgarbage", "assert", "error", "next",
                 "type", "_G"):
        assert r.eval(f"return type({name}) ~= 'nil'", 0) == 1, name
    assert r.eval("return loadstring('return 41 + 1')()", 0) == 42


# --- libraries -------------------------------------------------------------------

def test_cjson_and_bit(r):
    assert r.eval("return cjson.encode({1, 2, 'x'})", 0) == '[1,2,"x"]'
    assert r.eval("return cjson.decode('{\"a\":[1,2]}').a[2]", 0) == 2
    assert r.eval("return bit.band(7, 3)", 0) == 3
    assert r.eval("return bit.bxor(5, 3)", 0) == 6
    assert r.eval("return bit.tohex(65535)", 0) == "0000ffff"


def test_cmsgpack_fixed_vectors(rb):
    cases = [
        ("cmsgpack.pack({1, 2, 'a'})", b"\x93\x01\x02\xa1a"),
        ("cmsgpack.pack({a=1})", b"\x81\xa1a\x01"),
        ("cmsgpack.pack(-1, 200, -200, 70000, true, false)",
         b"\xff\xcc\xc8\xd1\xff\x38\xce\x00\x01\x11\x70\xc3\xc2"),
        ("cmsgpack.pack(1.5)", b"\xca\x3f\xc0\x00\x00"),
        ("cmsgpack.pack(0.1)", b"\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a"),
        ("cmsgpack.pack(string.rep('x', 40))", b"\xd9\x28" + b"x" * 40),
        ("cmsgpack.pack({})", b"\x90"),
    ]
    for expr, want in cases:
        assert rb.eval(f"return {expr}", 0) == want, expr
    # Messages packed elsewhere decode to the same values.
    assert rb.eval("local t = cmsgpack.unpack(ARGV[1]); return {t[1], t[2], t[3]}", 0,
                   b"\x93\x01\xa3abc\xcd\x01\x00") == [1, b"abc", 256]
    assert rb.eval("local a, b, c = cmsgpack.unpack(ARGV[1]); return {a, b, c}", 0,
                   b"\x05\xd0\x80\xc3") == [5, -128, 1]
    assert rb.eval("local t = cmsgpack.unpack(ARGV[1]); return t.k", 0,
                   b"\x81\xa1k\xa2vv") == b"vv"
    assert rb.eval("local off, v = cmsgpack.unpack_one(ARGV[1]); return {off, v}", 0,
                   b"\x01\x02") == [1, 1]
    assert rb.eval("return {cmsgpack.unpack_limit(ARGV[1], 2)}", 0, b"\x01\x02\x03") == [2, 1, 2]
    with pytest.raises(redis.ResponseError, match="Missing bytes in input."):
        rb.eval("return cmsgpack.unpack(ARGV[1])", 0, b"\x92\x01")


def test_struct_fixed_vectors(rb):
    assert rb.eval("return struct.pack('>I2', 258)", 0) == b"\x01\x02"
    assert rb.eval("return struct.pack('<i4', -2)", 0) == b"\xfe\xff\xff\xff"
    assert rb.eval("return struct.pack('>d', 1.5)", 0) == b"\x3f\xf8" + b"\x00" * 6
    assert rb.eval("return struct.pack('s', 'ab')", 0) == b"ab\x00"
    assert rb.eval("return struct.pack('!4 b i4', 1, 2)", 0) == b"\x01\x00\x00\x00\x02\x00\x00\x00"
    assert rb.eval("return {struct.unpack('>I2 b', ARGV[1])}", 0, b"\x01\x02\xff") == [258, -1, 4]
    assert rb.eval("return {struct.unpack('B c0', ARGV[1])}", 0, b"\x03abcd") == [b"abc", 5]
    assert rb.eval("return struct.size('>i4 d')", 0) == 12


def test_math_random_is_available(r):
    v = r.eval("return math.random(10)", 0)
    assert 1 <= v <= 10


def test_math_random_differs_between_runs_unless_seeded(r):
    # Redis 7.0 no longer starts every EVAL from the same seed (its own
    # suite: "random numbers are random now"); an explicit seed still
    # gives the same sequence.
    body = "return tostring(math.random())"
    assert len({r.eval(body, 0) for _ in range(5)}) > 1
    body = "math.randomseed(ARGV[1]); return {tostring(math.random()), math.random(1000)}"
    assert r.eval(body, 0, 7) == r.eval(body, 0, 7)
    assert r.eval(body, 0, 7) != r.eval(body, 0, 8)


# --- atomicity -------------------------------------------------------------------

def test_eval_inside_multi(r):
    p = r.pipeline(transaction=True)
    p.set("a", "1")
    p.eval("return redis.call('incr', 'a')", 0)
    p.get("a")
    assert p.execute() == [True, 2, "2"]


def test_blocked_client_is_served_after_the_script(raw, r):
    waiter = block(r, raw, "BLPOP", "q", "5")
    # The script pushes and pops in one unit: the waiter never sees "first".
    r.eval("redis.call('rpush', 'q', 'first', 'second'); redis.call('lpop', 'q')", 0)
    assert waiter.read_reply() == ("*", [("$", b"q"), ("$", b"second")])
    assert r.llen("q") == 0


def test_expiry_is_frozen_during_a_script(r):
    r.set("pk", "v", px=50)
    # The key cannot expire between two reads of one script, however long
    # it runs.
    t0 = time.time()
    got = r.eval("local a = redis.call('get', 'pk'); "
                 "for i = 1, 30000000 do end; return {a, redis.call('get', 'pk')}", 0)
    assert time.time() - t0 > 0.06  # the key's time passed while the script ran
    assert got == ["v", "v"]


@pytest.mark.cairn_only
def test_a_script_sees_one_time(r):
    # Cairn freezes TIME for a script too (Redis freezes only expiry).
    a, b = r.eval("local a = redis.call('time'); for i = 1, 5000000 do end; "
                  "local b = redis.call('time'); return {a[1]..'.'..a[2], b[1]..'.'..b[2]}", 0)
    assert a == b


# --- logged as effects -----------------------------------------------------------

AOF = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")


@pytest.fixture
def durable(tmp_path):
    started = []

    def factory(*args):
        s = DurableServer(tmp_path / "data", *args)
        started.append(s)
        return s

    yield factory
    for s in started:
        s.stop()


def value_of(c, k):
    t = c.type(k)
    if t == b"string":
        return c.get(k)
    if t == b"list":
        return c.lrange(k, 0, -1)
    if t == b"set":
        return sorted(c.smembers(k))
    raise AssertionError(t)


def dump_all(c):
    out = {}
    for db in range(2):
        c.select(db)
        for k in c.scan_iter():
            out[(db, k)] = (c.type(k), value_of(c, k), c.pttl(k) > 0)
    c.select(0)
    return out


@pytest.mark.cairn_only
def test_script_effects_replay_to_the_same_state(durable):
    s = durable(*AOF).start()
    c = s.client(decode_responses=False)
    c.sadd("pool", *[str(i) for i in range(50)])
    body = """
    local t = redis.call('time')
    redis.call('set', 'when', t[1] .. '.' .. t[2])
    redis.call('set', 'rnd', tostring(math.random()))
    local picked = redis.call('spop', 'pool', 5)
    redis.call('rpush', 'picked', unpack(picked))
    redis.call('incrbyfloat', 'f', '1.1')
    redis.call('select', 1)
    redis.call('set', 'in1', ARGV[1], 'PX', 100000)
    return #picked
    """
    for i in range(3):
        assert c.eval(body, 0, str(i)) == 5
    before = dump_all(c)
    s.kill9()
    s.start()
    c = s.client(decode_responses=False)
    assert dump_all(c) == before


@pytest.mark.cairn_only
def test_read_only_script_logs_nothing(durable):
    import os
    s = durable(*AOF).start()
    c = s.client()
    c.set("k", "v")

    def log_bytes():
        d = os.path.join(s.dir, "appendonlydir")
        return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))

    size = log_bytes()
    assert c.eval("return redis.call('get', 'k')", 0) == "v"
    assert c.eval("redis.call('del', 'nokey'); return 1", 0) == 1  # a write that changed nothing
    assert log_bytes() == size
    c.eval("redis.call('set', 'k', 'w')", 0)
    assert log_bytes() > size


@pytest.mark.cairn_only
def test_a_failing_script_keeps_its_writes_through_a_restart(durable):
    # Like Redis, a script is not rolled back by an error: what it wrote
    # before the error stays, and is logged.
    s = durable(*AOF).start()
    c = s.client()
    with pytest.raises(redis.ResponseError):
        c.eval("redis.call('set', 'a', '1'); redis.call('incr', 'a'); "
               "redis.call('set', 'b', 'x'); redis.call('incr', 'b')", 0)
    s.kill9()
    s.start()
    c = s.client()
    assert (c.get("a"), c.get("b")) == ("2", "x")


# --- slow scripts ----------------------------------------------------------------

def run_in_thread(c, *args):
    import threading
    out = {}

    def go():
        try:
            out["reply"] = c.execute_command(*args)
        except Exception as e:  # the script's error, or the connection closing
            out["error"] = e

    t = threading.Thread(target=go)
    t.start()
    return t, out


BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."


def test_slow_script_gets_busy_and_script_kill(server_factory):
    s = server_factory("--busy-reply-threshold", "100")
    runner, other = s.client(), s.client()
    other.ping()
    body = "local i = 0 while true do i = i + 1 end"
    t, out = run_in_thread(runner, "EVAL", body, 0)
    assert wait_busy(other) in (BUSY, BUSY[5:])
    assert err_of(other, "GET", "x") in (BUSY, BUSY[5:])
    # A client that connects meanwhile is answered too.
    late = s.client()
    assert wait_busy(late, 2) in (BUSY, BUSY[5:])
    assert other.execute_command("SCRIPT", "KILL") in (True, "OK", b"OK")
    t.join(5)
    assert not t.is_alive()
    sha = hashlib.sha1(body.encode()).hexdigest()
    assert str(out["error"]) == \
        f"Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:1."
    assert other.ping()
    assert err_of(other, "SCRIPT", "KILL") == "NOTBUSY No scripts in execution right now."


def test_a_slow_script_that_wrote_cannot_be_killed(server_factory):
    s = server_factory("--busy-reply-threshold", "100")
    runner, other = s.client(), s.client()
    other.ping()
    t, out = run_in_thread(runner, "EVAL", "redis.call('set', 'x', '1') while true do end", 0)
    wait_busy(other)
    assert err_of(other, "SCRIPT", "KILL").startswith(
        "UNKILLABLE Sorry the script already executed write commands against the dataset.")
    assert err_of(other, "SHUTDOWN") in (BUSY, BUSY[5:])
    try:
        other.shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # the server went away while answering, as it should
    t.join(5)
    assert not t.is_alive() and "error" in out
    s.proc.wait(5)
    assert not s.alive()


def test_lua_time_limit_is_an_alias(server_factory):
    s = server_factory("--lua-time-limit", "1234")
    c = s.client()
    assert c.config_get("busy-reply-threshold") == {"busy-reply-threshold": "1234"}
    assert c.config_set("lua-time-limit", "500")
    assert c.config_get("busy-reply-threshold") == {"busy-reply-threshold": "500"}


def test_info_memory_reports_the_script_cache(r):
    r.script_flush()
    r.eval("return 1", 0)
    r.eval("return 2", 0)
    r.script_load("return 3")
    mem = r.info("memory")
    assert mem["number_of_cached_scripts"] == 3
    assert mem["used_memory_lua"] > 0
    r.script_flush()
    assert r.info("memory")["number_of_cached_scripts"] == 0
