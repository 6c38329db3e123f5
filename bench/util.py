#!/usr/bin/env python3
"""util.py - small helpers of bench/run.sh, one subcommand each.

  freeport                  a TCP port on 127.0.0.1 that is free right now
  listenport PID            the port PID listens on (127.0.0.1), from /proc;
                            exit 1 while it listens on none
  connects PORT             exit 0 if 127.0.0.1:PORT accepts a connection
  ticks PID...              utime+stime+cutime+cstime of the PIDs, summed,
                            then cutime+cstime alone (the finished
                            children's part), in clock ticks (CLK_TCK)
  treeticks PID             utime+stime+cutime+cstime of PID and of all
                            its descendants, summed, in clock ticks (a
                            child that exited is in its parent's cutime)
  mem PID...                VmRSS and VmHWM of the PIDs, summed (KiB)
  sign SECRET BODY NONCE TS the Sinch signature of the body file:
                            Base64(HMAC-SHA256(secret, body.nonce.ts))
  metrics PORT PATH SINK    from the daemon's /metrics: answers 2xx, other
                            answers, SINK's deliveries with verdict ok, and
                            the other answers by code ("429:12,503:1", "-")
  pgmetrics PORT PATH SINK  from /metrics, the postgres sink SINK's rows
                            inserted and found already there, its
                            batches committed and their total time (s)
  queuewait PORT PATH SINK  from /metrics, the 50th and 99th percentiles
                            of the time reports waited for a slot of the
                            exec sink SINK (ms), from its histogram
  ready PORT                exit 0 if GET /readyz answers 200
  record WRKLINE KEY=VAL... one JSON object: wrk's line and the pairs
                            (a value that parses as a number is one)
  machine KEY=VAL...        the machine's description as JSON, plus pairs
  json-get FILE KEY...      values of top-level keys of a JSON object
"""
import base64
import hashlib
import hmac
import json
import os
import platform
import re
import socket
import sys
import urllib.request

METRICS_PREFIX = "sinch_webhookd_"


