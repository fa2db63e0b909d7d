"""GEO commands: GEOADD, GEOPOS, GEODIST, GEOHASH, GEORADIUS,
GEORADIUSBYMEMBER (and _RO), GEOSEARCH and GEOSEARCHSTORE, per command,
then random points compared with a redis-server started by the test:
search results, their order, distances and coordinates to the last printed
digit.

Every assertion holds against Redis 7.0 too (CAIRN_TEST_SERVER=redis).
"""
import random
import time

import pytest

from conftest import RawConn
from refserver import call, pair, reference  # noqa: F401 (a fixture)

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"

SICILY = ["13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]


def err(server, *args):
    c = RawConn(server)
    c.cmd(*args)
    t, msg = c.read_reply()
    c.sock.close()
    assert t == "-", (args, t, msg)
    return msg


@pytest.fixture
def g(server):
    """A client whose replies redis-py leaves as they are."""
    c = server.client()
    c.response_callbacks.clear()
    c.flushall()
    yield c
    c.close()


def raw(g, *args):
    return g.execute_command(*args)


def test_geoadd_scores_and_type(g):
    assert raw(g, "GEOADD", "Sicily", *SICILY) == 2
    assert g.zscore("Sicily", "Palermo") == "3479099956230698"
    assert g.zscore("Sicily", "Catania") == "3479447370796909"
    assert g.type("Sicily") == "zset"
    assert g.object("encoding", "Sicily") == "listpack"
    assert raw(g, "GEOADD", "Sicily", *SICILY) == 0
    # NX, XX, CH.
    assert raw(g, "GEOADD", "Sicily", "XX", "CH", "13.5", "38.1", "Palermo") == 1
    assert raw(g, "GEOADD", "Sicily", "NX", "13.5", "38.1", "Palermo", "1", "2", "X") == 1
    assert raw(g, "GEOADD", "Sicily", "XX", "1", "2", "Y") == 0
    assert g.zscore("Sicily", "Y") is None
    assert raw(g, "GEOADD", "none", "XX", "1", "2", "Y") == 0
    assert g.exists("none") == 0


def test_geoadd_errors(server, g):
    assert err(server, "GEOADD", "k", "1", "2") == "ERR wrong number of arguments for 'geoadd' command"
    assert err(server, "GEOADD", "k", "1", "2", "a", "3") == "ERR syntax error"
    assert err(server, "GEOADD", "k", "NX", "XX", "1", "2", "a") == "ERR syntax error"
    assert err(server, "GEOADD", "k", "NX", "CH", "CH") == "ERR syntax error"
    assert err(server, "GEOADD", "k", "x", "2", "a") == "ERR value is not a valid float"
    assert err(server, "GEOADD", "k", "200", "100", "a") == \
        "ERR invalid longitude,latitude pair 200.000000,100.000000"
    assert err(server, "GEOADD", "k", "10", "86", "a") == \
        "ERR invalid longitude,latitude pair 10.000000,86.000000"
    g.set("s", "x")
    assert err(server, "GEOADD", "s", "1", "2", "a") == WRONGTYPE
    assert g.exists("k") == 0


def test_geopos_geohash_geodist(g):
    raw(g, "GEOADD", "Sicily", *SICILY)
    assert raw(g, "GEOPOS", "Sicily", "Palermo", "Catania", "NonExisting") == [
        ["13.36138933897018433", "38.11555639549629859"],
        ["15.08726745843887329", "37.50266842333162032"],
        None,
    ]
    assert raw(g, "GEOPOS", "nokey", "a") == [None]
    assert raw(g, "GEOHASH", "Sicily", "Palermo", "Catania", "x") == \
        ["sqc8b49rny0", "sqdtr74hyu0", None]
    assert raw(g, "GEODIST", "Sicily", "Palermo", "Catania") == "166274.1516"
    assert raw(g, "GEODIST", "Sicily", "Palermo", "Catania", "km") == "166.2742"
    assert raw(g, "GEODIST", "Sicily", "Palermo", "Catania", "MI") == "103.3182"
    assert raw(g, "GEODIST", "Sicily", "Palermo", "Catania", "ft") == "545518.8700"
    assert raw(g, "GEODIST", "Sicily", "Palermo", "Palermo") == "0.0000"
    assert raw(g, "GEODIST", "Sicily", "Foo", "Bar") is None
    assert raw(g, "GEODIST", "nokey", "Foo", "Bar") is None


def test_geopos_resp3(server, g):
    raw(g, "GEOADD", "Sicily", *SICILY)
    c = RawConn(server)
    c.cmd("HELLO", "3")
    c.read_reply()
    c.cmd("GEOPOS", "Sicily", "Palermo", "x")
    assert c.read_reply() == ("*", [("*", [(",", "13.36138933897018433"),
                                           (",", "38.11555639549629859")]),
                                    ("_", "")])
    c.sock.close()


def test_geodist_errors(server, g):
    raw(g, "GEOADD", "Sicily", *SICILY)
    assert err(server, "GEODIST", "Sicily", "Palermo", "Catania", "yards") == \
        "ERR unsupported unit provided. please use M, KM, FT, MI"
    assert err(server, "GEODIST", "Sicily", "Palermo", "Catania", "km", "x") == "ERR syntax error"
    g.set("s", "x")
    assert err(server, "GEODIST", "s", "a", "b") == WRONGTYPE
    assert err(server, "GEOPOS", "s", "a") == WRONGTYPE
    assert err(server, "GEOHASH", "s", "a") == WRONGTYPE


def test_georadius(g):
    raw(g, "GEOADD", "Sicily", *SICILY)
    assert raw(g, "GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "ASC") == \
        [["Catania", "56.4413"], ["Palermo", "190.4424"]]
    assert raw(g, "GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD", "DESC") == [
        ["Palermo", ["13.36138933897018433", "38.11555639549629859"]],
        ["Catania", ["15.08726745843887329", "37.50266842333162032"]],
    ]
    assert raw(g, "GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD",
               "WITHHASH", "COUNT", "1") == \
        [["Catania", "56.4413", 3479447370796909,
          ["15.08726745843887329", "37.50266842333162032"]]]
    assert raw(g, "GEORADIUS", "Sicily", "15", "37", "100", "km") == ["Catania"]
    assert raw(g, "GEORADIUS", "nokey", "15", "37", "100", "km") == []
    assert raw(g, "GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "ASC") == ["Catania", "Palermo"]
    assert raw(g, "GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "DESC") == \
        ["Catania", "Palermo"]
    assert raw(g, "GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "100", "km") == ["Palermo"]
    assert raw(g, "GEORADIUSBYMEMBER", "nokey", "Palermo", "100", "km") == []


def test_georadius_store(g):
    raw(g, "GEOADD", "Sicily", *SICILY)
    assert raw(g, "GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst") == 2
    assert g.zrange("dst", 0, -1, withscores=True) == \
        ["Palermo", "3479099956230698", "Catania", "3479447370796909"]
    assert raw(g, "GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "dst") == 2
    assert g.zrange("dst", 0, -1, withscores=True) == \
        ["Catania", "56.441257870158204", "Palermo", "190.44242984775784"]
    # STORE of an empty result deletes the destination.
    assert raw(g, "GEORADIUS", "Sicily", "0", "0", "1", "km", "STORE", "dst") == 0
    assert g.exists("dst") == 0
    # The destination may be the source.
    assert raw(g, "GEORADIUSBYMEMBER", "Sicily", "Palermo", "10", "km", "STORE", "Sicily") == 1
    assert g.zrange("Sicily", 0, -1) == ["Palermo"]
    assert raw(g, "GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "Sicily") == 0
    assert g.exists("Sicily") == 0


def test_georadius_errors(server, g):
    raw(g, "GEOADD", "Sicily", *SICILY)
    assert err(server, "GEORADIUS", "Sicily", "15", "37", "-1", "km") == \
        "ERR radius cannot be negative"
    assert err(server, "GEORADIUS", "Sicily", "15", "37", "x", "km") == "ERR need numeric radius"
    assert err(server, "GEORADIUS", "Sicily", "15", "37", "1", "kmx") == \
        "ERR unsupported unit provided. please use M, KM, FT, MI"
    assert err(server, "GEORADIUS", "Sicily", "15", "37", "1", "km", "COUNT", "0") == \
        "ERR COUNT must be > 0"
    assert err(server, "GEORADIUS", "Sicily", "15", "37", "1", "km", "ANY") == \
        "ERR the ANY argument requires COUNT argument"
    assert err(server, "GEORADIUS", "Sicily", "15", "37", "1", "km", "STORE", "x", "WITHDIST") == \
        "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
    assert err(server, "GEORADIUS_RO", "Sicily", "15", "37", "1", "km", "STORE", "x") == \
        "ERR syntax error"
    assert err(server, "GEORADIUSBYMEMBER", "Sicily", "Nowhere", "1", "km") == \
        "ERR could not decode requested zset member"
    assert err(server, "GEORADIUS", "Sicily", "15", "37", "1", "km", "FROMLONLAT", "1", "2") == \
        "ERR syntax error"


def test_geosearch(g):
    raw(g, "GEOADD", "Sicily", *SICILY)
    raw(g, "GEOADD", "Sicily", "12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2")
    assert raw(g, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km",
               "ASC") == ["Catania", "Palermo"]
    assert raw(g, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km",
               "ASC", "WITHCOORD", "WITHDIST") == [
        ["Catania", "56.4413", ["15.08726745843887329", "37.50266842333162032"]],
        ["Palermo", "190.4424", ["13.36138933897018433", "38.11555639549629859"]],
        ["edge2", "279.7403", ["17.24151045083999634", "38.78813451624225195"]],
        ["edge1", "279.7405", ["12.7584877610206604", "38.78813451624225195"]],
    ]
    assert raw(g, "GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km",
               "DESC", "COUNT", "2") == ["Catania", "edge1"]
    assert len(raw(g, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1000", "km",
                   "COUNT", "2", "ANY")) == 2
    assert raw(g, "GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km") == []


def test_geosearchstore(g):
    raw(g, "GEOADD", "Sicily", *SICILY)
    assert raw(g, "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400",
               "400", "km", "ASC", "COUNT", "1") == 1
    assert g.zrange("dst", 0, -1, withscores=True) == ["Catania", "3479447370796909"]
    assert raw(g, "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200",
               "km", "STOREDIST") == 2
    assert g.zrange("dst", 0, -1, withscores=True) == \
        ["Catania", "56.441257870158204", "Palermo", "190.44242984775784"]
    assert raw(g, "GEOSEARCHSTORE", "dst", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "200",
               "km") == 0
    assert g.exists("dst") == 0


def test_geosearch_errors(server, g):
    raw(g, "GEOADD", "Sicily", *SICILY)
    assert err(server, "GEOSEARCH", "Sicily", "BYRADIUS", "1", "km", "ASC", "WITHDIST") == \
        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH"
    assert err(server, "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "ASC", "WITHDIST") == \
        "ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH"
    assert err(server, "geosearch", "Sicily", "FROMLONLAT", "1", "2", "ASC", "WITHDIST") == \
        "ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch"
    assert err(server, "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "FROMMEMBER", "Palermo",
               "BYRADIUS", "1", "km") == "ERR syntax error"
    assert err(server, "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km",
               "BYBOX", "1", "1", "km") == "ERR syntax error"
    assert err(server, "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYBOX", "-1", "1", "km") == \
        "ERR height or width cannot be negative"
    assert err(server, "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYBOX", "a", "1", "km") == \
        "ERR need numeric width"
    assert err(server, "GEOSEARCH", "Sicily", "FROMMEMBER", "nobody", "BYRADIUS", "1", "km") == \
        "ERR could not decode requested zset member"
    assert err(server, "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km",
               "STORE", "x") == "ERR syntax error"
    assert err(server, "GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "1", "2", "BYRADIUS", "1",
               "km", "WITHDIST") == \
        "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
    g.set("s", "x")
    assert err(server, "GEOSEARCH", "s", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km") == WRONGTYPE


def test_getkeys(g):
    assert g.execute_command("COMMAND", "GETKEYS", "GEORADIUS", "src", "1", "2", "3", "km",
                             "STORE", "dst") == ["src", "dst"]
    assert g.execute_command("COMMAND", "GETKEYS", "GEOSEARCHSTORE", "dst", "src", "FROMLONLAT",
                             "1", "2", "BYRADIUS", "1", "km") == ["dst", "src"]


# --------------------------------------------------------------------------
# Random points against redis-server
# --------------------------------------------------------------------------

def random_point(rng):
    lon = rng.uniform(-180, 180)
    lat = rng.uniform(-85.05, 85.05)
    return f"{lon:.6f}", f"{lat:.6f}"


def test_random_searches_match_redis(server, reference):
    a, b = pair(server, reference)
    rng = random.Random(int(time.time()))
    deadline = time.time() + 4
    rounds = 0
    while time.time() < deadline:
        a.delete("g")
        b.delete("g")
        # Clusters around a random centre, so searches find something.
        clon, clat = rng.uniform(-179, 179), rng.uniform(-84, 84)
        # (Spread wide enough that no two points share a geohash: equal
        # distances could be ordered differently by a partial sort.)
        spread = rng.choice([0.2, 0.5, 5, 60])
        args = []
        for i in range(rng.randint(1, 300)):
            lon = clon + rng.uniform(-spread, spread)
            lat = clat + rng.uniform(-spread, spread)
            # Out of range: skipped, not clamped (clamping would stack
            # points at one place).
            if -180 <= lon <= 180 and -85.05 <= lat <= 85.05:
                args += [f"{lon:.6f}", f"{lat:.6f}", f"m{i}"]
        if not args:
            continue
        assert call(a, "GEOADD", "g", *args) == call(b, "GEOADD", "g", *args)
        for _ in range(20):
            shape = (["BYRADIUS", f"{rng.uniform(0, spread * 150):.3f}", "km"]
                     if rng.random() < 0.5 else
                     ["BYBOX", f"{rng.uniform(0, spread * 300):.3f}",
                      f"{rng.uniform(0, spread * 300):.3f}", rng.choice(["km", "mi", "m"])])
            center = (["FROMMEMBER", f"m{rng.randrange(10)}"] if rng.random() < 0.3 else
                      ["FROMLONLAT", f"{clon + rng.uniform(-spread, spread):.5f}",
                       f"{max(-85, min(85, clat + rng.uniform(-spread, spread))):.5f}"])
            opts = [o for o in ("WITHDIST", "WITHCOORD", "WITHHASH") if rng.random() < 0.5]
            roll = rng.random()
            if roll < 0.4:
                opts.append(rng.choice(["ASC", "DESC"]))
            elif roll < 0.6:
                # COUNT returns the nearest: ties at equal distance are rare
                # for random points.
                opts += ["COUNT", str(rng.randint(1, 20))]
            cmd = ["GEOSEARCH", "g"] + center + shape + opts
            # Without ASC/DESC/COUNT the order is the scan order: compared too.
            assert call(a, *cmd) == call(b, *cmd), cmd
            m1, m2 = f"m{rng.randrange(20)}", f"m{rng.randrange(20)}"
            unit = rng.choice(["m", "km", "ft", "mi"])
            assert call(a, "GEODIST", "g", m1, m2, unit) == call(b, "GEODIST", "g", m1, m2, unit)
        members = [f"m{i}" for i in range(10)]
        assert call(a, "GEOPOS", "g", *members) == call(b, "GEOPOS", "g", *members)
        assert call(a, "GEOHASH", "g", *members) == call(b, "GEOHASH", "g", *members)
        cmd = ["GEORADIUS", "g", f"{clon:.4f}", f"{clat:.4f}", f"{spread * 50:.2f}", "km",
               "STOREDIST", "out"]
        assert call(a, *cmd) == call(b, *cmd)
        assert a.zrange("out", 0, -1, withscores=True) == b.zrange("out", 0, -1, withscores=True)
        rounds += 1
    assert rounds >= 5


def test_random_world_points_match_redis(server, reference):
    a, b = pair(server, reference)
    rng = random.Random(int(time.time()) + 7)
    args = []
    for i in range(2000):
        args += [*random_point(rng), f"p{i}"]
    a.execute_command("GEOADD", "w", *args)
    b.execute_command("GEOADD", "w", *args)
    assert a.zrange("w", 0, -1, withscores=True) == b.zrange("w", 0, -1, withscores=True)
    deadline = time.time() + 3
    while time.time() < deadline:
        lon, lat = random_point(rng)
        radius = f"{rng.choice([10, 300, 2000, 8000]) * rng.random():.2f}"
        cmd = ["GEORADIUS", "w", lon, lat, radius, "km", "WITHDIST", "WITHCOORD"]
        assert call(a, *cmd) == call(b, *cmd), cmd
        cmd = ["GEOSEARCH", "w", "FROMLONLAT", lon, lat, "BYBOX", radius, radius, "km", "DESC",
               "WITHHASH"]
        assert call(a, *cmd) == call(b, *cmd), cmd
