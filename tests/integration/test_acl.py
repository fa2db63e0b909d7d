"""ACL and authentication: AUTH, HELLO AUTH, requirepass, ACL SETUSER's rules
allowing and denying, key and channel patterns, selectors, ACL LOG, ACL
SAVE/LOAD and users from the configuration.

Every assertion holds for redis-server 7.0 too (CAIRN_TEST_SERVER=redis).
"""
import hashlib
import socket
import time

import pytest
import redis

from conftest import RawConn, Server
from test_config import ConfServer

NOPERM_KEY = "this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = ("this user has no permissions to access one of the channels used as "
                  "arguments")
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def noperm_cmd(name):
    return f"this user has no permissions to run the '{name}' command"


@pytest.fixture(scope="module")
def acl_server():
    """A server of this module's own: the tests change its users."""
    s = Server()
    yield s
    rc = s.stop()
    assert rc in (0, -15), f"server exited with {rc}"


@pytest.fixture
def admin(acl_server):
    c = acl_server.client()
    yield c
    # Back to a server with only the open default user.
    c = acl_server.client(username="default", password="secret") if needs_auth(acl_server) else c
    c.config_set("requirepass", "")
    for u in c.acl_users():
        if u != "default":
            c.acl_deluser(u)
    c.execute_command("ACL", "SETUSER", "default", "on", "nopass", "clearselectors", "resetkeys",
                      "~*", "resetchannels", "&*", "+@all")
    c.acl_log_reset()
    c.flushall()
    c.close()


def needs_auth(server):
    try:
        server.client().ping()
        return False
    except redis.AuthenticationError:
        return True


def pairs(flat):
    return dict(zip(flat[::2], flat[1::2]))


def getuser(client, name):
    """ACL GETUSER as the server sends it (redis-py reshapes some fields)."""
    return pairs(client.execute_command("ACL", "GETUSER", name))


def login(server, user, password="pw", **kw):
    return server.client(username=user, password=password, single_connection_client=True, **kw)


def err(client, *args):
    with pytest.raises(redis.ResponseError) as exc:
        client.execute_command(*args)
    return str(exc.value)


def setuser(admin, name, *rules):
    assert admin.execute_command("ACL", "SETUSER", name, *rules) == "OK"


# --- AUTH, HELLO, requirepass -------------------------------------------------

def test_auth_without_password_configured(admin):
    assert err(admin, "AUTH", "x") == (
        "AUTH <password> called without any password configured for the default user. Are "
        "you sure your configuration is correct?")
    assert err(admin, "AUTH", "a", "b", "c") == "syntax error"
    assert err(admin, "AUTH", "nosuchuser", "pw") == WRONGPASS
    # nopass accepts any password given with the user name.
    assert admin.execute_command("AUTH", "default", "anything") is True


def test_requirepass(admin, acl_server):
    kept = acl_server.client(single_connection_client=True)
    kept.ping()
    admin.config_set("requirepass", "secret")
    assert admin.config_get("requirepass") == {"requirepass": "secret"}
    # Connections made before keep working, as in Redis.
    assert kept.ping() is True
    fresh = acl_server.client(single_connection_client=True)
    with pytest.raises(redis.AuthenticationError, match="Authentication required"):
        fresh.get("k")
    assert err(fresh, "AUTH", "wrong") == WRONGPASS
    assert fresh.execute_command("AUTH", "secret") is True
    assert fresh.get("k") is None
    # AUTH default <password> is the same password.
    other = acl_server.client(single_connection_client=True)
    assert other.execute_command("AUTH", "default", "secret") is True
    assert other.acl_whoami() == "default"
    # The default user's password is requirepass's SHA-256.
    digest = hashlib.sha256(b"secret").hexdigest()
    assert getuser(other, "default")["passwords"] == [digest]
    assert other.config_set("requirepass", "") is True
    assert "nopass" in getuser(other, "default")["flags"]


