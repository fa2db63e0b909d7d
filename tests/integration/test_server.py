"""Server introspection and control: INFO, COMMAND, DEBUG, SHUTDOWN.

Every assertion holds for redis-server 7.0 too (CAIRN_TEST_SERVER=redis),
except in tests marked cairn_only.
"""
import re
import socket
import time

import pytest
import redis

from conftest import wait_for


def error_of(client, *args):
    """The message of the error reply to args, as redis-py reports it
    (for -ERR replies without the "ERR " prefix)."""
    with pytest.raises(redis.ResponseError) as exc:
        client.execute_command(*args)
    return str(exc.value)


def pairs(flat):
    """A RESP2 map (flat list) as a dict."""
    return dict(zip(flat[::2], flat[1::2]))



def headers(text):
    return [line[2:] for line in text.split("\r\n") if line.startswith("# ")]


def raw_exec(r, *args):
    """The reply to args as redis-py reads it, without its reply callbacks."""
    conn = r.connection_pool.get_connection(args[0])
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        r.connection_pool.release(conn)


def raw_info(r, *sections):
    """INFO as text, without redis-py's parsing."""
    return raw_exec(r, "INFO", *sections)


# --- INFO: sections -------------------------------------------------------------

DEFAULT_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication",
                    "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"]


def test_info_default_sections(r):
    assert headers(raw_info(r)) == DEFAULT_SECTIONS
    assert headers(raw_info(r, "default")) == DEFAULT_SECTIONS


@pytest.mark.parametrize("arg", ["all", "everything", "ALL"])
def test_info_all_sections(r, arg):
    h = headers(raw_info(r, arg))
    assert h[:7] == DEFAULT_SECTIONS[:7]
    for extra in ("Commandstats", "Latencystats", "Errorstats", "Keyspace"):
        assert extra in h


def test_info_one_and_several_sections(r):
    assert headers(raw_info(r, "server")) == ["Server"]
    assert headers(raw_info(r, "KEYSPACE")) == ["Keyspace"]
    # Several sections come in Redis's fixed order, whatever the order asked.
    assert headers(raw_info(r, "keyspace", "server", "stats")) == ["Server", "Stats", "Keyspace"]
    assert headers(raw_info(r, "default", "commandstats")) == (
        DEFAULT_SECTIONS[:8] + ["Commandstats"] + DEFAULT_SECTIONS[8:])


def test_info_unknown_section_is_empty(r):
    assert raw_info(r, "nosuchsection") == ""


def test_info_text_format(r):
    text = raw_info(r, "server", "clients")
    # Lines end in CRLF and sections are separated by one empty line.
    assert text.startswith("# Server\r\n")
    assert "\r\n\r\n# Clients\r\n" in text
    assert text.endswith("\r\n") and not text.endswith("\r\n\r\n")
    for line in text.split("\r\n"):
        assert line == "" or line.startswith("# ") or re.match(r"^[a-z0-9_]+:", line), line


def test_info_reply_types(raw):
    c = raw()
    c.cmd("INFO", "server")
    t, body = c.read_reply()
    assert t == "$" and body.startswith(b"# Server\r\n")
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("INFO", "server")
    t, body = c.read_reply()
    assert t == "=" and body.startswith(b"txt:# Server\r\n")
    c.cmd("INFO", "nosuchsection")
    assert c.read_reply() == ("=", b"txt:")


# --- INFO: fields -------------------------------------------------------------

def test_info_server_fields(r, server):
    info = r.info("server")
    assert str(info["redis_version"]).startswith("7.")
    assert info["redis_mode"] == "standalone"
    assert info["tcp_port"] == server.port
    assert info["process_id"] == server.pid
    assert info["arch_bits"] == 64
    assert re.fullmatch(r"[0-9a-f]{40}", info["run_id"])
    assert info["hz"] >= 1 and info["configured_hz"] >= 1
    assert abs(info["server_time_usec"] / 1e6 - time.time()) < 60
    assert info["lru_clock"] > 0
    for field in ("os", "multiplexing_api", "executable", "config_file"):
        assert field in info
    # The run id is fixed for the life of the process.
    assert r.info("server")["run_id"] == info["run_id"]


