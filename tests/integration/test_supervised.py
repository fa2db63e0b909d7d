"""`supervised systemd`: the sd_notify datagrams a server sends to
$NOTIFY_SOCKET, received by a unix datagram socket the test owns (a path,
or an abstract name), in order.

Tests not marked cairn_only hold for redis-server too (Debian builds it
with systemd support).
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import redis

from conftest import TARGET, cairn_binary, free_port


class Notify:
    """A datagram socket standing in for systemd's notification socket."""

    def __init__(self, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"cairn-test-notify-{os.getpid()}-{time.monotonic_ns()}"
            self.sock.bind("\0" + name)
            self.env = "@" + name
            self.tmp = None
        else:
            self.tmp = tempfile.mkdtemp(prefix="cairn-notify-")
            path = os.path.join(self.tmp, "notify")
            self.sock.bind(path)
            self.env = path
        self.messages = []

    def wait_for(self, text, timeout=10):
        """Receive until a message contains text; returns all so far."""
        deadline = time.time() + timeout
        while not any(text in m for m in self.messages):
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"no {text!r} in {self.messages}")
            self.sock.settimeout(left)
            self.messages.append(self.sock.recv(4096).decode())
        return self.messages

    def close(self):
        self.sock.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Supervised:
    def __init__(self, notify, data_dir, *flags):
        self.port = free_port()
        binary = "redis-server" if TARGET == "redis" else cairn_binary()
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", data_dir,
                "--supervised", "systemd", *flags]
        if TARGET == "redis":
            args += ["--daemonize", "no"]
        env = dict(os.environ, NOTIFY_SOCKET=notify.env)
        self.log = open(os.path.join(data_dir, "server.log"), "a")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def client(self):
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def data_dir():
    d = tempfile.mkdtemp(prefix="cairn-test-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def lines_of(messages):
    """Each assignment of each datagram, in order."""
    return [ln for m in messages for ln in m.split("\n") if ln]


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_ready_then_stopping(data_dir, abstract):
    notify = Notify(abstract)
    s = Supervised(notify, data_dir, "--save", "")
    try:
        notify.wait_for("READY=1")
        # Ready means serving.
        c = s.client()
        assert c.ping()
        assert c.info("server")["process_supervised"] == "systemd"
        c.close()
        s.proc.send_signal(signal.SIGTERM)
        lines = lines_of(notify.wait_for("STOPPING=1"))
        assert lines.index("READY=1") < lines.index("STOPPING=1")
        assert s.proc.wait(10) == 0
    finally:
        s.stop()
        notify.close()


@pytest.mark.cairn_only
def test_loading_progress_before_ready(data_dir):
    # A dataset to load: written by one server, loaded by the next.
    first_notify = Notify()
    first = Supervised(first_notify, data_dir, "--save", "")
    try:
        deadline = time.time() + 10
        while True:
            try:
                c = first.client()
                c.ping()
                break
            except redis.ConnectionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        for batch in range(100):
            c.mset({f"key:{batch}:{i}": "x" * 100 for i in range(1000)})
        assert c.save()
        c.close()
    finally:
        first.stop()
        first_notify.close()
    notify = Notify()
    s = Supervised(notify, data_dir, "--save", "")
    try:
        lines = lines_of(notify.wait_for("READY=1"))
        loading = [ln for ln in lines if ln.startswith("STATUS=Loading the dataset: ")]
        assert loading, lines
        assert lines.index(loading[-1]) < lines.index("READY=1")
        percents = [int(ln.rsplit(" ", 1)[1].rstrip("%")) for ln in loading]
        assert percents == sorted(percents) and percents[0] == 0
        c = s.client()
        assert c.dbsize() == 100000
        c.close()
    finally:
        s.stop()
        notify.close()


@pytest.mark.cairn_only
def test_auto_detects_systemd(data_dir):
    notify = Notify()
    port = free_port()
    env = dict(os.environ, NOTIFY_SOCKET=notify.env)
    with open(os.path.join(data_dir, "server.log"), "w") as log:
        proc = subprocess.Popen([cairn_binary(), "--port", str(port), "--dir", data_dir,
                                 "--supervised", "auto"], stdout=log, stderr=subprocess.STDOUT,
                                env=env)
        try:
            assert "READY=1" in lines_of(notify.wait_for("READY=1"))
        finally:
            proc.terminate()
            proc.wait(10)
            notify.close()


@pytest.mark.cairn_only
def test_not_supervised_sends_nothing(data_dir):
    notify = Notify()
    port = free_port()
    env = dict(os.environ, NOTIFY_SOCKET=notify.env)
    with open(os.path.join(data_dir, "server.log"), "w") as log:
        proc = subprocess.Popen([cairn_binary(), "--port", str(port), "--dir", data_dir],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.time() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    assert time.time() < deadline
                    time.sleep(0.05)
            notify.sock.settimeout(0.5)
            with pytest.raises(socket.timeout):
                notify.sock.recv(4096)
        finally:
            proc.terminate()
            proc.wait(10)
            notify.close()


UNIT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "dist", "cairn-server.service")


def unit_settings():
    settings = {}
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")):
                key, _, value = line.partition("=")
                settings.setdefault(key, value)
    return settings


@pytest.mark.cairn_only
def test_unit_file_command_notifies(data_dir):
    """The shipped unit's ExecStart, run as systemd would run it (with the
    binary and the configuration file moved), notifies readiness.  This
    machine has no running systemd to start the unit itself."""
    settings = unit_settings()
    assert settings["Type"] == "notify"
    argv = settings["ExecStart"].split()
    assert argv[0].endswith("/cairn-server") and argv[1] == "/etc/cairn/cairn.conf"
    port = free_port()
    conf = os.path.join(data_dir, "cairn.conf")
    with open(conf, "w") as f:
        f.write(f"port {port}\nbind 127.0.0.1\ndir {data_dir}\nsave \"\"\n")
    notify = Notify()
    env = dict(os.environ, NOTIFY_SOCKET=notify.env)
    with open(os.path.join(data_dir, "server.log"), "w") as log:
        proc = subprocess.Popen([cairn_binary(), conf, *argv[2:]], stdout=log,
                                stderr=subprocess.STDOUT, env=env)
        try:
            notify.wait_for("READY=1")
            proc.send_signal(signal.SIGTERM)
            notify.wait_for("STOPPING=1")
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            notify.close()


@pytest.mark.cairn_only
@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
@pytest.mark.parametrize("name,instance", [("cairn-server.service", ""),
                                           ("cairn-server@.service", ":cairn-server@1.service")])
def test_unit_file_verifies(tmp_path, name, instance):
    """systemd's own parser accepts the unit, and the group node's template
    as its instance @1 (with ExecStart pointing at the built binary, which
    it checks exists); it reports problems on its output while still
    exiting 0, so the output must be empty."""
    path = os.path.join(os.path.dirname(UNIT), name)
    text = open(path).read().replace("/usr/local/bin/cairn-server", cairn_binary())
    unit = tmp_path / name
    unit.write_text(text)
    proc = subprocess.run(["systemd-analyze", "verify", str(unit) + instance],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout + proc.stderr == ""