def test_hello_auth(admin, acl_server):
    admin.config_set("requirepass", "secret")
    c = RawConn(acl_server)
    c.cmd("HELLO", "3")
    assert c.read_reply() == ("-", (
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
        "the RESP protocol version at the same time"))
    c.cmd("HELLO", "3", "AUTH", "default", "bad")
    assert c.read_reply() == ("-", WRONGPASS)
    c.cmd("GET", "k")
    assert c.read_reply() == ("-", "NOAUTH Authentication required.")
    c.cmd("HELLO", "3", "AUTH", "default", "secret")
    assert c.read_reply()[0] == "%"
    c.cmd("ACL", "WHOAMI")
    assert c.read_reply() == ("$", b"default")


def test_auth_as_user_and_reset(admin, acl_server):
    setuser(admin, "alice", "on", ">pw", "+@all", "~*")
    c = login(acl_server, "alice")
    assert c.acl_whoami() == "alice"
    assert "user=alice" in c.execute_command("CLIENT", "INFO")
    # RESET goes back to the default user.
    assert c.execute_command("RESET") == "RESET"
    assert c.acl_whoami() == "default"
    # A user that is off cannot authenticate; a deleted one neither.
    setuser(admin, "alice", "off")
    assert err(c, "AUTH", "alice", "pw") == WRONGPASS
    admin.acl_deluser("alice")
    assert err(c, "AUTH", "alice", "pw") == WRONGPASS


# --- passwords ----------------------------------------------------------------

def test_password_rules(admin, acl_server):
    h1 = hashlib.sha256(b"one").hexdigest()
    h2 = hashlib.sha256(b"two").hexdigest()
    setuser(admin, "u", "on", ">one", f"#{h2}", "+@all", "~*")
    assert sorted(getuser(admin, "u")["passwords"]) == sorted([h1, h2])
    c = acl_server.client(single_connection_client=True)
    assert c.execute_command("AUTH", "u", "one") is True
    assert c.execute_command("AUTH", "u", "two") is True
    setuser(admin, "u", "<one", f"!{h2}", ">three")
    assert err(c, "AUTH", "u", "one") == WRONGPASS
    assert err(c, "AUTH", "u", "two") == WRONGPASS
    assert c.execute_command("AUTH", "u", "three") is True
    setuser(admin, "u", "nopass")
    assert getuser(admin, "u")["passwords"] == []
    assert c.execute_command("AUTH", "u", "whatever") is True
    setuser(admin, "u", "resetpass")
    assert err(c, "AUTH", "u", "whatever") == WRONGPASS
    assert "nopass" not in getuser(admin, "u")["flags"]


def test_setuser_errors(admin):
    def e(*rules):
        return err(admin, "ACL", "SETUSER", "x", *rules)
    assert e("bogus") == "Error in ACL SETUSER modifier 'bogus': Syntax error"
    assert e("+nosuch") == ("Error in ACL SETUSER modifier '+nosuch': Unknown command or "
                            "category name in ACL")
    assert e("+@nosuch") == ("Error in ACL SETUSER modifier '+@nosuch': Unknown command or "
                             "category name in ACL")
    assert e("+client|id|x") == ("Error in ACL SETUSER modifier '+client|id|x': Allowing "
                                 "first-arg of a subcommand is not supported")
    assert e("#abc") == ("Error in ACL SETUSER modifier '#abc': The password hash must be "
                         "exactly 64 characters and contain only lowercase hexadecimal "
                         "characters")
    assert e("<nothere") == ("Error in ACL SETUSER modifier '<nothere': The password you are "
                             "trying to remove from the user does not exist")
    assert e("allkeys", "~foo") == (
        "Error in ACL SETUSER modifier '~foo': Adding a pattern after the * pattern (or the "
        "'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start "
        "with an empty list of patterns")
    assert e("%X~k") == "Error in ACL SETUSER modifier '%X~k': Syntax error"
    # A failed SETUSER changes nothing, not even creating the user.
    assert "x" not in admin.acl_users()
    assert err(admin, "ACL", "DELUSER", "default") == "The 'default' user cannot be removed"


