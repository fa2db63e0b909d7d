"""Replies that application libraries and tools read, where Cairn differed
from Redis 7.0 (found by running the Node.js libraries of test_node_apps.py
and their clients' helpers against both servers).  Runs against
redis-server too (CAIRN_TEST_SERVER=redis)."""
import pytest
import redis

from conftest import wait_for


def test_module_list_is_empty_and_module_changes_are_refused(server):
    c = server.client()
    # Clients ask which modules a server has (node-redis' moduleList, tools
    # probing for search or JSON): none, not an unknown command.
    assert c.execute_command("MODULE", "LIST") == []
    assert c.execute_command("MODULE", "HELP")[0].startswith("MODULE <subcommand>")
    not_allowed = ("MODULE command not allowed. If the enable-module-command option is set to "
                   "\"local\", you can run it from a local connection, otherwise you need to set "
                   "this option in the configuration file, and then restart the server.")
    for args in (("LOAD", "/nonexistent.so"), ("LOADEX", "/nonexistent.so"), ("UNLOAD", "x")):
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("MODULE", *args)
        assert str(e.value) == not_allowed
    with pytest.raises(redis.ResponseError, match=r"^unknown subcommand 'FOO'. Try MODULE HELP.$"):
        c.execute_command("MODULE", "FOO")
    with pytest.raises(redis.ResponseError,
                       match=r"^wrong number of arguments for 'module\|list' command$"):
        c.execute_command("MODULE", "LIST", "x")
    c.response_callbacks.pop("COMMAND", None)
    info = c.execute_command("COMMAND", "INFO", "module|list")[0]
    assert info[:3] == ["module|list", 2, ["admin", "noscript"]]


def test_module_load_when_enabled_reports_the_failure(server_factory):
    s = server_factory("--enable-module-command", "yes")
    c = s.client()
    with pytest.raises(redis.ResponseError,
                       match=r"^Error loading the extension. Please check the server logs.$"):
        c.execute_command("MODULE", "LOAD", "/nonexistent.so")
    with pytest.raises(redis.ResponseError,
                       match=r"^Error unloading module: no such module with that name$"):
        c.execute_command("MODULE", "UNLOAD", "nosuch")
    assert c.execute_command("MODULE", "LIST") == []


def test_keyspace_avg_ttl_resets_when_no_key_has_a_ttl(server_factory):
    # a server of its own: the session's is shared with other files
    c = server_factory().client()
    c.set("plain", "v")
    c.set("volatile", "v", px=100000)
    # The estimate comes from the active expire cycle's samples.
    assert wait_for(lambda: c.info("keyspace")["db0"]["avg_ttl"] > 0, timeout=10)
    c.delete("volatile")
    assert wait_for(lambda: c.info("keyspace")["db0"]["avg_ttl"] == 0, timeout=10), \
        c.info("keyspace")
    assert c.info("keyspace")["db0"] == {"keys": 1, "expires": 0, "avg_ttl": 0}


def test_wait_argument_errors(server):
    c = server.client()
    for args, err in ((("abc", "0"), "value is not an integer or out of range"),
                      (("1", "abc"), "timeout is not an integer or out of range"),
                      (("1", "1.5"), "timeout is not an integer or out of range"),
                      (("1", "-1"), "timeout is negative")):
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("WAIT", *args)
        assert str(e.value) == err, args
    assert c.execute_command("WAIT", "0", "0") == 0


def test_exec_refused_in_subscribed_context_is_an_aborted_transaction(server):
    c = server.client()
    conn = c.connection_pool.get_connection("MULTI")
    try:
        conn.send_command("MULTI")
        assert conn.read_response() == "OK"
        conn.send_command("SUBSCRIBE", "app-compat-ch")
        assert conn.read_response() == "QUEUED"
        conn.send_command("EXEC")
        assert conn.read_response() == [["subscribe", "app-compat-ch", 1]]
        # Subscribed (RESP2): MULTI is refused, and so is EXEC, as an abort.
        only = ("only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in "
                "this context")
        conn.send_command("MULTI")
        with pytest.raises(redis.ResponseError) as e:
            conn.read_response()
        assert str(e.value) == f"Can't execute 'multi': {only}"
        conn.send_command("EXEC")
        with pytest.raises(redis.ResponseError) as e:
            conn.read_response()
        # redis-py drops the EXECABORT code from the message.
        assert isinstance(e.value, redis.exceptions.ExecAbortError), e.value
        assert str(e.value) == f"Transaction discarded because of: Can't execute 'exec': {only}"
    finally:
        conn.disconnect()
        c.connection_pool.release(conn)
