"""The Prometheus endpoint (metrics-port, metrics-bind): redis_exporter's
metric names over HTTP on the server's own loop, checked against INFO, by
promtool and by a real Prometheus.  Redis has no such endpoint: every test
here is Cairn-only.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import free_port

pytestmark = pytest.mark.cairn_only

# Names redis_exporter uses that promtool's linter dislikes; kept as the
# exporter spells them so that existing dashboards keep working.
EXPORTER_LINT = {
    "redis_aof_current_rewrite_duration_sec", "redis_aof_last_rewrite_duration_sec",
    "redis_rdb_current_bgsave_duration_sec", "redis_rdb_last_bgsave_duration_sec",
    "redis_expired_time_cap_reached_total",
}


@pytest.fixture
def msrv(server_factory):
    mport = free_port()
    s = server_factory("--metrics-port", str(mport))
    s.mport = mport
    return s


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return resp.read().decode()


def samples(text):
    """{name{labels}: value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def raw_request(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)  # the server closed the connection
            chunks.append(chunk)


def test_off_by_default(server):
    c = server.client()
    assert c.config_get("metrics-port") == {"metrics-port": "0"}
    assert c.config_get("metrics-bind") == {"metrics-bind": "127.0.0.1"}
    c.close()


def test_exporter_metrics_match_info(msrv):
    c = msrv.client()
    c.set("a", "1")
    c.set("b", "2", ex=100)
    c.set("c", "3")
    c.get("a")
    c.get("missing")
    with pytest.raises(Exception):
        c.execute_command("NOSUCHCOMMAND")
    m = samples(scrape(msrv.mport))
    info = c.info("everything")
    assert m["redis_up"] == 1
    inst = [k for k in m if k.startswith("redis_instance_info{")]
    assert len(inst) == 1
    assert 'role="master"' in inst[0] and f'tcp_port="{msrv.port}"' in inst[0]
    assert f'process_id="{msrv.pid}"' in inst[0] and 'redis_mode="standalone"' in inst[0]
    assert m['redis_db_keys{db="db0"}'] == 3
    assert m['redis_db_keys_expiring{db="db0"}'] == 1
    assert m['redis_db_keys{db="db15"}'] == 0
    assert m["redis_connected_clients"] >= 1
    assert m["redis_blocked_clients"] == 0
    assert m["redis_memory_used_bytes"] > 0
    assert m["redis_memory_max_bytes"] == 0
    assert m["redis_keyspace_hits_total"] == info["keyspace_hits"] == 1
    assert m["redis_keyspace_misses_total"] == info["keyspace_misses"] == 1
    assert m["redis_expired_keys_total"] == 0 and m["redis_evicted_keys_total"] == 0
    assert m['redis_commands_total{cmd="set"}'] == 3
    assert m['redis_commands_total{cmd="get"}'] == 2
    assert 0 < m['redis_commands_duration_seconds_total{cmd="set"}'] < 1
    assert m['redis_errors_total{err="ERR"}'] >= 1
    assert m["redis_net_input_bytes_total"] > 0 and m["redis_net_output_bytes_total"] > 0
    assert m["redis_uptime_in_seconds"] >= 0
    # INFO ran after the scrape and does not count itself.
    assert m["redis_commands_processed_total"] == info["total_commands_processed"] >= 5
    assert 'redis_latency_percentiles_usec{cmd="set",quantile="0.99"}' in m
    assert m['redis_latency_percentiles_usec_count{cmd="set"}'] == 3
    c.config_set("maxmemory", "100mb")
    assert samples(scrape(msrv.mport))["redis_memory_max_bytes"] == 100 * 1024 * 1024
    c.close()


def test_scrape_is_not_a_command(msrv):
    before = samples(scrape(msrv.mport))
    after = samples(scrape(msrv.mport))
    assert after["redis_commands_processed_total"] == before["redis_commands_processed_total"]
    assert 'redis_commands_total{cmd="info"}' not in after
    assert after["cairn_metrics_scrapes_total"] == before["cairn_metrics_scrapes_total"] + 1


def test_scrape_does_not_grow_with_the_keyspace(msrv):
    empty = scrape(msrv.mport)
    c = msrv.client()
    pipe = c.pipeline(transaction=False)
    for i in range(20000):
        pipe.set(f"k{i}", i)
    pipe.execute()
    c.close()
    full = scrape(msrv.mport)
    # The same families, a few numbers longer (set now has statistics).
    assert abs(len(full) - len(empty)) < 2000
    assert samples(full)['redis_db_keys{db="db0"}'] == 20000


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool (Debian's prometheus) is not "
                    "installed: scripts/bootstrap.sh installs it")
def test_promtool_accepts_the_output(msrv):
    c = msrv.client()
    c.set("x", "1")
    c.execute_command("CONFIG", "GET", "maxmemory")
    c.close()
    check_with_promtool(scrape(msrv.mport))


def check_with_promtool(text):
    proc = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    out = proc.stdout + proc.stderr
    # 0: clean; 3: lint remarks only.  Parse errors are 1.
    assert proc.returncode in (0, 3), out
    assert "error" not in out.lower(), out
    flagged = {line.split(" ", 1)[0] for line in out.splitlines() if line.strip()}
    assert flagged <= EXPORTER_LINT, out


def status_of(response):
    return int(response.split(b" ", 2)[1])


def test_bad_requests(msrv):
    p = msrv.mport
    assert status_of(raw_request(p, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")) == 404
    assert status_of(raw_request(p, b"GET / HTTP/1.1\r\n\r\n")) == 404
    assert status_of(raw_request(p, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")) == 405
    assert status_of(raw_request(p, b"HELLO\r\n\r\n")) == 400
    assert status_of(raw_request(p, b"GET /metrics HTTP/2.0\r\n\r\n")) == 400
    assert status_of(raw_request(p, b"GET metrics HTTP/1.1\r\n\r\n")) == 400
    # A request head past the limit is refused without waiting for its end.
    big = b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 20000
    assert status_of(raw_request(p, big)) == 400
    # HEAD: the headers only.
    head = raw_request(p, b"HEAD /metrics HTTP/1.1\r\n\r\n")
    assert status_of(head) == 200 and head.endswith(b"\r\n\r\n")
    # A query string is fine; the response closes the connection.
    ok = raw_request(p, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n")
    assert status_of(ok) == 200 and b"Connection: close" in ok and b"redis_up 1" in ok
    # The data port was never disturbed.
    c = msrv.client()
    assert c.ping()
    c.close()


def test_connections_are_bounded(msrv):
    idle = [socket.create_connection(("127.0.0.1", msrv.mport), timeout=5) for _ in range(16)]
    try:
        time.sleep(0.2)
        # The 17th is closed at once, without a response.
        extra = socket.create_connection(("127.0.0.1", msrv.mport), timeout=5)
        extra.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        try:
            got = extra.recv(65536)
        except ConnectionResetError:
            got = b""
        assert got == b""
        extra.close()
    finally:
        for s in idle:
            s.close()
    deadline = time.time() + 5
    while True:
        try:
            assert "redis_up 1" in scrape(msrv.mport)
            break
        except (urllib.error.URLError, ConnectionError):
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def test_config_set_moves_the_endpoint(msrv):
    c = msrv.client()
    new = free_port()
    assert c.config_set("metrics-port", new)
    assert "redis_up 1" in scrape(new)
    with pytest.raises(urllib.error.URLError):
        scrape(msrv.mport)
    # A port in use is refused and the endpoint stays where it was.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        with pytest.raises(Exception) as e:
            c.config_set("metrics-port", busy.getsockname()[1])
        assert "Unable to listen on this port" in str(e.value)
    assert c.config_get("metrics-port") == {"metrics-port": str(new)}
    assert "redis_up 1" in scrape(new)
    assert c.config_set("metrics-port", 0)
    with pytest.raises(urllib.error.URLError):
        scrape(new)
    c.close()


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("prometheus"), reason="Debian's prometheus is not installed: "
                    "scripts/bootstrap.sh installs it")
def test_real_prometheus_scrapes(msrv):
    """A real Prometheus scrapes the endpoint every second; its query API
    then reports the target up and the server's key count."""
    c = msrv.client()
    c.set("p1", "1")
    c.set("p2", "2")
    c.close()
    tmp = tempfile.mkdtemp(prefix="cairn-prom-")
    web = free_port()
    conf = os.path.join(tmp, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: cairn\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{msrv.mport}']\n")
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    proc = subprocess.Popen(["prometheus", f"--config.file={conf}",
                             f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                             f"--web.listen-address=127.0.0.1:{web}"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        found = {}
        while time.time() < deadline and len(found) < 2:
            time.sleep(1)
            for name, query in (("up", 'up{job="cairn"}'),
                                ("keys", 'redis_db_keys{job="cairn",db="db0"}')):
                try:
                    url = f"http://127.0.0.1:{web}/api/v1/query?query={urllib.request.quote(query)}"
                    with urllib.request.urlopen(url, timeout=5) as resp:
                        body = resp.read().decode()
                except (urllib.error.URLError, ConnectionError):
                    continue
                m = re.search(r'"value":\[[0-9.]+,"([0-9.]+)"\]', body)
                if m:
                    found[name] = float(m.group(1))
        assert found == {"up": 1.0, "keys": 2.0}, open(os.path.join(tmp, "prometheus.log")).read()
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_cairn_counters(msrv):
    c = msrv.client()
    # A burst of 1 (max_burst 0) per minute: the second call is limited.
    assert c.execute_command("CL.THROTTLE", "t", 0, 1, 60)[0] == 0
    assert c.execute_command("CL.THROTTLE", "t", 0, 1, 60)[0] == 1
    assert c.execute_command("LOCK.ACQUIRE", "l", "a", 10000) == 1
    assert c.execute_command("LOCK.ACQUIRE", "l", "b", 10000) is None
    assert c.execute_command("LOCK.ACQUIRE", "l", "a", 10000) == 1  # the holder renews
    m = samples(scrape(msrv.mport))
    assert m['cairn_limiter_decisions_total{decision="allowed"}'] == 1
    assert m['cairn_limiter_decisions_total{decision="limited"}'] == 1
    assert m['cairn_lock_acquisitions_total{result="acquired"}'] == 2
    assert m['cairn_lock_acquisitions_total{result="refused"}'] == 1
    # No log, no fsync histogram.
    assert not any(k.startswith("cairn_aof_fsync") for k in m)
    c.close()


def test_fsync_histogram(server_factory):
    mport = free_port()
    s = server_factory("--metrics-port", str(mport), "--appendonly", "yes",
                       "--appendfsync", "always")
    c = s.client()
    for i in range(20):
        c.set(f"k{i}", i)
    c.close()
    m = samples(scrape(mport))
    count = m["cairn_aof_fsync_duration_seconds_count"]
    assert count >= 20  # appendfsync always: at least one per write
    buckets = sorted((float(k.split('le="')[1].rstrip('"}')), v) for k, v in m.items()
                     if k.startswith("cairn_aof_fsync_duration_seconds_bucket"))
    assert buckets[-1] == (float("inf"), count)
    values = [v for _, v in buckets]
    assert values == sorted(values)
    assert 0 < m["cairn_aof_fsync_duration_seconds_sum"] < count
    if shutil.which("promtool"):
        check_with_promtool(scrape(mport))


@pytest.mark.slow
def test_idle_connection_is_closed(msrv):
    """A connection that sends no request is closed after 10 seconds."""
    with socket.create_connection(("127.0.0.1", msrv.mport), timeout=20) as sock:
        start = time.time()
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")  # never finished
        try:
            assert sock.recv(65536) == b""
        except ConnectionResetError:
            pass
        assert 9 <= time.time() - start < 15
