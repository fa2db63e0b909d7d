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
import hashlib
import os
import shutil
import subprocess

import pytest

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
SCENARIOS = ["ioredis_pubsub", "ioredis_tracking", "node_redis4_pubsub",
             "node_redis5_resp3_pubsub", "node_redis5_client_side_cache"]


@pytest.fixture(scope="module")
def node_modules():
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed: run scripts/bootstrap.sh"
    with open(os.path.join(HERE, "package-lock.json"), "rb") as f:
        lock_hash = hashlib.sha256(f.read()).hexdigest()[:12]
    where = os.environ.get("CAIRN_NODE_CLIENTS") or os.path.join(
        os.path.expanduser("~"), ".cache", "cairn", f"node-clients-{lock_hash}")
    marker = os.path.join(where, ".installed")
    if not os.path.exists(marker):
        os.makedirs(where, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(HERE, name), where)
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=where, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"npm ci failed: {r.stdout[-2000:]}{r.stderr[-2000:]}"
        open(marker, "w").close()
    return os.path.join(where, "node_modules")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_node_client(server, node_modules, scenario):
    server.client().flushall()
    env = dict(os.environ, NODE_PATH=node_modules)
    r = subprocess.run(["node", os.path.join(HERE, "clients.js"), scenario, str(server.port)],
                       cwd=HERE, env=env, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout.strip()) == (0, "ok"), r.stderr[-3000:]