def test_info_server_uptime(server_factory):
    started = time.time()
    s = server_factory()
    c = s.client()
    try:
        time.sleep(1.1)
        info = c.info("server")
        assert 1 <= info["uptime_in_seconds"] <= time.time() - started + 1
        assert info["uptime_in_days"] == 0
    finally:
        c.close()


@pytest.mark.cairn_only
def test_info_server_cairn_version(r):
    assert r.info("server")["redis_version"] == "7.0.15"
    assert r.info("server")["cairn_version"] == "0.1.0"


def test_info_clients(r, server):
    before = r.info("clients")
    assert before["connected_clients"] >= 1
    assert before["maxclients"] == 10000
    assert before["blocked_clients"] == 0
    other = server.client()
    other.ping()
    try:
        assert r.info("clients")["connected_clients"] == before["connected_clients"] + 1
    finally:
        other.connection_pool.disconnect()
    assert wait_for(lambda: r.info("clients")["connected_clients"] == before["connected_clients"])


def allocator_reports(info):
    """False under the sanitizers, where libc's mallinfo2 reports nothing."""
    return not (info["mem_allocator"] == "libc" and info["used_memory"] == 0)


def test_info_memory(r):
    info = r.info("memory")
    assert info["used_memory"] > 0 or not allocator_reports(info)
    assert re.fullmatch(r"[0-9.]+[BKMGTP]", info["used_memory_human"])
    assert info["used_memory_peak"] >= info["used_memory"]
    assert "used_memory_peak_human" in info
    assert info["used_memory_rss"] > 0
    assert info["maxmemory"] == 0
    assert info["maxmemory_human"] == "0B"
    assert info["maxmemory_policy"] == "noeviction"
    assert info["mem_allocator"]


def test_info_memory_grows_with_data(r):
    info = r.info("memory")
    if not allocator_reports(info):
        pytest.skip("the allocator does not report usage in this build")
    before = info["used_memory"]
    for i in range(200):
        r.set(f"k{i}", "x" * 5000)
    assert r.info("memory")["used_memory"] > before + 900_000


def test_info_persistence(r):
    info = r.info("persistence")
    assert info["loading"] == 0
    assert info["rdb_bgsave_in_progress"] == 0
    assert info["aof_enabled"] == 0
    before = info["rdb_changes_since_last_save"]
    r.set("a", 1)
    r.set("b", 2)
    r.get("a")  # reads are not changes
    assert r.info("persistence")["rdb_changes_since_last_save"] == before + 2


def test_info_keyspace(r):
    assert r.info("keyspace") == {}
    r.set("a", 1)
    r.set("b", 2)
    r.expire("b", 100)
    ks = r.info("keyspace")
    assert list(ks) == ["db0"]
    assert ks["db0"]["keys"] == 2
    assert ks["db0"]["expires"] == 1
    assert "avg_ttl" in ks["db0"]
    r.execute_command("SELECT", 3)
    try:
        r.set("c", 3)
        ks = r.info("keyspace")
        assert list(ks) == ["db0", "db3"]
        assert ks["db3"] == {"keys": 1, "expires": 0, "avg_ttl": 0}
    finally:
        r.execute_command("SELECT", 0)
    r.flushall()
    assert r.info("keyspace") == {}


def test_info_keyspace_raw_line(r):
    r.set("a", 1)
    assert raw_info(r, "keyspace") == "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"


def test_info_stats_commands_processed(r):
    before = r.info("stats")["total_commands_processed"]
    r.set("a", 1)
    r.get("a")
    r.ping()
    # The INFO that read `before` counts too (after it ran).
    assert r.info("stats")["total_commands_processed"] == before + 4


def test_info_stats_hits_and_misses(r):
    s0 = r.info("stats")
    r.set("a", 1)
    r.get("a")
    r.get("a")
    r.get("missing")
    s1 = r.info("stats")
    assert s1["keyspace_hits"] == s0["keyspace_hits"] + 2
    assert s1["keyspace_misses"] == s0["keyspace_misses"] + 1


def test_info_stats_expired_keys(r):
    before = r.info("stats")["expired_keys"]
    r.set("a", 1, px=1)
    time.sleep(0.01)
    assert r.get("a") is None
    assert r.info("stats")["expired_keys"] == before + 1


