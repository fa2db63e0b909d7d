"""The most used Node.js libraries that run Lua on Redis, in their real
flows (node_libs/flows.js): BullMQ (jobs with priorities, delays, retries
with backoff, bulk adds, failures, parent/child flows, pause, clean,
obliterate), Redlock (acquire, contention, extend, release, not releasing
another owner's lock) and rate-limiter-flexible (consume, refusal,
penalty, reward, block, delete).  The packages of
node_libs/package-lock.json are installed with `npm ci` once, outside the
tree (CAIRN_NODE_LIBS, default ~/.cache/cairn/node-libs-<lock hash>).
Runs against redis-server too (CAIRN_TEST_SERVER=redis)."""
import os
import subprocess

import pytest

from nodejs import npm_install

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_libs")


@pytest.fixture(scope="module")
def node_modules():
    # --ignore-scripts: msgpackr's optional native build; it falls back to
    # JavaScript.
    return npm_install(HERE, "node-libs", "CAIRN_NODE_LIBS", ["--ignore-scripts"])


def test_node_libraries_real_flows(server, node_modules):
    env = dict(os.environ, NODE_PATH=node_modules)
    p = subprocess.run(["node", os.path.join(HERE, "flows.js"), str(server.port)], cwd=HERE,
                       env=env, capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    for lib in ("bullmq ok", "redlock ok", "rate-limiter-flexible ok", "ALL OK"):
        assert lib in out, out[-3000:]
