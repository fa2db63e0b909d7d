"""The most used Node.js libraries that run Lua on Redis, in their real
flows (node_libs/flows.js): BullMQ (jobs with priorities, delays, retries
with backoff, bulk adds, failures, parent/child flows, pause, clean,
obliterate), Redlock (acquire, contention, extend, release, not releasing
another owner's lock) and rate-limiter-flexible (consume, refusal,
penalty, reward, block, delete).  The packages of
node_libs/package-lock.json are installed with `npm ci` once, outside the
tree (CAIRN_NODE_LIBS, default ~/.cache/cairn/node-libs-<lock hash>).
Runs against redis-server too (CAIRN_TEST_SERVER=redis)."""
import hashlib
import os
import shutil
import subprocess

import pytest

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_libs")


@pytest.fixture(scope="module")
def node_modules():
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed: run scripts/bootstrap.sh"
    with open(os.path.join(HERE, "package-lock.json"), "rb") as f:
        lock_hash = hashlib.sha256(f.read()).hexdigest()[:12]
    where = os.environ.get("CAIRN_NODE_LIBS") or os.path.join(
        os.path.expanduser("~"), ".cache", "cairn", f"node-libs-{lock_hash}")
    marker = os.path.join(where, ".installed")
    if not os.path.exists(marker):
        os.makedirs(where, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(HERE, name), where)
        # --ignore-scripts: msgpackr's optional native build; it falls back
        # to JavaScript.
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts",
                            "--loglevel=error"], cwd=where, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, f"npm ci failed: {r.stdout[-2000:]}{r.stderr[-2000:]}"
        open(marker, "w").close()
    return os.path.join(where, "node_modules")


def test_node_libraries_real_flows(server, node_modules):
    env = dict(os.environ, NODE_PATH=node_modules)
    p = subprocess.run(["node", os.path.join(HERE, "flows.js"), str(server.port)], cwd=HERE,
                       env=env, capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    for lib in ("bullmq ok", "redlock ok", "rate-limiter-flexible ok", "ALL OK"):
        assert lib in out, out[-3000:]
