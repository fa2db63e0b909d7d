"""The CLIENT command: ID, SETNAME/GETNAME, LIST, INFO, KILL, REPLY,
NO-EVICT, HELP.

Every assertion holds for redis-server 7.0 too (CAIRN_TEST_SERVER=redis),
except in tests marked cairn_only.
"""
import time

import pytest
import redis

from conftest import TARGET, wait_for
from waiting import no_reply_yet

LIST_FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub",
               "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl",
               "oll", "omem", "tot-mem", "events", "cmd", "user", "redir", "resp"]
# Redis 7.2's fields, which Cairn shows too (client libraries set them
# with CLIENT SETINFO); the Redis 7.0 the suite runs against lacks them.
if TARGET != "redis":
    LIST_FIELDS += ["lib-name", "lib-ver"]


def error_of(client, *args):
    with pytest.raises(redis.ResponseError) as exc:
        client.execute_command(*args)
    return str(exc.value)


def parse_line(line):
    """One CLIENT LIST line as an ordered list of (field, value)."""
    return [tuple(kv.split("=", 1)) for kv in line.split(" ")]


def client_lines(text):
    assert text == "" or text.endswith("\n")
    return [dict(parse_line(line)) for line in text.split("\n") if line]


def raw_exec(r, *args):
    """The reply to args as redis-py reads it, without its reply callbacks."""
    conn = r.connection_pool.get_connection(args[0])
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        r.connection_pool.release(conn)


def raw_list(r, *args):
    return raw_exec(r, "CLIENT", "LIST", *args)


def raw_cmd(conn, *args):
    conn.cmd(*args)
    return conn.read_reply()



# --- ID / SETNAME / GETNAME -------------------------------------------------------

def test_client_id(r, server):
    my_id = r.client_id()
    assert isinstance(my_id, int) and my_id > 0
    assert r.client_id() == my_id
    other = server.client()
    try:
        assert other.client_id() != my_id
    finally:
        other.close()


def test_client_id_arity(r):
    assert error_of(r, "CLIENT", "ID", "x") == (
        "wrong number of arguments for 'client|id' command")


def test_client_setname_getname(r):
    assert r.client_getname() is None
    assert r.client_setname("my-conn_1") is True
    assert r.client_getname() == "my-conn_1"
    # An empty name removes the name.
    assert r.client_setname("") is True
    assert r.client_getname() is None


@pytest.mark.parametrize("bad", ["a b", "a\nb", "tab\there", "caf\u00e9", "\x7f"])
def test_client_setname_invalid(r, bad):
    assert error_of(r, "CLIENT", "SETNAME", bad) == (
        "Client names cannot contain spaces, newlines or special characters.")
    assert r.client_getname() is None


def test_client_setname_arity(r):
    assert error_of(r, "CLIENT", "SETNAME") == (
        "wrong number of arguments for 'client|setname' command")
    assert error_of(r, "CLIENT", "SETNAME", "a", "b") == (
        "wrong number of arguments for 'client|setname' command")
    assert error_of(r, "CLIENT", "GETNAME", "x") == (
        "wrong number of arguments for 'client|getname' command")


# --- LIST / INFO ----------------------------------------------------------------

