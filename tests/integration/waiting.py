"""Helpers for tests of blocking commands: a waiting client is a raw RESP
connection (conftest's RawConn) whose command was sent and whose reply is
read when the test expects it; that it is parked is seen in CLIENT LIST
(its cmd= is the blocking command) from another connection."""
import socket
import time

import redis


def client_id(conn):
    conn.cmd("CLIENT", "ID")
    t, v = conn.read_reply()
    assert t == ":"
    return int(v)


def wait_blocked(r, cid, cmd, timeout=5.0):
    """Wait until client cid is parked in cmd (CLIENT LIST shows it)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for c in r.client_list():
            if int(c["id"]) == cid and c["cmd"] == cmd:
                return
        time.sleep(0.005)
    raise AssertionError(f"client {cid} did not block in {cmd}")


def block(r, raw, *args):
    """Open a connection, send a blocking command, and wait until it is
    parked.  Returns the connection."""
    conn = raw()
    cid = client_id(conn)
    conn.cmd(*args)
    wait_blocked(r, cid, args[0].lower())
    conn.cid = cid
    return conn


def no_reply_yet(conn, wait=0.1):
    """True if nothing arrives on conn within wait seconds."""
    if conn.buf:
        return False
    conn.sock.settimeout(wait)
    try:
        data = conn.sock.recv(65536)
    except socket.timeout:
        return True
    finally:
        conn.sock.settimeout(5)
    conn.buf += data
    return False


def wait_busy(c, timeout=5.0):
    """Wait until c's commands get -BUSY (a slow script or function runs
    elsewhere); return the error text."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c.ping()
        except redis.ResponseError as e:
            return str(e)
        time.sleep(0.02)
    raise AssertionError("the server never answered BUSY")