# --- commands -----------------------------------------------------------------

def test_command_rules(admin, acl_server):
    setuser(admin, "u", "on", ">pw", "~*", "+get", "+@hash", "-hdel", "+client|id",
            "+select|0")
    c = login(acl_server, "u")
    assert c.get("k") is None
    assert c.hset("h", "f", "v") == 1
    assert err(c, "HDEL", "h", "f") == noperm_cmd("hdel")
    assert err(c, "SET", "k", "v") == noperm_cmd("set")
    assert isinstance(c.execute_command("CLIENT", "ID"), int)
    assert err(c, "CLIENT", "INFO") == noperm_cmd("client|info")
    assert c.execute_command("SELECT", "0") is True
    assert err(c, "SELECT", "1") == noperm_cmd("select")
    # -@category after allcommands, and nocommands.
    setuser(admin, "u", "allcommands", "-@write")
    assert err(c, "SET", "k", "v") == noperm_cmd("set")
    assert c.get("k") is None
    assert getuser(admin, "u")["commands"] == "+@all -@write"
    setuser(admin, "u", "nocommands", "+@read")
    assert err(c, "HSET", "h", "f", "v") == noperm_cmd("hset")
    assert c.hget("h", "f") == "v"
    setuser(admin, "u", "-@all")
    assert err(c, "GET", "k") == noperm_cmd("get")
    # AUTH and HELLO need no permission.
    assert c.execute_command("AUTH", "u", "pw") is True


def test_categories(admin):
    cats = admin.acl_cat()
    assert cats[:3] == ["keyspace", "read", "write"] and "scripting" in cats
    assert set(admin.acl_cat("hyperloglog")) >= {"pfadd", "pfcount", "pfmerge"}
    assert "get" not in admin.acl_cat("write")
    assert err(admin, "ACL", "CAT", "nosuch") == "Unknown category 'nosuch'"


def test_dryrun(admin):
    setuser(admin, "u", "on", "~k*", "&c*", "+get", "+publish")
    assert admin.execute_command("ACL", "DRYRUN", "u", "GET", "k1") == "OK"
    assert admin.execute_command("ACL", "DRYRUN", "u", "GET", "x") == (
        "This user has no permissions to access the 'x' key")
    assert admin.execute_command("ACL", "DRYRUN", "u", "SET", "k", "v") == (
        "This user has no permissions to run the 'set' command")
    assert admin.execute_command("ACL", "DRYRUN", "u", "PUBLISH", "d", "m") == (
        "This user has no permissions to access the 'd' channel")
    assert err(admin, "ACL", "DRYRUN", "nobody", "GET", "k") == "User 'nobody' not found"
    assert err(admin, "ACL", "DRYRUN", "u", "NOSUCH") == "Command 'NOSUCH' not found"
    assert err(admin, "ACL", "DRYRUN", "u", "GET") == (
        "wrong number of arguments for 'get' command")


# --- keys -----------------------------------------------------------------------

def test_key_patterns(admin, acl_server):
    setuser(admin, "u", "on", ">pw", "+@all", "~rw*", "%R~ro*", "%W~wo*")
    c = login(acl_server, "u")
    assert c.set("rw1", "v") is True and c.get("rw1") == "v"
    assert c.get("ro1") is None
    assert err(c, "SET", "ro1", "v") == NOPERM_KEY
    assert c.set("wo1", "v") is True
    assert err(c, "GET", "wo1") == NOPERM_KEY
    assert err(c, "GET", "other") == NOPERM_KEY
    # Every key of a multi-key command, also where a count says where they are.
    assert err(c, "MSET", "rw1", "a", "other", "b") == NOPERM_KEY
    assert c.execute_command("SINTERCARD", "2", "rw1x", "rw2") == 0
    assert err(c, "SINTERCARD", "2", "rw1", "other") == NOPERM_KEY
    assert err(c, "ZUNIONSTORE", "other", "1", "rw1") == NOPERM_KEY
    setuser(admin, "u", "resetkeys")
    assert err(c, "GET", "rw1") == NOPERM_KEY
    setuser(admin, "u", "allkeys")
    assert c.get("anything") is None
    assert getuser(admin, "u")["keys"] == "~*"


