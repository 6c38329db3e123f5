#!/usr/bin/env python3
"""sender.py - posts distinct callbacks, each until it is answered 200.

Used by the postgres sink's tests (t_postgres_*.sh) to keep a load going
while the server or the daemon is taken away, and by the exec sink's
(t_exec_queue.sh, t_exec_lines.sh) to send a burst as Sinch does.  COUNT
recipient delivery reports, unique to TAG, are shared among WORKERS
threads; each thread posts a body, and on any other answer (or a refused
or broken connection) waits a little and posts the same bytes again.
Every attempt is one line of LOG, written as it happens:

    <time, epoch seconds> <body index> <status, 000 for no answer>

With --sinch, retries follow Sinch's own schedule in real time: a body
not answered 2xx is tried again 5 s later, then 10 s, 20 s, ... while
its thread goes on with the other bodies, and each line of LOG ends with
the answer's Retry-After (or "-").

KEYS gets "<body index> <SHA-256 of the body, hex>" for every body.
Gives up after SECONDS (exit 1, the bodies never answered 200 on stderr);
with --once, each body is posted one time only, whatever the answer.
With --rate R, new bodies start at R per second at most (retries do not
wait), so that a load lasts long enough to have an outage in its middle.
Talks only to the URL given (127.0.0.1 in the tests).
"""

import argparse
import hashlib
import heapq
import http.client
import queue
import sys
import threading
import time
import urllib.parse


def body_of(tag, i):
    return (
        '{"type":"recipient_delivery_report_sms","batch_id":"01LOAD%s",'
        '"recipient":"4670%07d","code":0,"status":"Delivered",'
        '"at":"2026-01-01T00:00:00.000Z","client_reference":"%s-%d"}'
        % (tag, i, tag, i)
    ).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--log", required=True)
    ap.add_argument("--keys")
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--once", action="store_true")
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--sinch", action="store_true")
    a = ap.parse_args()

    u = urllib.parse.urlsplit(a.url)
    host, port, path = u.hostname, u.port, u.path or "/"
    start = time.monotonic()
    deadline = start + a.seconds
    indexes = range(a.first, a.first + a.count)
    if a.keys:
        with open(a.keys, "w") as f:
            for i in indexes:
                f.write("%d %s\n" % (i, hashlib.sha256(
                    body_of(a.tag, i)).hexdigest()))
    work = queue.Queue()
    for i in indexes:
        work.put(i)
    log = open(a.log, "w", buffering=1)
    lock = threading.Lock()
    unsent = []
    slot = [0]

    def note(i, status):
        with lock:
            log.write("%.3f %d %s\n" % (time.time(), i, status))

    def pace():
        if a.rate <= 0:
            return
        with lock:
            at = start + slot[0] / a.rate
            slot[0] += 1
        wait = at - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def post(conn, body):
        """One attempt: (status, Retry-After or "-", conn to use next)."""
        status, retry = "000", "-"
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=30)
            conn.request("POST", path, body=body, headers={
                "Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            status = "%03d" % r.status
            retry = r.getheader("Retry-After") or "-"
            if r.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            if conn is not None:
                conn.close()
            conn = None
        return status, retry, conn

    # --sinch: (when due, body index, retries so far), earliest first.
    due = [(start, i, 0) for i in indexes]
    cond = threading.Condition(lock)
    busy = [0]

    def sinch_worker():
        conn = None
        while True:
            with cond:
                while True:
                    if not due and busy[0] == 0:
                        cond.notify_all()
                        return
                    now = time.monotonic()
                    if now >= deadline:
                        unsent.extend(i for _, i, _ in due)
                        due.clear()
                        cond.notify_all()
                        return
                    if due and due[0][0] <= now:
                        _, i, tries = heapq.heappop(due)
                        busy[0] += 1
                        break
                    cond.wait(min(due[0][0] - now if due else 1,
                                  deadline - now))
            pace()
            status, retry, conn = post(conn, body_of(a.tag, i))
            with cond:
                log.write("%.3f %d %s %s\n" % (time.time(), i, status,
                                               retry))
                busy[0] -= 1
                if not status.startswith("2") and not a.once:
                    heapq.heappush(due, (time.monotonic() + 5 * 2 ** tries,
                                         i, tries + 1))
                cond.notify_all()

    def worker():
        conn = None
        while True:
            try:
                i = work.get_nowait()
            except queue.Empty:
                break
            body = body_of(a.tag, i)
            pace()
            pause = 0.05
            while True:
                status, _, conn = post(conn, body)
                note(i, status)
                if status == "200" or a.once:
                    break
                if time.monotonic() >= deadline:
                    with lock:
                        unsent.append(i)
                    break
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=sinch_worker if a.sinch else worker)
               for _ in range(a.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    if unsent:
        print("sender: %d bodies never answered 200 within %gs: %s" % (
            len(unsent), a.seconds, " ".join(map(str, sorted(unsent)[:20]))),
            file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