def test_info_stats_connections_and_bytes(r, server):
    s0 = r.info("stats")
    other = server.client()
    other.ping()
    other.close()
    s1 = r.info("stats")
    assert s1["total_connections_received"] == s0["total_connections_received"] + 1
    assert s1["total_net_input_bytes"] > s0["total_net_input_bytes"]
    assert s1["total_net_output_bytes"] > s0["total_net_output_bytes"]
    assert s1["rejected_connections"] == 0
    assert "instantaneous_ops_per_sec" in s1


def test_info_stats_error_replies(r):
    before = r.info("stats")["total_error_replies"]
    error_of(r, "GET")
    error_of(r, "INCR", "a", "b")
    r.set("s", "x")
    error_of(r, "INCR", "s")
    assert r.info("stats")["total_error_replies"] == before + 3


def test_info_replication_and_cluster(r):
    assert r.info("replication")["role"] == "master"
    assert r.info("replication")["connected_slaves"] == 0
    assert r.info("cluster") == {"cluster_enabled": 0}


def test_info_cpu(r):
    def used(info):
        return info["used_cpu_sys"] + info["used_cpu_user"]

    before = r.info("cpu")
    assert {"used_cpu_sys_children", "used_cpu_user_children"} <= set(before)
    # Some tens of milliseconds of the server's CPU time: sorting 20,000
    # numbers, 20 times.
    r.delete("cpu:list")
    r.rpush("cpu:list", *range(20000))
    pipe = r.pipeline(transaction=False)
    for _ in range(20):
        pipe.sort("cpu:list", start=0, num=1, desc=True)
    pipe.execute()
    after = r.info("cpu")
    assert used(after) > used(before)
    assert after["used_cpu_sys"] >= before["used_cpu_sys"]
    assert after["used_cpu_user"] >= before["used_cpu_user"]


# --- COMMAND --------------------------------------------------------------------

GET_INFO = ["get", 2, ["readonly", "fast"], 1, 1, 1, ["@read", "@string", "@fast"], [],
            [["flags", ["RO", "access"],
              "begin_search", ["type", "index", "spec", ["index", 1]],
              "find_keys", ["type", "range", "spec", ["lastkey", 0, "keystep", 1, "limit", 0]]]],
            []]


def test_command_info_get_exact(r):
    assert r.execute_command("COMMAND INFO", "get") == [GET_INFO]
    assert r.execute_command("COMMAND INFO", "GET") == [GET_INFO]


def test_command_info_get_resp3_types(raw):
    c = raw()
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("COMMAND", "INFO", "get")
    t, items = c.read_reply()
    assert t == "*" and len(items) == 1
    t, entry = items[0]
    assert t == "*" and len(entry) == 10
    assert entry[0] == ("$", b"get")
    assert entry[1] == (":", "2")
    assert entry[2] == ("~", [("+", "readonly"), ("+", "fast")])
    assert entry[6] == ("~", [("+", "@read"), ("+", "@string"), ("+", "@fast")])
    assert entry[7] == ("~", [])
    assert entry[8][0] == "~" and entry[8][1][0][0] == "%"
    assert entry[9] == ("~", [])


@pytest.mark.parametrize("name,head", [
    ("set", ["set", -3, ["write", "denyoom"], 1, 1, 1, ["@write", "@string", "@slow"]]),
    ("mset", ["mset", -3, ["write", "denyoom"], 1, -1, 2, ["@write", "@string", "@slow"]]),
    ("info", ["info", -1, ["loading", "stale"], 0, 0, 0, ["@slow", "@dangerous"]]),
    ("debug", ["debug", -2, ["admin", "noscript", "loading", "stale"], 0, 0, 0,
               ["@admin", "@slow", "@dangerous"]]),
    ("shutdown", ["shutdown", -1,
                  ["admin", "noscript", "loading", "stale", "no_multi", "allow_busy"], 0, 0, 0,
                  ["@admin", "@slow", "@dangerous"]]),
    ("client", ["client", -2, [], 0, 0, 0, ["@slow"]]),
    ("command", ["command", -1, ["loading", "stale"], 0, 0, 0, ["@slow", "@connection"]]),
    ("client|list", ["client|list", -2, ["admin", "noscript", "loading", "stale"], 0, 0, 0,
                     ["@admin", "@slow", "@dangerous", "@connection"]]),
    ("client|id", ["client|id", 2, ["noscript", "loading", "stale"], 0, 0, 0,
                   ["@slow", "@connection"]]),
    ("command|getkeys", ["command|getkeys", -4, ["loading", "stale"], 0, 0, 0,
                         ["@slow", "@connection"]]),
])
def test_command_info_heads(r, name, head):
    info = r.execute_command("COMMAND INFO", name)
    assert len(info) == 1 and len(info[0]) == 10
    assert info[0][:7] == head