def freeport(_args):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def listenport(args):
    pid = args[0]
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            m = re.match(r"socket:\[(\d+)\]$", link)
            if m:
                inodes.add(m.group(1))
    except OSError:
        return 1
    # /proc/net/tcp: "sl local_address rem_address st ... inode"; 0A LISTEN.
    with open(f"/proc/{pid}/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            addr, port = fields[1].split(":")
            if fields[3] == "0A" and fields[9] in inodes and \
                    addr == "0100007F":
                print(int(port, 16))
                return 0
    return 1


def connects(args):
    try:
        with socket.create_connection(("127.0.0.1", int(args[0])),
                                      timeout=1):
            return 0
    except OSError:
        return 1


def _stat(pid):
    """The fields of /proc/PID/stat after "(comm) " (state is field 3 of
    the whole line, so rest[0]), or None when PID is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def ticks(args):
    total = children = 0
    for pid in args:
        rest = _stat(pid)
        if rest is None:
            continue
        # utime is field 14, so rest[11].
        total += sum(int(x) for x in rest[11:15])
        children += sum(int(x) for x in rest[13:15])
    print(total, children)


def treeticks(args):
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        rest = _stat(name)
        if rest is not None:
            kids.setdefault(rest[1], []).append(name)    # ppid: field 4
    total, todo = 0, [args[0]]
    while todo:
        pid = todo.pop()
        rest = _stat(pid)
        if rest is None:
            continue
        total += sum(int(x) for x in rest[11:15])
        todo.extend(kids.get(pid, []))
    print(total)


def mem(args):
    rss = hwm = 0
    for pid in args:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
        except OSError:
            continue
    print(rss, hwm)


def sign(args):
    secret_file, body_file, nonce, ts = args
    with open(secret_file, "rb") as f:
        secret = f.read()
    with open(body_file, "rb") as f:
        msg = f.read() + b"." + nonce.encode() + b"." + ts.encode()
    mac = hmac.new(secret, msg, hashlib.sha256).digest()
    print(base64.b64encode(mac).decode())


def _get(port, path):
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()
    except OSError as e:
        print(f"util.py: unable to read {url}: {e}", file=sys.stderr)
        return None


def metrics(args):
    port, path, sink = args
    text = _get(port, path)
    if text is None:
        return 1
    ok = other = deliv = 0
    codes = []
    req = re.compile(METRICS_PREFIX +
                     r'requests_total\{code="(\d+)"\} (\d+)')
    dlv = re.compile(METRICS_PREFIX + r'sink_deliveries_total\{sink="' +
                     re.escape(sink) + r'",verdict="ok"\} (\d+)')
    for line in text.splitlines():
        m = req.match(line)
        if m:
            if m.group(1).startswith("2"):
                ok += int(m.group(2))
            else:
                other += int(m.group(2))
                codes.append(m.group(1) + ":" + m.group(2))
            continue
        m = dlv.match(line)
        if m:
            deliv += int(m.group(1))
    print(ok, other, deliv, ",".join(codes) or "-")


def pgmetrics(args):
    port, path, sink = args
    text = _get(port, path)
    if text is None:
        return 1
    lab = r'\{sink="' + re.escape(sink) + '"'
    want = {
        "inserted": METRICS_PREFIX + "postgres_rows_total" + lab +
        r',result="inserted"\} (\S+)',
        "duplicate": METRICS_PREFIX + "postgres_rows_total" + lab +
        r',result="duplicate"\} (\S+)',
        "batches": METRICS_PREFIX + "postgres_commit_seconds_count" + lab +
        r'\} (\S+)',
        "commit_s": METRICS_PREFIX + "postgres_commit_seconds_sum" + lab +
        r'\} (\S+)',
    }
    got = {}
    for line in text.splitlines():
        for k, pat in want.items():
            m = re.fullmatch(pat, line)
            if m:
                got[k] = m.group(1)
    print(" ".join(got.get(k, "-") for k in want))


def _quantile(buckets, q):
    """As Prometheus' histogram_quantile: buckets is [(le, cumulative
    count)] in order, +Inf last; linear within the bucket, and the
    largest finite bound for the +Inf bucket."""
    total = buckets[-1][1]
    if total == 0:
        return 0.0
    rank, lo, below = q * total, 0.0, 0
    for le, n in buckets:
        if n >= rank:
            if le == float("inf"):
                return lo
            return lo + (le - lo) * (rank - below) / max(n - below, 1)
        lo, below = le, n
    return lo


def queuewait(args):
    port, path, sink = args
    text = _get(port, path)
    if text is None:
        return 1
    pat = re.compile(METRICS_PREFIX + r'sink_queue_wait_seconds_bucket'
                     r'\{sink="' + re.escape(sink) + r'",le="([^"]+)"\} (\d+)')
    buckets = []
    for line in text.splitlines():
        m = pat.fullmatch(line)
        if m:
            buckets.append((float(m.group(1)), int(m.group(2))))
    if not buckets:
        print("- -")
        return 0
    print("%.3f %.3f" % (1000 * _quantile(buckets, 0.5),
                         1000 * _quantile(buckets, 0.99)))


def ready(args):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{args[0]}/readyz",
                                    timeout=2) as r:
            return 0 if r.status == 200 else 1
    except OSError:
        return 1


def _value(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def _pairs(args, convert=True):
    out = {}
    for a in args:
        k, _, v = a.partition("=")
        out[k] = _value(v) if convert else v
    return out


def record(args):
    line = args[0]
    rec = json.loads(line[line.index("{"):]) if "{" in line else {}
    rec.update(_pairs(args[1:]))
    print(json.dumps(rec, separators=(",", ":")))


def machine(args):
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    info = {
        "hostname": platform.node(),
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
    }
    # Versions and commits stay strings, even "1234567".
    info.update(_pairs(args, convert=False))
    print(json.dumps(info, separators=(",", ":")))


def json_get(args):
    with open(args[0]) as f:
        obj = json.load(f)
    print(" ".join(str(obj.get(k, "")) for k in args[1:]))


COMMANDS = {
    "freeport": freeport, "listenport": listenport, "connects": connects,
    "ticks": ticks, "treeticks": treeticks, "mem": mem, "sign": sign,
    "metrics": metrics, "pgmetrics": pgmetrics, "queuewait": queuewait,
    "ready": ready,
    "record": record, "machine": machine, "json-get": json_get,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]) or 0)
