"""Node-to-node authentication in a Raft group: with requirepass (or ACL
users) on, nodes authenticate to each other with masteruser/masterauth,
as a Redis replica does to its master (docs/replication.md).

Cairn-only (Redis has no consensus replication)."""
import time

import pytest
import redis

from raftgroup import Group

pytestmark = pytest.mark.cairn_only


def close(g):
    codes = g.close()
    assert all(rc in (0, -15, -9) for rc in codes.values()), codes


def check_group_works(g):
    lead = g.leader(timeout=10)
    follower = next(n for n in g.nodes if n.id != lead.id)
    with lead.client() as c:
        c.set("a", "1")
    with follower.client() as c:
        assert c.get("a") == "1"
        # forwarded to the leader over an authenticated connection
        assert c.incr("n") == 1
    with lead.client() as c:
        assert c.get("n") == "1"


def test_requirepass_with_masterauth():
    g = Group(3, extra_args=("--requirepass", "pw1", "--masterauth", "pw1"),
              client_kw={"password": "pw1"})
    try:
        check_group_works(g)
        with g.nodes[0].client(password=None) as c:
            with pytest.raises(redis.AuthenticationError):
                c.get("a")
    finally:
        close(g)


def test_acl_user_for_the_nodes():
    users = ("--user", "default", "reset", "on", ">cpw", "~*", "&*", "+@all",
             "--user", "node", "on", ">npw", "~*", "&*", "+@all",
             "--masteruser", "node", "--masterauth", "npw")
    g = Group(3, extra_args=users, client_kw={"password": "cpw"})
    try:
        check_group_works(g)
    finally:
        close(g)


def test_nodes_without_the_password_elect_no_leader():
    g = Group(3, extra_args=("--requirepass", "pw1"), client_kw={"password": "pw1"})
    try:
        time.sleep(2.5)  # more than two election timeouts
        for n in g.nodes:
            assert n.info()["raft_state"] != "leader"
        with g.nodes[0].client() as c:
            with pytest.raises(redis.ResponseError, match="CLUSTERDOWN"):
                c.get("a")
    finally:
        close(g)