def test_command_info_set_key_spec(r):
    spec = pairs(r.execute_command("COMMAND INFO", "set")[0][8][0])
    assert pairs(spec["begin_search"]) == {"type": "index", "spec": ["index", 1]}
    assert pairs(spec["find_keys"]) == {"type": "range",
                                        "spec": ["lastkey", 0, "keystep", 1, "limit", 0]}
    assert "RW" in spec["flags"]


def test_command_info_mset_key_spec(r):
    spec = pairs(r.execute_command("COMMAND INFO", "mset")[0][8][0])
    assert pairs(spec["find_keys"])["spec"] == ["lastkey", -1, "keystep", 2, "limit", 0]


def test_command_info_keyless_has_no_key_specs(r):
    assert r.execute_command("COMMAND INFO", "info")[0][8] == []


def test_command_info_unknown(r):
    res = r.execute_command("COMMAND INFO", "nosuch", "get", "client|nosuch", "get|x")
    assert res == [None, GET_INFO, None, None]


def test_command_info_container_subcommands(r):
    info = r.execute_command("COMMAND INFO", "client")[0]
    subs = {s[0]: s for s in info[9]}
    for name in ("client|id", "client|setname", "client|getname", "client|list",
                 "client|info", "client|kill", "client|reply", "client|no-evict",
                 "client|help"):
        assert name in subs
        assert len(subs[name]) == 10
    assert subs["client|setname"][1] == 3
    assert subs["client|kill"][1] == -3


def test_command_info_all_and_count(r):
    count = r.execute_command("COMMAND COUNT")
    assert count > 50
    all_info = r.execute_command("COMMAND INFO")
    assert len(all_info) == count
    names = {e[0] for e in all_info}
    assert {"get", "set", "info", "client", "command", "debug"} <= names
    # Bare COMMAND gives the same list (redis-py turns it into a dict).
    assert set(r.execute_command("COMMAND")) == names


def test_command_count_arity(r):
    assert error_of(r, "COMMAND", "COUNT", "x") == (
        "wrong number of arguments for 'command|count' command")


def test_command_unknown_subcommand(r):
    assert error_of(r, "COMMAND", "foo") == "unknown subcommand 'foo'. Try COMMAND HELP."


def test_command_docs_get(r):
    docs = r.execute_command("COMMAND DOCS", "get")
    assert docs[0] == "get"
    d = pairs(docs[1])
    assert d["summary"] == "Get the value of a key"
    assert d["since"] == "1.0.0"
    assert d["group"] == "string"
    assert d["complexity"] == "O(1)"


def test_command_docs_container(r):
    docs = r.execute_command("COMMAND DOCS", "client")
    d = pairs(docs[1])
    assert d["summary"] == "A container for client connection commands"
    assert d["group"] == "connection"
    subs = pairs(d["subcommands"])
    assert pairs(subs["client|list"])["summary"] == "Get the list of client connections"
    assert pairs(subs["client|list"])["since"] == "2.4.0"


def test_command_docs_unknown_and_several(r):
    assert r.execute_command("COMMAND DOCS", "nosuch") == []
    docs = r.execute_command("COMMAND DOCS", "nosuch", "set", "client|id")
    assert docs[::2] == ["set", "client|id"]
    assert pairs(docs[3])["summary"] == "Returns the client ID for the current connection"


def test_command_docs_all(r):
    docs = r.execute_command("COMMAND DOCS")
    assert len(docs) == 2 * r.execute_command("COMMAND COUNT")


def test_command_docs_resp3_map(raw):
    c = raw()
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("COMMAND", "DOCS", "get")
    t, items = c.read_reply()
    assert t == "%" and items[0][0] == ("$", b"get")
    assert items[0][1][0] == "%"


