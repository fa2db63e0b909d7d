"""The most used Node.js libraries that run Lua on Redis, in their real
flows (tests/node/flows.js): BullMQ (jobs with priorities, delays, retries
with backoff, bulk adds, failures, parent/child flows, pause, clean,
obliterate), Redlock (acquire, contention, extend, release, not releasing
another owner's lock) and rate-limiter-flexible (consume, refusal,
penalty, reward, block, delete).  Checked against redis-server too
(CAIRN_TEST_SERVER=redis).

The packages come from npm (tests/node/package.json), installed once into
a cache outside the tree; without npm or the registry the test is skipped
and says why."""
import hashlib
import os
import shutil
import subprocess

import pytest

NODE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node")


def node_modules():
    """The installed packages of tests/node/package.json, or a reason."""
    if not shutil.which("node") or not shutil.which("npm"):
        return None, "node and npm are not installed"
    with open(os.path.join(NODE_DIR, "package.json"), "rb") as f:
        spec = f.read()
    cache = os.environ.get("CAIRN_NODE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "cairn-node-tests")
    where = os.path.join(cache, hashlib.sha1(spec).hexdigest()[:16])
    done = os.path.join(where, "installed")
    if not os.path.exists(done):
        os.makedirs(where, exist_ok=True)
        with open(os.path.join(where, "package.json"), "wb") as f:
            f.write(spec)
        try:
            p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts"],
                               cwd=where, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            return None, "npm install timed out"
        if p.returncode != 0:
            return None, "npm install failed (offline?): " + p.stderr[-500:]
        open(done, "w").close()
    return os.path.join(where, "node_modules"), None


def test_node_libraries_real_flows(server):
    modules, why = node_modules()
    if not modules:
        pytest.skip(why)
    env = dict(os.environ, NODE_PATH=modules)
    p = subprocess.run(["node", os.path.join(NODE_DIR, "flows.js"), str(server.port)],
                       env=env, capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    for lib in ("bullmq ok", "redlock ok", "rate-limiter-flexible ok", "ALL OK"):
        assert lib in out, out