def test_client_list_format(r):
    r.client_setname("lister")
    lines = [parse_line(line) for line in raw_list(r).split("\n") if line]
    mine = [l for l in lines if dict(l)["name"] == "lister"]
    assert len(mine) == 1
    fields = mine[0]
    assert [k for k, _ in fields] == LIST_FIELDS
    d = dict(fields)
    assert int(d["id"]) == r.client_id()
    assert d["cmd"] == "client|list"
    assert d["flags"] == "N"
    assert d["db"] == "0"
    assert d["multi"] == "-1"
    assert d["sub"] == d["psub"] == d["ssub"] == "0"
    assert d["user"] == "default"
    assert d["redir"] == "-1"
    assert d["resp"] == "2"
    assert d["events"] == "r"
    host, port = d["addr"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert int(d["fd"]) > 0
    assert int(d["qbuf"]) > 0 and int(d["argv-mem"]) == len("CLIENT") + len("LIST")


def test_client_list_ends_with_newline(r):
    text = raw_list(r)
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_client_list_shows_every_connection(r, server):
    others = [server.client() for _ in range(3)]
    try:
        ids = {o.client_id() for o in others}
        listed = {int(c["id"]) for c in client_lines(raw_list(r))}
        assert ids | {r.client_id()} <= listed
        # redis-py's parser agrees with the format.  Connections of earlier
        # tests may still be closing between the two listings: none appear.
        parsed = {int(c["id"]) for c in r.client_list()}
        assert ids | {r.client_id()} <= parsed <= listed
    finally:
        for o in others:
            o.close()


def test_client_list_db_name_and_resp(server, raw, r):
    c = raw()
    raw_cmd(c, "SELECT", "5")
    raw_cmd(c, "CLIENT", "SETNAME", "seer")
    raw_cmd(c, "HELLO", "3")
    t, my_id = raw_cmd(c, "CLIENT", "ID")
    entry = [e for e in client_lines(raw_list(r)) if e["id"] == my_id][0]
    assert entry["db"] == "5"
    assert entry["name"] == "seer"
    assert entry["resp"] == "3"
    # The other connection's last command.
    assert entry["cmd"].startswith("client")


def test_client_list_idle_and_age(server, r):
    other = server.client()
    try:
        other_id = other.client_id()
        time.sleep(1.2)
        entry = [e for e in client_lines(raw_list(r)) if int(e["id"]) == other_id][0]
        assert int(entry["idle"]) >= 1
        assert int(entry["age"]) >= 1
    finally:
        other.close()


def test_client_list_type(r):
    my_id = str(r.client_id())
    assert my_id in {e["id"] for e in client_lines(raw_list(r, "TYPE", "normal"))}
    assert my_id in {e["id"] for e in client_lines(raw_list(r, "type", "NORMAL"))}
    for t in ("pubsub", "master", "replica", "slave"):
        assert raw_list(r, "TYPE", t) == ""
    assert error_of(r, "CLIENT", "LIST", "TYPE", "foo") == "Unknown client type 'foo'"


def test_client_list_id(r, server):
    other = server.client()
    try:
        my_id, other_id = r.client_id(), other.client_id()
        lines = client_lines(raw_list(r, "ID", my_id))
        assert [int(e["id"]) for e in lines] == [my_id]
        lines = client_lines(raw_list(r, "ID", other_id, 999999999, my_id))
        assert [int(e["id"]) for e in lines] == [other_id, my_id]
        assert raw_list(r, "ID", 999999999) == ""
        assert raw_list(r, "ID", -5) == ""
    finally:
        other.close()


def test_client_list_errors(r):
    assert error_of(r, "CLIENT", "LIST", "ID", "abc") == "Invalid client ID"
    assert error_of(r, "CLIENT", "LIST", "ID", "1", "x") == "Invalid client ID"
    assert error_of(r, "CLIENT", "LIST", "foo") == "syntax error"
    assert error_of(r, "CLIENT", "LIST", "TYPE") == "syntax error"
    assert error_of(r, "CLIENT", "LIST", "TYPE", "normal", "x") == "syntax error"


def test_client_info(r):
    r.client_setname("me")
    text = raw_exec(r, "CLIENT", "INFO")
    assert text.endswith("\n") and text.count("\n") == 1
    fields = parse_line(text[:-1])
    assert [k for k, _ in fields] == LIST_FIELDS
    d = dict(fields)
    assert int(d["id"]) == r.client_id()
    assert d["name"] == "me"
    assert d["cmd"] == "client|info"
    assert r.client_info()["name"] == "me"


def test_client_info_arity(r):
    assert error_of(r, "CLIENT", "INFO", "x") == (
        "wrong number of arguments for 'client|info' command")


def test_client_list_and_info_reply_types(raw):
    c = raw()
    t, body = raw_cmd(c, "CLIENT", "INFO")
    assert t == "$" and body.startswith(b"id=")
    raw_cmd(c, "HELLO", "3")
    t, body = raw_cmd(c, "CLIENT", "INFO")
    assert t == "=" and body.startswith(b"txt:id=")
    t, body = raw_cmd(c, "CLIENT", "LIST")
    assert t == "=" and body.startswith(b"txt:id=")


# --- KILL -------------------------------------------------------------------------

def test_client_kill_by_id(r, raw):
    victim = raw()
    _, vid = raw_cmd(victim, "CLIENT", "ID")
    assert r.execute_command("CLIENT", "KILL", "ID", vid) == 1
    assert victim.closed_by_peer()
    assert vid not in {e["id"] for e in client_lines(raw_list(r))}
    assert r.execute_command("CLIENT", "KILL", "ID", vid) == 0


def test_client_kill_old_form(r, raw):
    victim = raw()
    _, info = raw_cmd(victim, "CLIENT", "INFO")
    addr = dict(parse_line(info.decode().strip()))["addr"]
    assert r.execute_command("CLIENT", "KILL", addr) == "OK"
    assert victim.closed_by_peer()
    assert error_of(r, "CLIENT", "KILL", addr) == "No such client"
    assert error_of(r, "CLIENT", "KILL", "1.2.3.4:5") == "No such client"


def test_client_kill_by_addr_and_laddr(r, raw):
    victim = raw()
    _, info = raw_cmd(victim, "CLIENT", "INFO")
    d = dict(parse_line(info.decode().strip()))
    assert r.execute_command("CLIENT", "KILL", "ADDR", "1.2.3.4:5") == 0
    assert r.execute_command("CLIENT", "KILL", "LADDR", "1.2.3.4:5") == 0
    assert r.execute_command("CLIENT", "KILL", "ADDR", d["addr"], "LADDR", d["laddr"]) == 1
    assert victim.closed_by_peer()


def test_client_kill_skipme(raw):
    c = raw()
    _, my_id = raw_cmd(c, "CLIENT", "ID")
    # SKIPME defaults to yes: the caller is spared.
    assert raw_cmd(c, "CLIENT", "KILL", "ID", my_id) == (":", "0")
    assert raw_cmd(c, "CLIENT", "KILL", "ID", my_id, "SKIPME", "yes") == (":", "0")
    # Killing oneself: the reply is written first, then the connection closes.
    assert raw_cmd(c, "CLIENT", "KILL", "ID", my_id, "SKIPME", "no") == (":", "1")
    assert c.closed_by_peer()


def test_client_kill_self_old_form(raw):
    c = raw()
    _, info = raw_cmd(c, "CLIENT", "INFO")
    addr = dict(parse_line(info.decode().strip()))["addr"]
    assert raw_cmd(c, "CLIENT", "KILL", addr) == ("+", "OK")
    assert c.closed_by_peer()


def test_client_kill_pipelined_after_self_kill_not_run(raw, r):
    c = raw()
    _, my_id = raw_cmd(c, "CLIENT", "ID")
    c.send(b"*6\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$2\r\nID\r\n$%d\r\n%s\r\n$6\r\nSKIPME\r\n$2\r\nno"
           b"\r\n*3\r\n$3\r\nSET\r\n$9\r\nafterkill\r\n$1\r\n1\r\n" % (len(my_id), my_id.encode()))
    assert c.read_reply() == (":", "1")
    assert c.closed_by_peer()
    assert r.exists("afterkill") == 0


def test_client_kill_errors(r):
    assert error_of(r, "CLIENT", "KILL", "ID", "abc") == "client-id should be greater than 0"
    assert error_of(r, "CLIENT", "KILL", "ID", "0") == "client-id should be greater than 0"
    assert error_of(r, "CLIENT", "KILL", "ID", "-1") == "client-id should be greater than 0"
    assert error_of(r, "CLIENT", "KILL", "TYPE", "foo") == "Unknown client type 'foo'"
    assert error_of(r, "CLIENT", "KILL", "foo", "bar") == "syntax error"
    assert error_of(r, "CLIENT", "KILL", "SKIPME", "maybe") == "syntax error"
    assert error_of(r, "CLIENT", "KILL", "ID", "1", "ID") == "syntax error"
    assert error_of(r, "CLIENT", "KILL", "USER", "nosuchuser") == "No such user 'nosuchuser'"
    assert error_of(r, "CLIENT", "KILL") == (
        "wrong number of arguments for 'client|kill' command")


def test_client_kill_type_normal(server_factory):
    s = server_factory()
    a, b, c = s.client(), s.client(), s.client()
    for x in (a, b, c):
        x.ping()
    assert a.execute_command("CLIENT", "KILL", "TYPE", "normal") == 2
    assert a.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 0
    assert wait_for(lambda: a.info("clients")["connected_clients"] == 1)
    a.close()


# --- REPLY --------------------------------------------------------------------------

def test_client_reply_off_on(raw):
    c = raw()
    c.cmd("CLIENT", "REPLY", "OFF")
    c.cmd("SET", "k", "v")
    c.cmd("GET", "k")
    c.cmd("GET", "nosuch")
    c.cmd("NOSUCHCOMMAND")
    assert no_reply_yet(c, wait=0.3)
    c.cmd("CLIENT", "REPLY", "ON")
    assert c.read_reply() == ("+", "OK")
    c.cmd("GET", "k")
    assert c.read_reply() == ("$", b"v")


def test_client_reply_skip(raw):
    c = raw()
    c.cmd("CLIENT", "REPLY", "SKIP")
    c.cmd("SET", "k", "1")
    c.cmd("INCR", "k")
    # Only the reply of the command after SKIP is dropped.
    assert c.read_reply() == (":", "2")
    c.cmd("GET", "k")
    assert c.read_reply() == ("$", b"2")


def test_client_reply_skip_while_off(raw):
    c = raw()
    c.cmd("CLIENT", "REPLY", "OFF")
    c.cmd("CLIENT", "REPLY", "SKIP")
    c.cmd("PING")
    assert no_reply_yet(c, wait=0.3)
    c.cmd("CLIENT", "REPLY", "ON")
    assert c.read_reply() == ("+", "OK")
    c.cmd("PING")
    assert c.read_reply() == ("+", "PONG")


def test_client_reply_errors(r):
    assert error_of(r, "CLIENT", "REPLY", "foo") == "syntax error"
    assert error_of(r, "CLIENT", "REPLY", "on", "x") == (
        "wrong number of arguments for 'client|reply' command")
    assert r.execute_command("CLIENT", "REPLY", "ON") == "OK"


# --- NO-EVICT / NO-TOUCH / HELP / errors ----------------------------------------

def test_client_no_evict(r):
    assert r.execute_command("CLIENT", "NO-EVICT", "on") == "OK"
    assert r.execute_command("CLIENT", "NO-EVICT", "OFF") == "OK"
    assert error_of(r, "CLIENT", "NO-EVICT", "maybe") == "syntax error"
    assert error_of(r, "CLIENT", "NO-EVICT") == (
        "wrong number of arguments for 'client|no-evict' command")


@pytest.mark.cairn_only
def test_client_no_touch(r):
    # Redis 7.2's CLIENT NO-TOUCH, accepted here too.
    assert r.execute_command("CLIENT", "NO-TOUCH", "on") == "OK"
    assert r.execute_command("CLIENT", "NO-TOUCH", "off") == "OK"
    assert error_of(r, "CLIENT", "NO-TOUCH", "x") == "syntax error"


def test_client_help(r):
    lines = r.execute_command("CLIENT", "HELP")
    assert lines[0] == "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    for needle in ("ID", "GETNAME", "SETNAME <name>", "REPLY (ON|OFF|SKIP)", "KILL <ip:port>",
                   "LIST [options ...]"):
        assert needle in lines
    assert lines[-2:] == ["HELP", "    Prints this help."]