def test_command_getkeys(r):
    assert r.execute_command("COMMAND GETKEYS", "set", "a", "b") == ["a"]
    assert r.execute_command("COMMAND GETKEYS", "mset", "a", "b", "c", "d") == ["a", "c"]
    assert r.execute_command("COMMAND GETKEYS", "del", "x", "y", "z") == ["x", "y", "z"]
    assert r.execute_command("COMMAND GETKEYS", "GET", "k") == ["k"]
    assert r.execute_command("COMMAND GETKEYS", "object", "encoding", "k") == ["k"]


def test_command_getkeys_errors(r):
    assert error_of(r, "COMMAND", "GETKEYS", "nosuch", "a") == "Invalid command specified"
    assert error_of(r, "COMMAND", "GETKEYS", "ping", "x") == "The command has no key arguments"
    assert error_of(r, "COMMAND", "GETKEYS", "client", "list") == (
        "The command has no key arguments")
    assert error_of(r, "COMMAND", "GETKEYS", "get", "a", "b") == (
        "Invalid number of arguments specified for command")
    assert error_of(r, "COMMAND", "GETKEYS", "get") == (
        "wrong number of arguments for 'command|getkeys' command")
    assert error_of(r, "COMMAND", "GETKEYS", "object", "nosuch") == "Invalid command specified"


def test_command_getkeysandflags(r):
    res = r.execute_command("COMMAND GETKEYSANDFLAGS", "get", "k")
    assert res == [["k", ["RO", "access"]]]
    res = r.execute_command("COMMAND GETKEYSANDFLAGS", "mset", "a", "1", "b", "2")
    assert [k for k, _ in res] == ["a", "b"]


RO_ACCESS = ["RO", "access"]


@pytest.mark.parametrize("args,want", [
    (("set", "k", "v"), [["OW", "update"]]),
    (("set", "k", "v", "GET"), [["RW", "access", "update"]]),
    (("mset", "a", "1", "b", "2"), [["OW", "update"]] * 2),
    (("lmove", "a", "b", "left", "right"), [["RW", "access", "delete"], ["RW", "insert"]]),
    (("sort", "a", "store", "b"), [RO_ACCESS, ["OW", "update"]]),
    (("del", "a", "b"), [["RM", "delete"]] * 2),
    (("exists", "a"), [["RO"]]),
    (("rename", "a", "b"), [["RW", "access", "delete"], ["OW", "update"]]),
    (("zunionstore", "d", "2", "a", "b"), [["OW", "update"], RO_ACCESS, RO_ACCESS]),
    (("setnx", "a", "1"), [["OW", "insert"]]),
    (("pfmerge", "d", "a"), [["RW", "access", "insert"], RO_ACCESS]),
    (("lpush", "a", "x"), [["RW", "insert"]]),
    (("hget", "a", "f"), [RO_ACCESS]),
    # BITFIELD's flags depend on its subcommands: GETs (and OVERFLOW) only read
    (("bitfield", "k", "GET", "u8", "0"), [RO_ACCESS]),
    (("bitfield", "k", "get", "u8", "0", "overflow", "wrap", "GET", "i4", "4"), [RO_ACCESS]),
    (("bitfield", "k"), [RO_ACCESS]),
    (("bitfield", "k", "GET", "u8", "0", "SET", "u8", "0", "1"), [["RW", "access", "update"]]),
    (("bitfield", "k", "INCRBY", "u8", "0", "1"), [["RW", "access", "update"]]),
    (("bitfield", "k", "GET", "u8"), [["RW", "access", "update"]]),
    (("bitfield", "k", "FOO"), [["RW", "access", "update"]]),
])
def test_command_getkeysandflags_key_specs(r, args, want):
    # Redis 7.0's key-spec flags, per key (the first key's and the others').
    res = r.execute_command("COMMAND GETKEYSANDFLAGS", *args)
    assert [sorted(f) for _, f in res] == [sorted(w) for w in want]


def test_command_info_key_specs_per_key_kind(r):
    # LMOVE's source and destination are two key specs, as in Redis.
    specs = r.execute_command("COMMAND INFO", "lmove")[0][8]
    got = [(sorted(pairs(s)["flags"]), pairs(pairs(s)["begin_search"])["spec"]) for s in specs]
    assert got == [(sorted(["RW", "access", "delete"]), ["index", 1]),
                   (sorted(["RW", "insert"]), ["index", 2])]
    spec = pairs(r.execute_command("COMMAND INFO", "set")[0][8][0])
    assert sorted(spec["flags"]) == sorted(["RW", "access", "update", "variable_flags"])