def test_keys_in_scripts(admin, acl_server):
    setuser(admin, "u", "on", ">pw", "+@all", "~k*")
    c = login(acl_server, "u")
    assert c.eval("return redis.call('set', KEYS[1], 'v')", 1, "k1") == "OK"
    e = err(c, "EVAL", "return redis.call('get', 'zz')", "0")
    assert e.startswith("The user executing the script can't access at least one of the keys "
                        "mentioned in the command arguments")
    setuser(admin, "u", "-hset")
    e = err(c, "EVAL", "return redis.call('hset', 'k2', 'a', 'b')", "0")
    assert e.startswith("The user executing the script can't run this command or subcommand")
    log = admin.acl_log()
    assert [(x["reason"], x["context"], x["object"]) for x in log[:2]] == [
        ("command", "lua", "hset"), ("key", "lua", "zz")]


# --- channels -------------------------------------------------------------------

def test_channel_patterns(admin, acl_server):
    setuser(admin, "u", "on", ">pw", "+@all", "~*", "resetchannels", "&news.*", "&p?")
    c = login(acl_server, "u")
    assert c.publish("news.today", "m") == 0
    assert err(c, "PUBLISH", "sport", "m") == NOPERM_CHANNEL
    p = login(acl_server, "u").pubsub()
    p.subscribe("news.x")
    with pytest.raises(redis.ResponseError, match="channels used as arguments"):
        p.subscribe("sport")
        p.get_message(timeout=1)
        p.get_message(timeout=1)
    p.close()
    # A pattern subscription must be one of the patterns literally.
    q = login(acl_server, "u").pubsub()
    q.psubscribe("news.*")
    q.close()
    q = login(acl_server, "u").pubsub()
    with pytest.raises(redis.ResponseError, match="channels used as arguments"):
        q.psubscribe("news.a*")
        q.get_message(timeout=1)
        q.get_message(timeout=1)
    q.close()
    setuser(admin, "u", "allchannels")
    assert c.publish("sport", "m") == 0
    assert getuser(admin, "u")["channels"] == "&*"
    setuser(admin, "u", "resetchannels")
    assert err(c, "PUBLISH", "news.today", "m") == NOPERM_CHANNEL


# --- selectors ------------------------------------------------------------------

def test_selectors(admin, acl_server):
    setuser(admin, "u", "on", ">pw", "~a*", "+get", "(%R~b* +get +mget)", "(~c* +set)")
    c = login(acl_server, "u")
    assert c.get("a1") is None
    assert c.get("b1") is None
    # The most specific refusal is reported: a key over a command.
    assert err(c, "SET", "b1", "v") == NOPERM_KEY
    assert err(c, "DEL", "b1") == noperm_cmd("del")
    assert c.set("c1", "v") is True
    assert err(c, "SET", "a1", "v") == NOPERM_KEY
    # One selector must allow the whole call.
    assert err(c, "MGET", "b1", "a1") == NOPERM_KEY
    assert c.mget("b1", "b2") == [None, None]
    info = getuser(admin, "u")
    assert info["keys"] == "~a*"
    assert info["commands"] == "-@all +get"
    sel = [pairs(x) for x in info["selectors"]]
    assert sel[0]["keys"] == "%R~b*" and sel[0]["channels"] == ""
    assert set(sel[0]["commands"].split()) == {"-@all", "+get", "+mget"}
    assert sel[1] == {"commands": "-@all +set", "keys": "~c*", "channels": ""}
    line = [x for x in admin.acl_list() if x.startswith("user u ")][0]
    assert line.endswith(" (~c* resetchannels -@all +set)")
    setuser(admin, "u", "clearselectors")
    assert err(c, "SET", "c1", "v") == noperm_cmd("set")


