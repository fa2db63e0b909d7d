"""Real Node.js clients, as applications use them: ioredis and node-redis
(v4, RESP2; v5, RESP3) subscribing to channels and patterns, receiving
every message once per matching subscription in publish order, and
unsubscribing; client-side caching through ioredis (RESP2 redirection to
__redis__:invalidate) and node-redis v5's own client-side cache (RESP3
CLIENT TRACKING).  The scenarios are in node/clients.js.  The packages of
node/package-lock.json are installed with `npm ci` once, outside the tree
(CAIRN_NODE_CLIENTS, default ~/.cache/cairn/node-clients-<lock hash>).
Node.js comes from scripts/bootstrap.sh.  Runs against redis-server too
(CAIRN_TEST_SERVER=redis)."""
import os
import subprocess

import pytest

from nodejs import npm_install

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
SCENARIOS = ["ioredis_pubsub", "ioredis_tracking", "node_redis4_pubsub",
             "node_redis5_resp3_pubsub", "node_redis5_client_side_cache"]


@pytest.fixture(scope="module")
def node_modules():
    return npm_install(HERE, "node-clients", "CAIRN_NODE_CLIENTS")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_node_client(server, node_modules, scenario):
    server.client().flushall()
    env = dict(os.environ, NODE_PATH=node_modules)
    r = subprocess.run(["node", os.path.join(HERE, "clients.js"), scenario, str(server.port)],
                       cwd=HERE, env=env, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout.strip()) == (0, "ok"), r.stderr[-3000:]
