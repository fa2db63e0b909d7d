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


def test_keyspace_avg_ttl_resets_when_no_key_has_a_ttl(server):
    c = server.client()
    c.set("plain", "v")
    c.set("volatile", "v", px=100000)
    # The estimate comes from the active expire cycle's samples.
    assert wait_for(lambda: c.info("keyspace")["db0"]["avg_ttl"] > 0, timeout=10)
    c.delete("volatile")
    assert wait_for(lambda: c.info("keyspace")["db0"]["avg_ttl"] == 0, timeout=10), \
        c.info("keyspace")
    assert c.info("keyspace")["db0"] == {"keys": 1, "expires": 0, "avg_ttl": 0}