def test_getuser_and_list(admin):
    d = getuser(admin, "default")
    assert d["flags"] == ["on", "nopass"]
    assert d["commands"] == "+@all" and d["keys"] == "~*" and d["channels"] == "&*"
    assert d["selectors"] == []
    assert admin.execute_command("ACL", "GETUSER", "nobody") is None
    setuser(admin, "bob", "reset")
    assert getuser(admin, "bob")["flags"] == ["off", "sanitize-payload"]
    assert admin.acl_list() == ["user bob off sanitize-payload resetchannels -@all",
                                "user default on nopass ~* &* +@all"]
    assert admin.acl_users() == ["bob", "default"]
    assert len(admin.acl_genpass()) == 64
    assert len(admin.execute_command("ACL", "GENPASS", "5")) == 2


# --- ACL LOG --------------------------------------------------------------------

def test_acl_log(admin, acl_server):
    setuser(admin, "u", "on", ">pw", "~k*", "&c*", "+get", "+publish", "+multi")
    c = login(acl_server, "u")
    err(c, "GET", "x")
    err(c, "GET", "x")
    err(c, "SET", "k", "v")
    err(c, "PUBLISH", "d", "m")
    with pytest.raises(redis.ResponseError, match="WRONGPASS"):
        acl_server.client(username="u", password="bad").ping()
    log = admin.acl_log()
    assert [(x["reason"], x["context"], x["object"], x["username"], x["count"])
            for x in log] == [
        ("auth", "toplevel", "AUTH", "u", 1),
        ("channel", "toplevel", "d", "u", 1),
        ("command", "toplevel", "set", "u", 1),
        ("key", "toplevel", "x", "u", 2),
    ]
    assert 0 <= float(log[0]["age-seconds"]) < 30
    # redis-py parses client-info into a dict.
    assert log[1]["client-info"]["user"] == "u" and log[1]["client-info"]["cmd"] == "publish"
    assert len(admin.acl_log(2)) == 2
    # Refused inside MULTI: the context says so, and EXEC aborts.
    c.execute_command("MULTI")
    assert err(c, "GET", "y") == NOPERM_KEY
    # EXEC is not allowed either: it aborts the transaction.
    assert err(c, "EXEC") == ("Transaction discarded because of: NOPERM "
                              + noperm_cmd("exec"))
    assert c.get("k1") is None  # out of the transaction
    assert admin.acl_log(1)[0]["context"] == "multi"
    assert admin.acl_log_reset() is True
    assert admin.acl_log() == []


# --- connections of deleted users -----------------------------------------------

def test_deleted_user_is_disconnected(admin, acl_server):
    setuser(admin, "u", "on", ">pw", "+@all", "~*")
    c = login(acl_server, "u")
    assert c.ping() is True
    # Switched off, a connection stays (as Redis 7.0); deleted, it goes.
    setuser(admin, "u", "off")
    assert c.ping() is True
    setuser(admin, "u", "on")
    assert admin.acl_deluser("u") == 1
    with pytest.raises(redis.ConnectionError):
        c.ping()
    # A user deleting itself gets its reply, then the connection closes.
    setuser(admin, "v", "on", ">pw", "+@all", "~*")
    d = login(acl_server, "v")
    assert d.acl_deluser("v") == 1
    with pytest.raises(redis.ConnectionError):
        d.ping()


def test_acl_changes_are_not_writes(admin):
    before = admin.info("persistence")["rdb_changes_since_last_save"]
    setuser(admin, "u", "on", "+@all")
    admin.acl_deluser("u")
    assert admin.info("persistence")["rdb_changes_since_last_save"] == before


# --- ACL files and the configuration ---------------------------------------------

