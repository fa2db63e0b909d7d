"""The Node.js libraries applications build on Redis, in their real flows
(node_apps/apps.js): socket.io fan-out across two servers over the
pub/sub, sharded pub/sub and streams adapters (rooms, broadcasts, acks,
fetchSockets, serverSideEmit, connection state recovery), connect-redis
sessions behind express-session on ioredis and node-redis v4, Bull and
Bee-Queue, and the clients' own features (node-redis v4 scan iterators,
isolated connections, WATCH, pub/sub of every kind, CLIENT, tracking;
ioredis pipelines, auto-pipelining, defineCommand, scan streams, keyPrefix,
reconnection after CLIENT KILL, MONITOR).  The packages of
node_apps/package-lock.json are installed with `npm ci` once, outside the
tree (CAIRN_NODE_APPS, default ~/.cache/cairn/node-apps-<lock hash>).
Runs against redis-server too (CAIRN_TEST_SERVER=redis)."""
import os
import subprocess

import pytest

from nodejs import npm_install

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_apps")

FLOWS = {
    "socketio": ("socketio-ioredis,socketio-node-redis,socketio-sharded,socketio-streams",
                 ["socket.io redis-adapter ioredis ok", "socket.io redis-adapter node-redis ok",
                  "socket.io sharded adapter ok", "socket.io streams adapter ok"]),
    "sessions": ("sessions-ioredis,sessions-node-redis",
                 ["connect-redis ioredis ok", "connect-redis node-redis ok"]),
    "queues": ("bull,bee-queue", ["bull ok", "bee-queue ok"]),
    "clients": ("node-redis,ioredis", ["node-redis ok", "ioredis ok"]),
}


@pytest.fixture(scope="module")
def node_modules():
    # --ignore-scripts: no package here needs a build step.
    return npm_install(HERE, "node-apps", "CAIRN_NODE_APPS", ["--ignore-scripts"])


@pytest.mark.parametrize("group", sorted(FLOWS))
def test_node_apps_real_flows(server, node_modules, group):
    flows, expected = FLOWS[group]
    env = dict(os.environ, NODE_PATH=node_modules)
    p = subprocess.run(["node", os.path.join(HERE, "apps.js"), str(server.port), flows],
                       cwd=HERE, env=env, capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    for line in expected + ["ALL OK"]:
        assert line in out, out[-3000:]
