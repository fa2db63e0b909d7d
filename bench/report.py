#!/usr/bin/python3
"""Turn bench/bench.py's latest.json into the Markdown report and the plots.

  bench/report.py RESULTS_DIR/latest.json

Writes, next to the JSON: latest.md (the report), runs.md (every run),
callgrind.md (the functions that cost most per request) and the PNG plots
(cpu.png, latency.png, scaling.png, memory.png, instructions.png), using
Debian's python3-matplotlib (the plots are skipped, with a note, without it).
"""

import json
import os
import statistics
import sys

SERVERS = ("cairn", "redis")


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def f(x, nd=2):
    return "n/a" if x is None else f"{x:,.{nd}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def fr(x):
    return "n/a" if x is None else f"{x:.2f}x"


class Data:
    def __init__(self, path):
        with open(path) as fh:
            d = json.load(fh)
        self.meta, self.recs = d["meta"], d["records"]
        self.dir = os.path.dirname(os.path.abspath(path))

    def runs(self, section):
        return [r for r in self.recs if r["kind"] == "run" and r["section"] == section]

    def groups(self, section, key):
        """Ordered {key: {server: [ok records]}} with a count of failures."""
        out = {}
        for r in self.runs(section):
            g = out.setdefault(key(r), {"cairn": [], "redis": [], "failed": 0, "first": r})
            if r["ok"]:
                g[r["server"]].append(r)
            else:
                g["failed"] += 1
        return out


def summarize(g):
    """Medians and spreads of one workload's runs on both servers."""
    s = {}
    for name in SERVERS:
        rs = g[name]
        cpu = [r["server_us_per_req"] for r in rs]
        s[name] = {
            "n": len(rs),
            "rps": med([r.get("rps") for r in rs]),
            "cpu": med(cpu), "cpu_min": min(cpu) if cpu else None,
            "cpu_max": max(cpu) if cpu else None,
            "sched": med([r.get("sched_us_per_req") for r in rs]),
            "p50": med([r.get("p50_ms") for r in rs]),
            "p99": med([r.get("p99_ms") for r in rs]),
            "p999": med([r.get("p999_ms") for r in rs]),
        }
    s["cpu_ratio"] = ratio(s["cairn"]["cpu"], s["redis"]["cpu"])
    s["p99_ratio"] = ratio(s["cairn"]["p99"], s["redis"]["p99"])
    s["failed"] = g["failed"]
    return s


def cpu_cell(x):
    if x["cpu"] is None:
        return "n/a"
    return f"{x['cpu']:.3f} ({x['cpu_min']:.3f}–{x['cpu_max']:.3f})"


def lat_cell(x):
    return f"{f(x['p50'], 3)} / {f(x['p99'], 3)} / {f(x['p999'], 3)}"


def mark(r, limit):
    if r is None:
        return "n/a"
    return "met" if r <= limit else "**not met**"