def test_command_list(r):
    names = r.execute_command("COMMAND LIST")
    assert len(names) == len(set(names))
    assert {"get", "client", "client|list", "command|docs", "debug"} <= set(names)
    top = [n for n in names if "|" not in n]
    assert len(top) == r.execute_command("COMMAND COUNT")


def test_command_list_filters(r):
    pat = r.execute_command("COMMAND LIST", "FILTERBY", "PATTERN", "cl*")
    assert "client" in pat and "client|list" in pat
    assert all(n.startswith("cl") for n in pat)
    assert r.execute_command("COMMAND LIST", "FILTERBY", "pattern", "CLIENT|ID") == ["client|id"]
    conn = r.execute_command("COMMAND LIST", "FILTERBY", "ACLCAT", "connection")
    assert {"client|id", "command", "command|count"} <= set(conn)
    assert "get" not in conn
    assert r.execute_command("COMMAND LIST", "FILTERBY", "ACLCAT", "nosuchcat") == []
    assert r.execute_command("COMMAND LIST", "FILTERBY", "MODULE", "nosuch") == []


def test_command_list_errors(r):
    assert error_of(r, "COMMAND", "LIST", "foo") == "syntax error"
    assert error_of(r, "COMMAND", "LIST", "FILTERBY", "foo", "x") == "syntax error"
    assert error_of(r, "COMMAND", "LIST", "FILTERBY", "PATTERN") == "syntax error"


def test_command_help(r):
    lines = r.execute_command("COMMAND HELP")
    assert lines[0] == "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "GETKEYS <full-command>" in lines
    assert "DOCS [<command-name> ...]" in lines
    assert lines[-2:] == ["HELP", "    Prints this help."]


# --- DEBUG ------------------------------------------------------------------------

def test_debug_sleep(r, server):
    start = time.monotonic()
    assert r.execute_command("DEBUG", "SLEEP", "0.2") == "OK"
    assert time.monotonic() - start >= 0.19
    assert r.execute_command("DEBUG", "SLEEP", "0") == "OK"
    # Like Redis, a value that is not a number sleeps for 0 seconds.
    assert r.execute_command("DEBUG", "SLEEP", "abc") == "OK"


def test_debug_sleep_blocks_the_server(server, raw):
    a, b = raw(), raw()
    a.cmd("DEBUG", "SLEEP", "0.3")
    time.sleep(0.05)
    start = time.monotonic()
    b.cmd("PING")
    assert b.read_reply() == ("+", "PONG")
    assert time.monotonic() - start >= 0.15
    assert a.read_reply() == ("+", "OK")


def test_debug_object(r):
    r.set("foo", "bar")
    line = raw_exec(r, "DEBUG", "OBJECT", "foo")
    assert re.fullmatch(r"Value at:0x[0-9a-f]+ refcount:1 encoding:embstr serializedlength:4 "
                        r"lru:\d+ lru_seconds_idle:\d+", line), line
    r.set("n", "12")
    info = r.debug_object("n")
    assert info["encoding"] == "int"
    assert info["serializedlength"] == 2
    r.set("big", "a" * 100)
    assert r.debug_object("big")["encoding"] == "raw"


def test_debug_object_idle(r):
    r.set("foo", "bar")
    time.sleep(1.1)
    assert r.debug_object("foo")["lru_seconds_idle"] >= 1


def test_debug_object_errors(r):
    assert error_of(r, "DEBUG", "OBJECT", "nokey") == "no such key"
    assert error_of(r, "DEBUG", "OBJECT") == (
        "unknown subcommand or wrong number of arguments for 'OBJECT'. Try DEBUG HELP.")


def test_debug_errors(r):
    assert error_of(r, "DEBUG") == "wrong number of arguments for 'debug' command"
    assert error_of(r, "DEBUG", "foo") == (
        "unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.")
    assert error_of(r, "debug", "sleep") == (
        "unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP.")
    assert error_of(r, "DEBUG", "SLEEP", "1", "2") == (
        "unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.")