def test_client_unknown_subcommand(r):
    assert error_of(r, "CLIENT", "foo") == "unknown subcommand 'foo'. Try CLIENT HELP."
    assert error_of(r, "CLIENT") == "wrong number of arguments for 'client' command"


@pytest.mark.cairn_only  # Redis 7.2's; the Redis 7.0 the suite compares with lacks it
def test_client_setinfo(r):
    assert raw_exec(r, "CLIENT", "SETINFO", "LIB-NAME", "redis-py") == "OK"
    assert raw_exec(r, "CLIENT", "SETINFO", "lib-ver", "5.0.1") == "OK"
    info = dict(parse_line(raw_exec(r, "CLIENT", "INFO").rstrip("\n")))
    assert info["lib-name"] == "redis-py" and info["lib-ver"] == "5.0.1"
    mine = [c for c in client_lines(raw_list(r)) if c["id"] == info["id"]]
    assert mine[0]["lib-name"] == "redis-py" and mine[0]["lib-ver"] == "5.0.1"
    # An empty value removes it.
    r.execute_command("CLIENT", "SETINFO", "LIB-VER", "")
    info = dict(parse_line(raw_exec(r, "CLIENT", "INFO").rstrip("\n")))
    assert info["lib-ver"] == ""
    assert error_of(r, "CLIENT", "SETINFO", "lib-foo", "x") == "Unrecognized option 'lib-foo'"
    assert error_of(r, "CLIENT", "SETINFO", "lib-name", "a b") == \
        "lib-name cannot contain spaces, newlines or special characters."
    assert error_of(r, "CLIENT", "SETINFO", "lib-name") == \
        "wrong number of arguments for 'client|setinfo' command"


def test_idle_client_gives_its_query_buffer_back(server, r):
    # A connection quiet for more than 2 s holds no reading room (Redis's
    # clientsCron), and gets it back with its next command.
    idle = server.client()
    idle.client_setname("idleq")

    def entry():
        return next(d for d in client_lines(raw_exec(r, "CLIENT", "LIST")) if d["name"] == "idleq")

    first = entry()
    assert int(first["qbuf"]) + int(first["qbuf-free"]) > 0
    assert wait_for(lambda: int(entry()["idle"]) >= 3 and
                    int(entry()["qbuf"]) + int(entry()["qbuf-free"]) == 0, timeout=15)
    assert idle.ping()
    assert idle.set("after-idle", "v") and idle.get("after-idle") == "v"
    idle.close()