def report(d):
    m, out = d.meta, []
    mach, cfg = m["machine"], m["config"]
    w = out.append
    w("# Cairn benchmark: cairn-server vs redis-server")
    w("")
    w(f"{m['started']}, {'quick mode (QUICK=1)' if m.get('quick') else 'full run'}, "
      f"{m['seconds'] / 60:.1f} minutes{'' if m.get('complete') else ' (**incomplete**)'}. "
      f"Load average (1, 5, 15 min) at the start: {m['loadavg_start']}; at the end: "
      f"{m['loadavg_end']} — the machine has {mach['nproc']} cores and was shared with "
      f"other work, so compare the servers with each other (they alternate run by run), "
      f"not with other reports.")
    w("")
    w("Yardsticks: **server CPU per request** (the server's on-CPU time over the run "
      "divided by the requests: utime+stime of /proc/PID/stat, read at ns resolution "
      "from the per-thread schedstat counters it is made of) and **instructions per "
      "request** (callgrind). With two cores the client (redis-benchmark or cairn-load) "
      "saturates first, so requests/s and latency mostly show the client and the "
      "scheduler; they are context. All ratios are cairn/redis: below 1 is better for "
      "Cairn. Figures are medians over the rounds, with min–max over the rounds.")
    w("")
    for n in m.get("notes", []):
        w(f"- Note: {n}")
    if m.get("notes"):
        w("")

    tp = d.groups("throughput", lambda r: (r["pipeline"], r["workload"]))
    sc = d.groups("scaling", lambda r: r["clients"])
    cg = [r for r in d.recs if r["kind"] == "callgrind"]
    mem = [r for r in d.recs if r["kind"] == "memory"]
    tps = {k: summarize(g) for k, g in tp.items()}
    scs = {k: summarize(g) for k, g in sc.items()}

    # -- targets ---------------------------------------------------------------
    rows = []
    cgi = {(r["workload"], r["pipeline"]): {} for r in cg}
    for r in cg:
        cgi[(r["workload"], r["pipeline"])][r["server"]] = r
    for (wl, pl), v in cgi.items():
        if pl > 1 and "cairn" in v and "redis" in v:
            lim = 0.6 if wl in ("get", "set") else 0.8
            rt = ratio(v["cairn"]["per_req"], v["redis"]["per_req"])
            rows.append((f"instructions/req, {v['cairn']['label']} P{pl}", f"≤ {lim}x",
                         fr(rt), mark(rt, lim)))
    for (pl, wl), s in tps.items():
        label = tp[(pl, wl)]["first"]["label"]
        if pl > 1:
            lim = 0.6 if wl in ("get", "set") else 0.8
            rows.append((f"server CPU/req, {label} P{pl}", f"≤ {lim}x", fr(s["cpu_ratio"]),
                         mark(s["cpu_ratio"], lim)))
        elif pl == 1:
            rows.append((f"server CPU/req, {label} P1", "≤ 0.9x", fr(s["cpu_ratio"]),
                         mark(s["cpu_ratio"], 0.9)))
    for c, s in scs.items():
        rows.append((f"server CPU/req, GET P1 c={c}", "≤ 0.9x", fr(s["cpu_ratio"]),
                     mark(s["cpu_ratio"], 0.9)))
    for (pl, wl), s in tps.items():
        rows.append((f"p99 latency, {tp[(pl, wl)]['first']['label']} P{pl}", "≤ 1.0x",
                     fr(s["p99_ratio"]), mark(s["p99_ratio"], 1.0)))
    for c, s in scs.items():
        rows.append((f"p99 latency, GET P1 c={c}", "≤ 1.0x", fr(s["p99_ratio"]),
                     mark(s["p99_ratio"], 1.0)))
    memi = {}
    for r in mem:
        memi.setdefault(r["dataset"], {})[r["server"]] = r
    for ds, v in memi.items():
        if "cairn" in v and "redis" in v:
            lim = 0.6 if ds.startswith("string") else 0.8
            rt = ratio(v["cairn"]["used_per_unit"], v["redis"]["used_per_unit"])
            rows.append((f"memory per {v['cairn']['unit']} (used_memory), {ds}", f"≤ {lim}x",
                         fr(rt), mark(rt, lim)))
    if rows:
        met = sum(1 for r in rows if r[3] == "met")
        w("## Targets (issue 5)")
        w("")
        w(f"{met} of {len(rows)} met.")
        w("")
        w("| target | limit | cairn/redis | |")
        w("|---|---:|---:|---|")
        for r in rows:
            w("| " + " | ".join(r) + " |")
        w("")

    # -- throughput ------------------------------------------------------------
    if tps:
        w(f"## Workloads: server CPU, throughput, latency ({cfg['CLIENTS']} clients)")
        w("")
        w("Latency is p50 / p99 / p99.9 in ms, as the client sees it (redis-benchmark "
          "reports the latency of a pipelined batch for each of its requests; its p99.9 is "
          "the first percentile it lists at or above 99.9%, i.e. 99.902%). "
          "MSET counts one request per MSET of 10 keys.")
        w("")
        w("| workload | -P | requests/run | cairn µs CPU/req | redis µs CPU/req | CPU "
          "cairn/redis | cairn rps | redis rps | cairn latency ms | redis latency ms | p99 "
          "cairn/redis |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for (pl, wl), s in sorted(tps.items(), key=lambda kv: kv[0][0]):
            first = tp[(pl, wl)]["first"]
            name = first["label"] + (f" ({s['failed']} failed)" if s["failed"] else "")
            c, r = s["cairn"], s["redis"]
            w(f"| {name} | {pl} | {first['requests']:,} | {cpu_cell(c)} | {cpu_cell(r)} | "
              f"**{fr(s['cpu_ratio'])}** | {f(c['rps'], 0)} | {f(r['rps'], 0)} | "
              f"{lat_cell(c)} | {lat_cell(r)} | {fr(s['p99_ratio'])} |")
        w("")

    if scs:
        w("## Connection scaling (GET, -P 1)")
        w("")
        w("The server CPU includes accepting the connections and the first requests on "
          "each; with many connections every client gets few requests.")
        w("")
        w("| clients | requests/run | cairn µs CPU/req | redis µs CPU/req | CPU cairn/redis "
          "| cairn rps | redis rps | cairn latency ms | redis latency ms | p99 cairn/redis |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c, s in scs.items():
            first = sc[c]["first"]
            cc, r = s["cairn"], s["redis"]
            failed = f" ({s['failed']} failed)" if s["failed"] else ""
            w(f"| {c}{failed} | "
              f"{first['requests']:,} | {cpu_cell(cc)} | {cpu_cell(r)} | "
              f"**{fr(s['cpu_ratio'])}** | {f(cc['rps'], 0)} | {f(r['rps'], 0)} | "
              f"{lat_cell(cc)} | {lat_cell(r)} | {fr(s['p99_ratio'])} |")
        w("")

    # -- memory ----------------------------------------------------------------
    if memi:
        w("## Memory")
        w("")
        w("Bytes per key or element above the same server started empty: (after − before) "
          "/ count, from `INFO memory` used_memory (what the allocator hands out) and from "
          "the process's RSS (VmRSS: what the machine pays, allocator slack included). "
          "Each data set is loaded into a freshly started pair of servers with "
          "`cairn-load fill` (pipelined, one connection). Keys are 16 bytes "
          "(`key:%012d`), values are strings of 'x' (never integers).")
        w("")
        w("| data set | per | cairn used_memory | redis used_memory | cairn/redis | cairn RSS "
          "| redis RSS | cairn/redis | encoding cairn / redis |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---|")
        for ds, v in memi.items():
            c, r = v.get("cairn"), v.get("redis")
            if not c or not r:
                continue
            bad = "" if c["ok"] and r["ok"] else " (**count check failed**)"
            w(f"| {c['desc']}{bad} | {c['unit']} | {f(c['used_per_unit'], 1)} | "
              f"{f(r['used_per_unit'], 1)} | "
              f"**{fr(ratio(c['used_per_unit'], r['used_per_unit']))}** | "
              f"{f(c['rss_per_unit'], 1)} | {f(r['rss_per_unit'], 1)} | "
              f"{fr(ratio(c['rss_per_unit'], r['rss_per_unit']))} | "
              f"{c['encoding']} / {r['encoding']} |")
            if "used_per_field" in c:
                w(f"| (the same, per field) | field | {f(c['used_per_field'], 1)} | "
                  f"{f(r['used_per_field'], 1)} | "
                  f"**{fr(ratio(c['used_per_field'], r['used_per_field']))}** | "
                  f"{f(c['rss_per_field'], 1)} | {f(r['rss_per_field'], 1)} | "
                  f"{fr(ratio(c['rss_per_field'], r['rss_per_field']))} | |")
        w("")
        w("Empty servers: " + "; ".join(
            f"{s} used_memory {f(med([r['used_before'] for r in mem if r['server'] == s]), 0)} "
            f"B, RSS {f(med([r['rss_before'] for r in mem if r['server'] == s]) / 1024, 0)} KiB"
            for s in SERVERS if any(r["server"] == s for r in mem)) + ".")
        w("")

    # -- callgrind ---------------------------------------------------------------
    if cgi:
        w("## Instructions per request (callgrind)")
        w("")
        n = cg[0]["n"]
        w(f"Each figure is (Ir of a server run with {2 * n:,} requests − Ir of a run with "
          f"{n:,}) / {n:,}, each run a fresh server under `valgrind --tool=callgrind` with "
          f"{cfg['CG_KEYSPACE']:,} keys pre-set and {cfg['CLIENTS']} clients, so start-up, "
          "loading and connecting cancel out. The longer run also spends more wall time "
          "idle in the server's timers (hz 10 on both): that is measured on an idle server "
          "under callgrind and subtracted (the 'idle' column, per request). User-space "
          "instructions only: the kernel's share (the system calls) is not counted, so at "
          "-P 1 this understates the work much more than at -P 16. The functions that cost "
          "the most per request are in [callgrind.md](callgrind.md).")
        w("")
        w("| workload | -P | cairn instr/req | redis instr/req | cairn/redis | idle cairn / "
          "redis |")
        w("|---|---:|---:|---:|---:|---:|")
        for (wl, pl), v in sorted(cgi.items(), key=lambda kv: -kv[0][1]):
            c, r = v.get("cairn"), v.get("redis")
            if not c or not r:
                continue
            w(f"| {c['label']} | {pl} | {f(c['per_req'], 0)} | {f(r['per_req'], 0)} | "
              f"**{fr(ratio(c['per_req'], r['per_req']))}** | "
              f"{f(c['idle_correction'] / c['n'], 0)} / {f(r['idle_correction'] / r['n'], 0)} |")
        w("")

    # -- monitoring ------------------------------------------------------------
    scr = [r for r in d.recs if r["kind"] == "scrape"]
    if scr:
        w("## Monitoring during the run")
        w("")
        w(f"Every server was scraped every {scr[0]['interval_s']:g} s while it ran, each time "
          "over a new connection, as Prometheus (cairn-server: GET /metrics of its "
          "`metrics-port` endpoint, on in every run) and redis_exporter (redis-server: "
          "INFO ALL) would. The CPU figures above include what the scrapes cost. "
          "Latency: from connecting to the last byte, as the scraper saw it.")
        w("")
        w("| section | server | scrape | servers started | seconds | scrapes | errors | "
          "p50 ms | p99 ms | max ms | bytes |")
        w("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        agg = {}
        for r in scr:
            agg.setdefault((r["phase"], r["server"], r["what"]), []).append(r)
        for (ph, sv, what), g in agg.items():
            lat = [x for r in g for x in (r["p50_ms"],) if x is not None]
            err = sum(r["errors"] for r in g)
            w(f"| {ph} | {sv} | {what} | {len(g)} | {f(sum(r['seconds'] for r in g), 0)} | "
              f"{sum(r['scrapes'] for r in g)} | {'**' + str(err) + '**' if err else 0} | "
              f"{f(med(lat), 3)} | {f(max((r['p99_ms'] or 0) for r in g), 3)} | "
              f"{f(max((r['max_ms'] or 0) for r in g), 3)} | "
              f"{f(med([r['bytes'] for r in g if r['bytes']]), 0)} |")
        errs = [r["first_error"] for r in scr if r["first_error"]]
        if errs:
            w("")
            w(f"First scrape error: `{errs[0]}`")
        w("")
        w("(p50: the median of the servers' medians; p99 and max: the largest over the "
          "servers started in the section.)")
        w("")

    # -- plots, machine, commands ------------------------------------------------
    pngs = [p for p in ("cpu.png", "latency.png", "scaling.png", "memory.png",
                        "instructions.png") if os.path.exists(os.path.join(d.dir, p))]
    if pngs:
        w("## Plots")
        w("")
        for p in pngs:
            w(f"![{p[:-4]}]({p})")
            w("")
    w("## Machine")
    w("")
    for k, label in (("nproc", "cores"), ("cpu", "CPU"), ("memory", "memory"),
                     ("kernel", "kernel"), ("redis_server", "redis-server"),
                     ("redis_benchmark", "redis-benchmark"), ("valgrind", "valgrind"),
                     ("cairn_bin", "cairn-server"), ("cairn_git", "cairn git revision"),
                     ("nofile", "open-file limit")):
        w(f"- {label}: {mach.get(k)}")
    w("")
    w("Phases (seconds, load average at start → end):")
    w("")
    for p in m.get("phases", []):
        w(f"- {p['phase']}: {p['seconds']} s, {p['loadavg_start']} → {p['loadavg_end']}")
    w("")
    w("## Commands")
    w("")
    w("Settings: " + ", ".join(f"{k}={v}" for k, v in cfg.items()) + ".")
    w("")
    w("Servers (the same flags for both, and cairn-server's Prometheus endpoint on "
      "`--metrics-port`; ports picked free on 127.0.0.1 each start):")
    w("")
    w("```")
    for s in SERVERS:
        if s in m.get("server_cmds", {}):
            w(m["server_cmds"][s])
    w("```")
    w("")
    w("Clients, as run against cairn (the same against redis on its port). Before the "
      "rounds each server gets every key:* key pre-set (so every GET hits), big:* keys "
      "for the 1 KB workloads, bench:list for LRANGE, and an unmeasured warm-up. In each "
      "round every workload runs on cairn, then on redis; LPOP follows LPUSH so every "
      "LPOP finds an element.")
    w("")
    w("```")
    for k, v in m.get("commands", {}).items():
        w(f"# {k}")
        w(v)
    w("```")
    w("")
    w("Every run is listed in [runs.md](runs.md); the raw figures are in latest.json.")
    return "\n".join(out) + "\n"


def runs_md(d):
    out = ["# Every run", "", "In the order run. `µs CPU/req`: the figure used, the server's "
           "on-CPU time per request from per-thread schedstat (ns); `stat`: the same from "
           "utime+stime of /proc/PID/stat (10 ms ticks), used instead when the two disagree; "
           "client CPU: the load generator's own utime+stime.", "",
           "| section | round | workload | -P | clients | server | requests | rps | p50 ms "
           "| p99 ms | p99.9 ms | wall s | server CPU s (stat) | µs CPU/req | stat µs/req | "
           "client CPU s | load avg | ok |",
           "|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in d.recs:
        if r["kind"] != "run":
            continue
        out.append("| " + " | ".join([
            r["section"], str(r["round"]), r["label"], str(r["pipeline"]), str(r["clients"]),
            r["server"], str(r["requests"]), f(r.get("rps"), 0), f(r.get("p50_ms"), 3),
            f(r.get("p99_ms"), 3), f(r.get("p999_ms"), 3), f(r["wall_s"], 2),
            f(r["server_cpu_s"], 2), f(r["server_us_per_req"], 3),
            f(r.get("stat_us_per_req"), 3), f(r["client_cpu_s"], 2), r.get("loadavg", ""),
            "yes" if r["ok"] else f"**no** ({r.get('error', '')})"]) + " |")
    return "\n".join(out) + "\n"


def callgrind_md(d):
    cg = [r for r in d.recs if r["kind"] == "callgrind"]
    out = ["# Where the instructions go", "",
           "Self instructions per request of the costliest functions: (Ir in the 2N run − Ir "
           "in the N run) / N, from `callgrind_annotate --inclusive=no` (see latest.md). "
           "Timer work that grows with wall time shows up here too.", ""]
    for r in sorted(cg, key=lambda r: (-r["pipeline"], r["workload"], r["server"])):
        out.append(f"## {r['label']} -P {r['pipeline']}, {r['server']}: "
                   f"{r['per_req']:.0f} instructions per request")
        out.append("")
        out.append("| instructions/req | function | object |")
        out.append("|---:|---|---|")
        for t in r.get("top", []):
            out.append(f"| {t['per_req']:.1f} | `{t['function']}` | {t['object']} |")
        out.append("")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# plots

def plots(d):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: python3-matplotlib is not installed: no plots", file=sys.stderr)
        return
    colors = {"cairn": "#1b7837", "redis": "#b2182b"}
    title_note = f"({d.meta['started']}, load avg {d.meta['loadavg_start']})"

    def bars(ax, labels, series, err=None, ylabel="", log=False):
        import numpy as np
        x = np.arange(len(labels))
        width = 0.8 / len(series)
        for i, (name, vals) in enumerate(series.items()):
            vals = [v if v is not None else 0 for v in vals]
            kw = {}
            if err and name in err:
                lo = [max(0, v - e[0]) if e[0] is not None else 0 for v, e in zip(vals, err[name])]
                hi = [max(0, e[1] - v) if e[1] is not None else 0 for v, e in zip(vals, err[name])]
                kw["yerr"] = [lo, hi]
                kw["capsize"] = 2
            ax.bar(x + (i - (len(series) - 1) / 2) * width, vals, width, label=name,
                   color=colors.get(name.split()[0], None), **kw)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)

    tp = d.groups("throughput", lambda r: (r["pipeline"], r["workload"]))
    tps = {k: summarize(g) for k, g in tp.items()}
    pls = sorted({k[0] for k in tps})
    if tps:
        fig, axes = plt.subplots(len(pls), 1, figsize=(11, 4.2 * len(pls)), squeeze=False)
        for ax, pl in zip(axes[:, 0], pls):
            ks = [k for k in tps if k[0] == pl]
            labels = [tp[k]["first"]["label"] for k in ks]
            series = {s: [tps[k][s]["cpu"] for k in ks] for s in ("cairn", "redis")}
            err = {s: [(tps[k][s]["cpu_min"], tps[k][s]["cpu_max"]) for k in ks]
                   for s in ("cairn", "redis")}
            bars(ax, labels, series, err, "µs server CPU / request (log)", log=True)
            for i, k in enumerate(ks):
                r = tps[k]["cpu_ratio"]
                if r is not None:
                    top = max(v or 0 for v in (tps[k]["cairn"]["cpu_max"],
                                               tps[k]["redis"]["cpu_max"]))
                    ax.annotate(f"{r:.2f}x", (i, top), ha="center", va="bottom", fontsize=7)
            ax.set_title(f"Server CPU per request, -P {pl} (median, min–max; label: "
                         f"cairn/redis)", fontsize=10)
        fig.suptitle(f"cairn-server vs redis-server {title_note}", fontsize=9)
        fig.tight_layout()
        fig.savefig(os.path.join(d.dir, "cpu.png"), dpi=90)
        plt.close(fig)

        fig, axes = plt.subplots(len(pls), 1, figsize=(12, 4.2 * len(pls)), squeeze=False)
        for ax, pl in zip(axes[:, 0], pls):
            ks = [k for k in tps if k[0] == pl]
            labels = [tp[k]["first"]["label"] for k in ks]
            series = {}
            for s in ("cairn", "redis"):
                for p in ("p50", "p99", "p999"):
                    series[f"{s} {p.replace('p999', 'p99.9')}"] = [tps[k][s][p] for k in ks]
            import numpy as np
            x = np.arange(len(labels))
            width = 0.8 / 6
            shades = {"p50": 0.35, "p99": 0.65, "p999": 1.0}
            for i, (name, vals) in enumerate(series.items()):
                s, p = name.split()
                p = p.replace("p99.9", "p999")
                ax.bar(x + (i - 2.5) * width, [v or 0 for v in vals], width, label=name,
                       color=colors[s], alpha=shades[p])
            ax.set_xticks(x)
            ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
            ax.set_yscale("log")
            ax.set_ylabel("ms (log)")
            ax.grid(axis="y", alpha=0.3)
            ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
            ax.set_title(f"Latency p50 / p99 / p99.9, -P {pl}, {d.meta['config']['CLIENTS']} "
                         f"clients", fontsize=10)
        fig.suptitle(f"cairn-server vs redis-server {title_note}", fontsize=9)
        fig.tight_layout()
        fig.savefig(os.path.join(d.dir, "latency.png"), dpi=90)
        plt.close(fig)

    sc = d.groups("scaling", lambda r: r["clients"])
    scs = {k: summarize(g) for k, g in sc.items()}
    if scs:
        cs = sorted(scs)
        fig, axes = plt.subplots(1, 3, figsize=(14, 4))
        for s in ("cairn", "redis"):
            axes[0].plot(cs, [scs[c][s]["cpu"] for c in cs], "o-", color=colors[s], label=s)
            axes[1].plot(cs, [scs[c][s]["rps"] for c in cs], "o-", color=colors[s], label=s)
            axes[2].plot(cs, [scs[c][s]["p99"] for c in cs], "o-", color=colors[s], label=s)
        for ax, t in zip(axes, ("µs server CPU / request", "requests / s", "p99 latency, ms")):
            ax.set_xscale("log")
            ax.set_xlabel("connections")
            ax.set_title(t, fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        axes[2].set_yscale("log")
        fig.suptitle(f"Connection scaling, GET -P 1 {title_note}", fontsize=9)
        fig.tight_layout()
        fig.savefig(os.path.join(d.dir, "scaling.png"), dpi=90)
        plt.close(fig)

    mem = [r for r in d.recs if r["kind"] == "memory"]
    if mem:
        memi = {}
        for r in mem:
            memi.setdefault(r["dataset"], {})[r["server"]] = r
        ds = [k for k, v in memi.items() if "cairn" in v and "redis" in v]
        labels = [f"{k}\n(per {memi[k]['cairn']['unit']})" for k in ds]
        fig, ax = plt.subplots(figsize=(11, 4.5))
        series = {
            "cairn used_memory": [memi[k]["cairn"]["used_per_unit"] for k in ds],
            "cairn RSS": [memi[k]["cairn"]["rss_per_unit"] for k in ds],
            "redis used_memory": [memi[k]["redis"]["used_per_unit"] for k in ds],
            "redis RSS": [memi[k]["redis"]["rss_per_unit"] for k in ds],
        }
        import numpy as np
        x = np.arange(len(ds))
        width = 0.2
        for i, (name, vals) in enumerate(series.items()):
            ax.bar(x + (i - 1.5) * width, vals, width, label=name,
                   color=colors[name.split()[0]], alpha=1.0 if "used" in name else 0.5)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("bytes (log)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
        for i, k in enumerate(ds):
            r = ratio(memi[k]["cairn"]["used_per_unit"], memi[k]["redis"]["used_per_unit"])
            if r is not None:
                ax.annotate(f"{r:.2f}x", (i, max(series['redis used_memory'][i],
                                                 series['cairn used_memory'][i])),
                            ha="center", va="bottom", fontsize=7)
        ax.set_title("Memory per key / element above an empty server (label: cairn/redis, "
                     "used_memory)", fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(d.dir, "memory.png"), dpi=90)
        plt.close(fig)

    cg = [r for r in d.recs if r["kind"] == "callgrind"]
    if cg:
        cgi = {}
        for r in cg:
            cgi.setdefault((r["workload"], r["pipeline"]), {})[r["server"]] = r
        ks = [k for k in sorted(cgi, key=lambda k: (-k[1], k[0]))
              if "cairn" in cgi[k] and "redis" in cgi[k]]
        fig, ax = plt.subplots(figsize=(8, 4))
        bars(ax, [f"{cgi[k]['cairn']['label']} P{k[1]}" for k in ks],
             {s: [cgi[k][s]["per_req"] for k in ks] for s in ("cairn", "redis")},
             ylabel="instructions / request")
        for i, k in enumerate(ks):
            r = ratio(cgi[k]["cairn"]["per_req"], cgi[k]["redis"]["per_req"])
            ax.annotate(f"{r:.2f}x", (i, max(cgi[k]["cairn"]["per_req"],
                                             cgi[k]["redis"]["per_req"])),
                        ha="center", va="bottom", fontsize=8)
        ax.set_title("User-space instructions per request (callgrind; label: cairn/redis)",
                     fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(d.dir, "instructions.png"), dpi=90)
        plt.close(fig)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = Data(sys.argv[1])
    for p in ("cpu.png", "latency.png", "scaling.png", "memory.png", "instructions.png"):
        try:
            os.remove(os.path.join(d.dir, p))
        except OSError:
            pass
    plots(d)
    for name, text in (("latest.md", report(d)), ("runs.md", runs_md(d)),
                       ("callgrind.md", callgrind_md(d))):
        path = os.path.join(d.dir, name)
        with open(path + ".tmp", "w") as fh:
            fh.write(text)
        os.replace(path + ".tmp", path)
    sys.stdout.write(report(d))
    print(f"report: written to {os.path.join(d.dir, 'latest.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
