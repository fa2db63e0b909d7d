"""Helpers for the durability tests: a cairn-server that can be killed with
SIGKILL and started again on the same data directory."""
import os
import signal
import subprocess
import time

import redis

from conftest import cairn_binary, free_port


class DurableServer:
    """cairn-server on a directory the caller owns (it survives restarts)."""

    def __init__(self, data_dir, *args):
        self.dir = str(data_dir)
        self.args = list(args)
        self.port = free_port()
        self.proc = None
        self.logs = []

    def start(self, wait=True, extra=()):
        os.makedirs(self.dir, exist_ok=True)
        self.logfile = os.path.join(self.dir, "server-%d.log" % len(self.logs))
        self.logs.append(self.logfile)
        log = open(self.logfile, "w")
        # As the conftest fixture: the tests use DEBUG and CONFIG SET dbfilename.
        argv = [cairn_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--enable-debug-command", "yes",
                "--enable-protected-configs", "yes"] + self.args + list(extra)
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            try:
                self.wait_loaded()
            except BaseException:
                self.kill9()  # never leave a server behind
                raise
        return self

    def read_log(self):
        with open(self.logfile, errors="replace") as f:
            return f.read()

    def client(self, **kw):
        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", 20)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def wait_loaded(self, timeout=30):
        """Wait until the server answers without -LOADING."""
        deadline = time.time() + timeout
        c = self.client(socket_timeout=2)
        try:
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}: "
                                       + self.read_log())
                try:
                    c.ping()
                    return
                except redis.BusyLoadingError:
                    time.sleep(0.01)
                except (redis.ConnectionError, redis.TimeoutError):
                    # A busy machine can hold a loading server's answer
                    # past the socket timeout: ask again until the deadline.
                    time.sleep(0.02)
            raise RuntimeError("server did not finish loading: " + self.read_log())
        finally:
            c.close()

    def wait_exit(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None


def info(client, section="persistence"):
    return client.info(section)


def wait_for(pred, timeout=10, interval=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return False


def wait_no_child(client, timeout=20):
    """Wait until no BGSAVE or BGREWRITEAOF child runs or is scheduled."""
    def idle():
        i = info(client)
        return (i["aof_rewrite_in_progress"] == 0 and i["rdb_bgsave_in_progress"] == 0
                and i["aof_rewrite_scheduled"] == 0)
    assert wait_for(idle, timeout), "a background child is still running"


def aof_dir(data_dir):
    return os.path.join(str(data_dir), "appendonlydir")


def manifest(data_dir):
    """The manifest as a list of (name, seq, type)."""
    out = []
    with open(os.path.join(aof_dir(data_dir), "appendonly.aof.manifest")) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            kv = dict(zip(parts[::2], parts[1::2]))
            out.append((kv["file"], int(kv["seq"]), kv["type"]))
    return out


def incr_files(data_dir):
    return [os.path.join(aof_dir(data_dir), n) for n, _, t in manifest(data_dir) if t == "i"]