def test_aclfile_save_load(server_factory, tmp_path):
    path = tmp_path / "users.acl"
    path.write_text("user alice on >pw ~k* +get\n")
    s = server_factory("--aclfile", str(path))
    c = s.client()
    assert c.acl_users() == ["alice", "default"]
    a = login(s, "alice")
    assert a.get("k") is None
    assert c.execute_command("ACL", "SETUSER", "bob", "on", "nopass", "~*", "+@read") == "OK"
    assert c.acl_save() is True
    text = path.read_text()
    assert text.splitlines() == c.acl_list()
    # Edit the file and load it: bob goes, alice changes, and (as Redis 7.0)
    # the connections of every user but the default one close.
    b = login(s, "bob", "x")
    assert b.get("k") is None
    h = hashlib.sha256(b"pw").hexdigest()
    path.write_text(f"user alice on #{h} ~k* +get +set\nuser default on nopass ~* &* +@all\n")
    assert c.acl_load() is True
    assert c.acl_users() == ["alice", "default"]
    with pytest.raises(redis.ConnectionError):
        b.get("k")
    a = login(s, "alice")
    assert a.set("k", "v") is True
    # A bad file changes nothing.
    path.write_text("user alice on +nosuch\n")
    with pytest.raises(redis.ResponseError):
        c.acl_load()
    assert c.acl_users() == ["alice", "default"]
    assert a.set("k", "v") is True


def test_acl_file_not_configured(admin):
    assert err(admin, "ACL", "SAVE").startswith(
        "This Redis instance is not configured to use an ACL file.")
    assert err(admin, "ACL", "LOAD").startswith(
        "This Redis instance is not configured to use an ACL file.")


def test_users_from_configuration(server_factory):
    s = server_factory("--user", "carol", "on", ">cpw", "~c*", "+@string", "--requirepass", "secret")
    c = login(s, "carol", "cpw")
    assert c.set("c1", "v") is True
    assert err(c, "HSET", "c2", "f", "v") == noperm_cmd("hset")
    with pytest.raises(redis.AuthenticationError):
        s.client().ping()
    d = s.client(password="secret")
    assert d.acl_whoami() == "default"


# --- protected commands and configs, rename-command ----------------------------

DEBUG_REFUSED = ("DEBUG command not allowed. If the enable-debug-command option is set to "
                 "\"local\", you can run it from a local connection, otherwise you need to set "
                 "this option in the configuration file, and then restart the server.")


def test_debug_command_refused_by_default(server_factory):
    # The suite's fixtures enable DEBUG: set it back to Redis 7's default.
    s = server_factory("--enable-debug-command", "no", "--enable-protected-configs", "no")
    c = s.client()
    assert err(c, "DEBUG", "SLEEP", "0") == DEBUG_REFUSED
    assert c.config_get("enable-debug-command") == {"enable-debug-command": "no"}
    assert err(c, "CONFIG", "SET", "enable-debug-command", "yes") == (
        "CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set "
        "immutable config")
    for name in ("dir", "dbfilename"):
        assert err(c, "CONFIG", "SET", name, "x") == (
            f"CONFIG SET failed (possibly related to argument '{name}') - can't set protected "
            "config")


def test_debug_command_local(server_factory):
    # The tests connect over loopback: "local" allows them.
    s = server_factory("--enable-debug-command", "local", "--enable-protected-configs", "local")
    c = s.client()
    assert c.execute_command("DEBUG", "SLEEP", "0") == "OK"
    assert c.config_set("dbfilename", "other.rdb") is True


def test_rename_command(server_factory):
    s = server_factory("--rename-command", "get", "", "--rename-command", "set", "myset")
    c = s.client()
    assert err(c, "GET", "k") == "unknown command 'GET', with args beginning with: 'k' "
    assert err(c, "SET", "k", "v").startswith("unknown command 'SET'")
    assert c.execute_command("MYSET", "k", "v") == "OK"
    # ACL rules still name commands by their own names.
    assert c.execute_command("ACL", "SETUSER", "u", "on", "nopass", "~*", "+set") == "OK"
    assert c.execute_command("ACL", "DRYRUN", "u", "MYSET", "k", "v") == "OK"


# --- protected mode -------------------------------------------------------------

