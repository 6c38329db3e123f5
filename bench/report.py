#!/usr/bin/env python3
"""report.py - turns the raw figures of bench/run.sh into the table, the
target lines and the JSON result.

Usage: report.py DIR OUT-JSON

DIR holds what run.sh collected: runs.jsonl (one object per wrk run),
idle.json (the idle keep-alive test, may be missing), decode.json
(bench/decode -j, may be missing), meta.json (machine and settings).
Prints the table and the targets to stdout and writes OUT-JSON.  Exits 1
when a correctness check failed in any run, 0 otherwise: a missed target
is only reported.
"""
import json
import os
import statistics
import sys

LABELS = {
    "a": "(a) nginx, reads body",
    "b": "(b) file, fsync off",
    "c": "(c) file, fsync on",
    "d": "(d) (c) + signature",
    "e": "(e) exec /bin/true x8",
    "f": "(f) webhook /bin/true",
    "g": "(g) (b) via SNS envelope",
    "h": "(h) postgres sink",
    "i": "(i) exec lines, python x2",
}
DAEMON = ("b", "c", "d", "e", "g", "h", "i")
MIB = 1024.0
OTHER_WARN_PCT = 10


def load(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def load_runs(path):
    runs = []
    if os.path.exists(path):
        with open(path) as f:
            runs = [json.loads(line) for line in f if line.strip()]
    return runs


def rows_of(runs):
    """One row per (configuration, connections): medians over the runs."""
    groups = {}
    for r in runs:
        groups.setdefault((r["config"], r["conns"]), []).append(r)
    rows = []
    for (cfg, conns), rs in sorted(groups.items()):
        ok = [r for r in rs if "rps" in r]
        if not ok:
            rows.append({"config": cfg, "label": LABELS[cfg],
                         "connections": conns, "runs": 0,
                         "check": "FAIL"})
            continue

        def med(f):
            return statistics.median(f(r) for r in ok)

        def good(r):
            # Answers per second that were 2xx (wrk: requests - status).
            n = r["requests"]
            return r["rps"] * (n - r["non2xx"]) / n if n else 0.0

        def other(r):
            # Busy CPU time of the machine that was neither the server's
            # (nor, for (h), PostgreSQL's) nor wrk's, in % of all CPUs over
            # the run.
            all_ms = r["nproc"] * r["wall_ms"]
            busy = all_ms - r["idle_ticks"] * 1000 / r["clk_tck"]
            srv = (r["cpu_ticks"] + r.get("cpu_pg_ticks", 0)) * 1000 / \
                r["clk_tck"]
            return 100 * (busy - srv - r["wrk_ms"]) / all_ms

        def cpu(r, key="cpu_ticks"):
            n = r["requests"]
            return r[key] * 1e6 / r["clk_tck"] / n if n else 0.0

        codes = {}
        for r in ok:
            mc = r.get("metrics_codes")
            if isinstance(mc, str) and mc not in ("", "-"):
                for pair in mc.split(","):
                    code, _, n = pair.partition(":")
                    codes[code] = codes.get(code, 0) + int(n)
        checks = [r.get("check", "-") for r in rs]
        if "FAIL" in checks:
            check = "FAIL"
        elif "ok" in checks:
            check = "ok"
        else:
            check = "-"
        rows.append({
            "config": cfg, "label": LABELS[cfg], "connections": conns,
            "runs": len(ok),
            "rps": round(med(lambda r: r["rps"]), 1),
            "rps_2xx": round(med(good), 1),
            "rps_runs": [round(r["rps"], 1) for r in ok],
            "p50_ms": round(med(lambda r: r["p50_us"]) / 1000, 3),
            "p99_ms": round(med(lambda r: r["p99_us"]) / 1000, 3),
            "cpu_us_per_req": round(med(cpu), 1),
            # The part of it in finished children (the exec hooks).
            "cpu_children_us_per_req": round(
                med(lambda r: cpu(r, "cpu_child_ticks")), 1),
            # wrk's own, for the split of the machine's CPU time.
            "wrk_cpu_us_per_req": round(
                med(lambda r: r["wrk_ms"] * 1000 / max(r["requests"], 1)),
                1),
            "peak_rss_mib": round(max(r["hwm_kib"] for r in ok) / MIB, 1),
            # The daemon's process alone, without (i)'s helpers.
            "daemon_peak_rss_mib": round(max(r.get("daemon_hwm_kib") or
                                             r["hwm_kib"] for r in ok) /
                                         MIB, 1),
            "other_cpu_pct": [round(other(r), 1) for r in ok],
            "non2xx": sum(r["non2xx"] for r in ok),
            "socket_errors": sum(r["connect"] + r["read"] + r["write"] +
                                 r["timeout"] for r in ok),
            "check": check,
        })
        if codes:
            rows[-1]["daemon_non2xx"] = codes
        qw = [r for r in ok if isinstance(r.get("qwait_p99_ms"),
                                          (int, float)) and
              r["qwait_p99_ms"] >= 0]
        if qw:
            # How long reports waited for an exec slot (the daemon's
            # histogram, interpolated within its buckets).
            rows[-1]["queue_wait_p50_ms"] = round(statistics.median(
                r["qwait_p50_ms"] for r in qw), 3)
            rows[-1]["queue_wait_p99_ms"] = round(statistics.median(
                r["qwait_p99_ms"] for r in qw), 3)
        if cfg == "h":
            # The PostgreSQL server's processes (postmaster, backends,
            # background workers), and how the sink batched its rows.
            rows[-1]["cpu_pg_us_per_req"] = round(
                med(lambda r: cpu(r, "cpu_pg_ticks")), 1)
            pg = [r for r in ok if isinstance(r.get("pg_batches"), int)
                  and r["pg_batches"] > 0]
            if pg:
                rows[-1]["pg_rows_per_batch"] = round(statistics.median(
                    r["pg_inserted"] / r["pg_batches"] for r in pg), 1)
                rows[-1]["pg_commit_ms"] = round(statistics.median(
                    1000 * r["pg_commit_s"] / r["pg_batches"] for r in pg),
                    3)
            rows[-1]["pg_rows"] = [r.get("rows") for r in ok]
        notes = [r["check_msg"] for r in rs if r.get("check_msg")]
        if notes:
            rows[-1]["check_notes"] = notes
    base = {r["connections"]: r["rps"] for r in rows
            if r["config"] == "a" and "rps" in r}
    for r in rows:
        b = base.get(r["connections"])
        r["vs_nginx"] = round(r["rps"] / b, 3) if b and "rps" in r else None
    return rows


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(rows, idle):
    head = ("%-26s %5s %9s %8s %8s %10s %8s %8s %8s %8s  %s" %
            ("configuration", "conns", "req/s", "p50 ms", "p99 ms",
             "CPU us/req", "RSS MiB", "vs nginx", "non-2xx", "sock err",
             "check"))
    print(head)
    print("-" * len(head))
    for r in rows:
        print("%-26s %5d %9s %8s %8s %10s %8s %8s %8d %8d  %s" % (
            r["label"], r["connections"], fmt(r.get("rps"), ".0f"),
            fmt(r.get("p50_ms"), ".3f"), fmt(r.get("p99_ms"), ".3f"),
            fmt(r.get("cpu_us_per_req"), ".1f"),
            fmt(r.get("peak_rss_mib"), ".1f"), fmt(r.get("vs_nginx"), ".2f"),
            r.get("non2xx", 0), r.get("socket_errors", 0), r["check"]))
    if idle:
        print("%-26s %5d %9s %8s %8s %10s %8s %8s %8d %8s  %s" % (
            "(b) + %d idle keep-alive" % idle["connections"],
            idle["connections"], "-", "-", "-", "-",
            fmt(idle["hwm_mib"], ".1f"), "-",
            idle["connections"] - idle["ok"], "-", idle["check"]))
        print("  idle: %d of %d connections open, %d answered 2xx; daemon "
              "VmRSS %.1f MiB (%.1f before opening them), VmHWM %.1f MiB" %
              (idle["open"], idle["connections"], idle["ok"],
               idle["rss_mib"], idle["rss_before_mib"], idle["hwm_mib"]))
    for r in rows:
        if r.get("cpu_children_us_per_req"):
            print("  %s, %d connection%s: %.1f of the %.1f us CPU per "
                  "request in the /bin/true children" % (
                      r["label"], r["connections"],
                      "s" if r["connections"] > 1 else "",
                      r["cpu_children_us_per_req"], r["cpu_us_per_req"]))
    for r in rows:
        if "queue_wait_p99_ms" in r:
            print("  %s, %d connection%s: waited for a slot p50 %.3f ms, "
                  "p99 %.3f ms (answer p99 %.3f ms)" % (
                      r["label"], r["connections"],
                      "s" if r["connections"] > 1 else "",
                      r["queue_wait_p50_ms"], r["queue_wait_p99_ms"],
                      r["p99_ms"]))
    for r in rows:
        if r.get("daemon_non2xx"):
            print("  %s, %d connections: the daemon answered %s" % (
                r["label"], r["connections"], ", ".join(
                    "%s x %d" % kv for kv in
                    sorted(r["daemon_non2xx"].items()))))
    # Where (h)'s CPU goes: the daemon, PostgreSQL and wrk (whose Lua
    # builds every request, each with its own body).
    for r in rows:
        if r["config"] != "h" or "rps" not in r:
            continue
        c = row(rows, "c", r["connections"])
        print("  %s, %d connection%s: PostgreSQL %.1f us CPU per request "
              "besides the daemon's %.1f (wrk %.1f); %s rows per commit, "
              "%s ms each%s" % (
                  r["label"], r["connections"],
                  "s" if r["connections"] > 1 else "",
                  r["cpu_pg_us_per_req"], r["cpu_us_per_req"],
                  r["wrk_cpu_us_per_req"],
                  fmt(r.get("pg_rows_per_batch"), ".1f"),
                  fmt(r.get("pg_commit_ms"), ".2f"),
                  "; %.0f%% of (c)'s req/s" % (100 * r["rps"] / c["rps"])
                  if c and c["rps"] else ""))
    # What the SNS route adds to the direct one: unwrapping the envelope
    # and checking its RSA signature.
    for r in rows:
        b = row(rows, "b", r["connections"])
        if r["config"] != "g" or "rps" not in r or not b:
            continue
        print("  %s, %d connection%s: %.0f%% of (b)'s req/s, %+.1f us CPU "
              "per request, p50 %+.3f ms" % (
                  r["label"], r["connections"],
                  "s" if r["connections"] > 1 else "",
                  100 * r["rps"] / b["rps"] if b["rps"] else 0,
                  r["cpu_us_per_req"] - b["cpu_us_per_req"],
                  r["p50_ms"] - b["p50_ms"]))
    print("  req/s, p50, p99, CPU: medians of the runs; RSS: the largest "
          "VmHWM (all of a server's processes); non-2xx, sock err: sums")
    others = [(o, r) for r in rows for o in r.get("other_cpu_pct", [])]
    if others:
        o, r = max(others, key=lambda x: x[0])
        print("  other work during the runs (CPU time neither the server's "
              "nor wrk's): median %d%%, at most %d%% of the CPUs (%s, "
              "%d connection%s)" % (
                  round(statistics.median(x[0] for x in others)), round(o),
                  r["label"],
                  r["connections"], "s" if r["connections"] > 1 else ""))
        if o >= OTHER_WARN_PCT:
            print("  (at %d%% or more, other work on this machine skewed "
                  "some figures: rerun on an idle machine)" % OTHER_WARN_PCT)


def print_decode(decode):
    if not decode:
        return
    print()
    print("%-30s %5s %10s %14s %10s" % ("decoder (bench/decode)", "files",
                                        "bytes/avg", "reports/s/core",
                                        "ns/report"))
    for d in decode:
        print("%-30s %5d %10d %14.0f %10.0f" % (
            d["type"], d["files"], d["avg_bytes"], d["reports_per_s"],
            d["ns_per_report"]))


def row(rows, cfg, conns):
    for r in rows:
        if r["config"] == cfg and r["connections"] == conns and "rps" in r:
            return r
    return None


def targets(rows, idle, decode):
    out = []

    def add(name, passed, detail):
        out.append({"target": name,
                    "result": "n/a" if passed is None else
                    ("PASS" if passed else "MISS"),
                    "detail": detail})

    a, b, c = row(rows, "a", 64), row(rows, "b", 64), row(rows, "c", 64)
    if a and b:
        add("(b) >= 50% of (a) req/s at 64 connections",
            b["rps"] >= 0.5 * a["rps"],
            "(b) %.0f req/s = %.0f%% of (a) %.0f" %
            (b["rps"], 100 * b["rps"] / a["rps"], a["rps"]))
    else:
        add("(b) >= 50% of (a) req/s at 64 connections", None,
            "(a) or (b) not measured")
    if b and c:
        add("(c) >= 60% of (b) req/s and p99 < 10 ms at 64 connections",
            c["rps"] >= 0.6 * b["rps"] and c["p99_ms"] < 10,
            "(c) %.0f req/s = %.0f%% of (b) %.0f, p99 %.2f ms" %
            (c["rps"], 100 * c["rps"] / b["rps"], b["rps"], c["p99_ms"]))
    else:
        add("(c) >= 60% of (b) req/s and p99 < 10 ms at 64 connections",
            None, "(b) or (c) not measured")
    for conns in (64, 1):
        e, f = row(rows, "e", conns), row(rows, "f", conns)
        name = ("(e) >= 2x (f) 2xx/s with lower p99 at %d connection%s" %
                (conns, "s" if conns > 1 else ""))
        if conns == 1:
            name += " (for information)"
        if e and f:
            passed = (e["rps_2xx"] >= 2 * f["rps_2xx"] and
                      e["p99_ms"] < f["p99_ms"])
            detail = ("(e) %.0f 2xx/s (%.0f answers/s) = %.2fx (f) %.0f; "
                      "p99 %.2f vs %.2f ms" %
                      (e["rps_2xx"], e["rps"],
                       e["rps_2xx"] / f["rps_2xx"] if f["rps_2xx"] else 0,
                       f["rps_2xx"], e["p99_ms"], f["p99_ms"]))
            add(name, passed, detail)
        else:
            add(name, None, "(e) or (f) not measured")
    i, f = row(rows, "i", 64), row(rows, "f", 64)
    name = "(i) >= 20x (f) 2xx/s at 64 connections"
    if i and f:
        add(name, i["rps_2xx"] >= 20 * f["rps_2xx"],
            "(i) %.0f 2xx/s = %.1fx (f) %.0f; p99 %.2f vs %.2f ms" % (
                i["rps_2xx"], i["rps_2xx"] / f["rps_2xx"]
                if f["rps_2xx"] else 0, f["rps_2xx"], i["p99_ms"],
                f["p99_ms"]))
    else:
        add(name, None, "(f) or (i) not measured")
    h = row(rows, "h", 64)
    name = "(h) >= 50% of (c) req/s at 64 connections"
    if c and h:
        add(name, h["rps"] >= 0.5 * c["rps"],
            "(h) %.0f req/s = %.0f%% of (c) %.0f" %
            (h["rps"], 100 * h["rps"] / c["rps"], c["rps"]))
    else:
        add(name, None, "(c) or (h) not measured")
    name = "(h) p99 < 20 ms at 64 connections"
    if h:
        h1 = row(rows, "h", 1)
        add(name, h["p99_ms"] < 20, "p99 %.2f ms%s" % (
            h["p99_ms"], " (%.2f ms at 1 connection)" % h1["p99_ms"]
            if h1 else ""))
    else:
        add(name, None, "(h) not measured")
    peaks = [(r["label"], r["connections"], r["daemon_peak_rss_mib"])
             for r in rows
             if r["config"] in DAEMON and "daemon_peak_rss_mib" in r]
    if peaks:
        worst = max(peaks, key=lambda p: p[2])
        add("peak RSS < 32 MiB of the daemon in every configuration",
            worst[2] < 32, "largest %.1f MiB: %s, %d connections" % (
                worst[2], worst[0], worst[1]))
    if idle:
        add("peak RSS < 64 MiB with 1000 idle keep-alive connections",
            idle["hwm_mib"] < 64 and idle["open"] == idle["connections"],
            "VmHWM %.1f MiB, VmRSS %.1f MiB, %d connections open" %
            (idle["hwm_mib"], idle["rss_mib"], idle["open"]))
    # The slowest of the recipient report types (SMS, MMS) decides.
    rdr = [d for d in decode or []
           if d.get("kind") == "recipient_delivery_report"]
    if rdr:
        slow = min(rdr, key=lambda d: d["reports_per_s"])
        add("decoder >= 300000 recipient delivery reports/s per core",
            slow["reports_per_s"] >= 300000,
            "%.0f reports/s per core (%s, the slower of %d types)" %
            (slow["reports_per_s"], slow["type"], len(rdr)))
    else:
        add("decoder >= 300000 recipient delivery reports/s per core", None,
            "no recipient delivery report decoded")
    return out


def compact_json(obj):
    """One key a line; a list of objects (rows, targets) one item a line:
    small, and a diff between two results reads row by row."""
    def one(v):
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)

    parts = []
    for k, v in obj.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            parts.append(" %s: [\n  %s\n ]" % (
                one(k), ",\n  ".join(one(x) for x in v)))
        else:
            parts.append(" %s: %s" % (one(k), one(v)))
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    d, out_path = sys.argv[1], sys.argv[2]
    meta = load(os.path.join(d, "meta.json"), {})
    runs = load_runs(os.path.join(d, "runs.jsonl"))
    idle = load(os.path.join(d, "idle.json"), None)
    decode = load(os.path.join(d, "decode.json"), None)
    rows = rows_of(runs)

    print()
    print_table(rows, idle)
    print_decode(decode)
    tg = targets(rows, idle, decode)
    print()
    for t in tg:
        print("target %-4s %s: %s" % (t["result"], t["target"], t["detail"]))

    failed = [r for r in runs if r.get("check") == "FAIL"]
    if idle and idle["check"] == "FAIL":
        failed.append(idle)
    result = dict(meta)
    result.update({"rows": rows, "idle": idle, "decode": decode,
                   "targets": tg, "checks_failed": len(failed)})
    with open(out_path + ".tmp", "w") as f:
        f.write(compact_json(result))
    os.replace(out_path + ".tmp", out_path)
    print()
    print("results: %s" % out_path)
    if failed:
        print("bench: %d correctness check(s) FAILED:" % len(failed))
        for r in failed:
            print("  %s" % r.get("check_msg", r))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
