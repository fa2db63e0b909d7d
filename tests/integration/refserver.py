"""A redis-server started next to the server under test, for randomized
comparisons: the same commands go to both and the replies must be equal.

Import the `reference` fixture into a test module to use it.  Under
CAIRN_TEST_SERVER=redis both sides are redis-server, so the comparisons
still run (and must pass) there.
"""
import pytest
import redis

from conftest import Server


@pytest.fixture(scope="module")
def reference():
    s = Server(is_redis=True)
    yield s
    s.stop()


def call(client, *args):
    """A command's reply, or its error as an ("error", message) pair so
    that errors compare as values."""
    try:
        return client.execute_command(*args)
    except redis.ResponseError as e:
        return ("error", str(e))


def pair(server, reference):
    """Clients (bytes replies) of the server under test and the reference,
    both emptied."""
    a = server.client(decode_responses=False)
    b = reference.client(decode_responses=False)
    for c in (a, b):
        c.flushall()
        # Raw replies: redis-py's parsers of GEO* and others need the
        # keyword arguments of its own methods.
        c.response_callbacks.clear()
    return a, b