def non_loopback_address():
    """An address of this machine that is not a loopback one, or None."""
    # Connecting a UDP socket sends nothing: it only picks the source
    # address of the route to a (documentation, never used) destination.
    for dest in ("203.0.113.1", "198.51.100.1", "10.255.255.1"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.connect((dest, 9))
            addr = s.getsockname()[0]
        except OSError:
            continue
        finally:
            s.close()
        if not addr.startswith("127."):
            return addr
    return None


def first_reply(addr, port, send=b"PING\r\n"):
    with socket.create_connection((addr, port), timeout=5) as s:
        s.sendall(send)
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def test_protected_mode(server_factory):
    addr = non_loopback_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback address to connect from")
    s = server_factory("--bind", "127.0.0.1", addr)
    # From a non-loopback address with no password for the default user.
    reply = first_reply(addr, s.port)
    assert reply.startswith(b"-DENIED Redis is running in protected mode because protected "
                            b"mode is enabled and no password is set for the default user.")
    assert b"4) Setup a an authentication password for the default user." in reply
    c = s.client()
    assert c.info("stats")["rejected_connections"] >= 1
    # From loopback: served.
    assert first_reply("127.0.0.1", s.port) == b"+PONG\r\n"
    # With a password, remote clients may authenticate.
    c.config_set("requirepass", "secret")
    assert first_reply(addr, s.port) == b"-NOAUTH Authentication required.\r\n"
    c = s.client(password="secret")
    c.config_set("requirepass", "")
    c.config_set("protected-mode", "no")
    assert first_reply(addr, s.port) == b"+PONG\r\n"


# --- failed authentications are slowed down ---------------------------------------

@pytest.mark.cairn_only
def test_failed_auth_is_slowed_per_connection(admin, acl_server):
    setuser(admin, "u", "on", ">pw", "+@all", "~*")
    attacker = socket.create_connection((acl_server.host, acl_server.port), timeout=10)
    start = time.monotonic()
    # Five wrong passwords pipelined, then PING: the waits after the 2nd to
    # the 5th failure (50, 100, 200, 400 ms) hold the rest of the pipeline.
    attacker.sendall(b"AUTH u x\r\n" * 5 + b"PING\r\n")
    other = acl_server.client()
    other_start = time.monotonic()
    assert other.ping() is True
    other_took = time.monotonic() - other_start
    data = b""
    while data.count(b"\r\n") < 6:
        data += attacker.recv(65536)
    took = time.monotonic() - start
    assert data.count(b"-WRONGPASS") == 5 and data.endswith(b"+PONG\r\n")
    assert took >= 0.7
    # The server went on serving other clients meanwhile.
    assert other_took < 0.5
    # A success resets the count: the next failure is not delayed.
    attacker.sendall(b"AUTH u pw\r\nAUTH u x\r\nPING\r\n")
    start = time.monotonic()
    data = b""
    while data.count(b"\r\n") < 3:
        data += attacker.recv(65536)
    assert data.startswith(b"+OK\r\n-WRONGPASS") and data.endswith(b"+PONG\r\n")
    assert time.monotonic() - start < 0.5
    attacker.close()
    assert "Failed authentication from client" in acl_server.read_log()


def test_config_file_users_survive_rewrite(tmp_path):
    s = ConfServer(tmp_path, "user carol on >cpw ~c* +@string\n")
    try:
        c = s.wait_ready()
        carol = redis.Redis(port=s.port, username="carol", password="cpw", decode_responses=True)
        assert carol.set("c1", "v") is True
        assert c.config_rewrite() == "OK"
        assert "carol" in s.conf.read_text()
    finally:
        s.stop()
    s = ConfServer.from_file(s.conf, s.port)
    try:
        s.wait_ready()
        carol = redis.Redis(port=s.port, username="carol", password="cpw", decode_responses=True)
        assert carol.set("c2", "v") is True
        assert err(carol, "HSET", "c3", "f", "v") == noperm_cmd("hset")
    finally:
        s.stop()
