"""ioredis's Sentinel support finds and follows the leader of a Cairn Raft
group, unchanged (the issue: "redis-py's Sentinel, ioredis's sentinels
option ... find the leader").  The client writes while the test kills the
leader with SIGKILL; it must reconnect to the new leader by itself, and
every write it saw acknowledged must read back.  Cairn-only (a Raft group);
node_modules come from test_node_clients's fixture."""
import json
import os
import subprocess

import pytest

from raftgroup import group  # noqa: F401 (fixture)
from test_node_clients import HERE, node_modules  # noqa: F401 (fixture)

pytestmark = pytest.mark.cairn_only


def test_ioredis_sentinel_follows_failover(group, node_modules):  # noqa: F811
    lead = group.leader()
    ports = ",".join(str(n.port) for n in group.nodes)
    env = dict(os.environ, NODE_PATH=node_modules)
    proc = subprocess.Popen(["node", os.path.join(HERE, "sentinel.js"), ports, "8"],
                            cwd=HERE, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        ready = proc.stdout.readline().split()
        assert ready[:1] == ["ready"], (ready, proc.stderr.read()[-3000:])
        assert int(ready[1]) == lead.port
        lead.kill()
        new = group.leader(timeout=10, exclude=(lead.id,))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = json.loads(out.strip().splitlines()[-1])
    assert "error" not in result, (result, err[-3000:])
    # It wrote to the old leader, then to the new one, found by itself.
    assert result["masters"][0] == lead.port
    assert result["masters"][-1] == new.port, result
    assert result["acked"] > 100 and result["lost"] == 0, result
    with new.client() as c:
        assert c.exists("k0") == 1