def test_debug_help(r):
    lines = r.execute_command("DEBUG", "HELP")
    assert lines[0] == "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    for needle in ("OBJECT <key>", "SLEEP <seconds>", "SET-ACTIVE-EXPIRE <0|1>"):
        assert needle in lines
    assert lines[-2:] == ["HELP", "    Prints this help."]


def test_debug_set_active_expire(r):
    try:
        assert r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
        r.set("k", "v", px=50)
        time.sleep(0.4)
        # Not accessed and not expired in the background: still counted.
        assert r.dbsize() == 1
        assert r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1") == "OK"
        assert wait_for(lambda: r.dbsize() == 0, timeout=3)
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


# --- SHUTDOWN ---------------------------------------------------------------------

def test_shutdown_errors(r):
    assert error_of(r, "SHUTDOWN", "foo") == "syntax error"
    assert error_of(r, "SHUTDOWN", "NOSAVE", "SAVE") == "syntax error"
    assert error_of(r, "SHUTDOWN", "ABORT", "NOW") == "syntax error"
    assert error_of(r, "SHUTDOWN", "ABORT") == "No shutdown in progress."
    assert r.ping() is True


def test_shutdown_nosave_exits(server_factory):
    s = server_factory()
    c = s.client()
    c.set("k", "v")
    c.shutdown(nosave=True)  # redis-py expects the connection to drop
    assert s.proc.wait(timeout=10) == 0


def test_shutdown_closes_without_reply(server_factory):
    s = server_factory()
    sock = socket.create_connection((s.host, s.port), timeout=5)
    sock.sendall(b"*3\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n$3\r\nNOW\r\n")
    data = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    sock.close()
    assert data == b""
    assert s.proc.wait(timeout=10) == 0


def test_info_memory_follows_config(r):
    old = r.config_get("maxmemory*")
    try:
        r.config_set("maxmemory", "100mb")
        r.config_set("maxmemory-policy", "allkeys-lru")
        info = r.info("memory")
        assert info["maxmemory"] == 100 * 1024 * 1024
        assert info["maxmemory_human"] == "100.00M"
        assert info["maxmemory_policy"] == "allkeys-lru"
    finally:
        r.config_set("maxmemory", old["maxmemory"])
        r.config_set("maxmemory-policy", old["maxmemory-policy"])


def test_instantaneous_ops_per_sec_tracks_load(server, r):
    # The rate is sampled every 100 ms and averaged over the last 16
    # samples: after 1.2 s of steady load it is most of the rate this client
    # saw (a fixed figure fails a sanitizer build on a loaded machine), and
    # still a good part of it when the server's timer ran late and took
    # fewer samples.
    sent = 0
    start = time.monotonic()
    while time.monotonic() < start + 1.2:
        p = r.pipeline(transaction=False)
        for _ in range(2000):
            p.ping()
        p.execute()
        sent += 2000
    seen = sent / (time.monotonic() - start)
    rate = r.info("stats")["instantaneous_ops_per_sec"]
    assert seen / 8 < rate < seen * 2, (rate, seen)


@pytest.mark.parametrize("args,keys", [
    (["sintercard", "2", "a", "b", "limit", "1"], ["a", "b"]),
    (["lmpop", "2", "a", "b", "left"], ["a", "b"]),
    (["blmpop", "0", "2", "a", "b", "left"], ["a", "b"]),
    (["sort", "k", "limit", "0", "1", "by", "w*", "get", "#", "store", "d"], ["k", "d"]),
    (["sort", "k"], ["k"]),
])
def test_command_getkeys_movable(r, args, keys):
    r.response_callbacks.pop("COMMAND", None)
    assert r.execute_command("COMMAND", "GETKEYS", *args) == keys


def test_command_info_reports_movablekeys(r):
    r.response_callbacks.pop("COMMAND", None)
    info = r.execute_command("COMMAND", "INFO", "sintercard", "sort", "sort_ro")
    assert "movablekeys" in info[0][2] and info[0][3:6] == [0, 0, 0]
    assert "movablekeys" in info[1][2] and info[1][3:6] == [1, 1, 1]
    assert "movablekeys" in info[2][2] and info[2][3:6] == [1, 1, 1]


def test_info_stats_migrate_cached_sockets(own):
    # No MIGRATE has run on a fresh server: no connection is cached.
    _, r = own
    assert r.info("stats")["migrate_cached_sockets"] == 0
