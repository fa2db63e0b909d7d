"""A group on addresses that are not loopback ones, in a network namespace
the test creates (`unshare --net`, so root): nodes started as the docs
say, with no password and protected mode on (the default), must still
reach each other -- protected mode lets in the addresses of the group's
nodes, and only those (netns_group.py).  Cairn-only; skipped where
namespaces cannot be created."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import cairn_binary

pytestmark = pytest.mark.cairn_only

HERE = os.path.dirname(os.path.abspath(__file__))


def can_unshare():
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    p = subprocess.run(["unshare", "--net", "ip", "link", "set", "lo", "up"],
                       capture_output=True, timeout=30)
    return p.returncode == 0


@pytest.mark.skipif(not can_unshare(), reason="cannot create a network namespace")
def test_group_on_non_loopback_addresses_with_protected_mode():
    p = subprocess.run(["unshare", "--net", sys.executable,
                        os.path.join(HERE, "netns_group.py"), cairn_binary()],
                       capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    for step in ("elected", "forwarded", "outsider denied"):
        assert step in out, out
