"""What the scripts run inside a namespace of their own (netns_group.py,
netns_names.py) share."""
import subprocess
import time

import redis


def sh(*args):
    subprocess.run(args, check=True)


def wait(what, cond, timeout=20.0):
    """Until cond() holds (errors while the group settles, or None where
    a node was looked for, count as not yet); exits failing after
    timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except (redis.RedisError, OSError, AttributeError):
            pass
        time.sleep(0.05)
    raise SystemExit(f"FAIL: {what}")
