#!/usr/bin/env python3
"""stall.py - opens many half-sent requests and holds them, as a slow or
hostile client would.

Each connection, from --source, sends a callback's headers with
Content-Length: 500 and then 4 bytes of the body, and stalls.  After
--settle seconds the connections the daemon has already closed are counted
as refused; the rest as accepted.  Then it waits, at most --hold seconds,
for the daemon to close the accepted ones, noting when each closed.

Writes KEY=VALUE lines to --status as it goes (the file is replaced
atomically, so a reader never sees half of it):
  accepted=N refused=M                        after the settle time
  open=K closed=C first_close_s=F last_close_s=L   every half second
  done=1                                      when it stops
Seconds are counted from the moment the connection sent its last byte.
It exits by itself after --hold seconds, or at once when every accepted
connection has been closed.
"""

import argparse
import os
import resource
import select
import socket
import sys
import time

HEAD = (b"POST /sinch/sms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n")
PART = b'{"ty'


def write_status(path, fields):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for k, v in fields.items():
            f.write("%s=%s\n" % (k, v))
    os.replace(tmp, path)


def is_closed(sock):
    """True when the peer has closed (EOF or reset); never blocks."""
    try:
        data = sock.recv(4096, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False
    except OSError:
        return True
    # Anything sent back (there should be nothing) is not a close.
    return data == b""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--source", default="127.0.0.1")
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--hold", type=float, default=60.0)
    ap.add_argument("--status", required=True)
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.count + 64
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            sys.exit("stall.py: ulimit -Hn is %d, need %d" % (hard, want))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    socks = []
    sent_at = {}
    early = 0
    for _ in range(a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a.source, 0))
        try:
            s.connect(("127.0.0.1", a.port))
            s.sendall(HEAD + PART)
        except OSError:
            early += 1
            s.close()
            continue
        sent_at[s] = time.monotonic()
        socks.append(s)

    time.sleep(a.settle)
    accepted = [s for s in socks if not is_closed(s)]
    for s in socks:
        if s not in accepted:
            s.close()
    refused = a.count - len(accepted)
    write_status(a.status, {"accepted": len(accepted), "refused": refused})

    start = time.monotonic()
    open_ = {s.fileno(): s for s in accepted}
    poller = select.poll()
    for fd in open_:
        poller.register(fd, select.POLLIN)
    closes = []
    while open_ and time.monotonic() - start < a.hold:
        ready = poller.poll(500)
        now = time.monotonic()
        for fd, _ in ready:
            s = open_.get(fd)
            if s is not None and is_closed(s):
                closes.append(now - sent_at[s])
                poller.unregister(fd)
                del open_[fd]
                s.close()
        write_status(a.status, {
            "accepted": len(accepted), "refused": refused,
            "open": len(open_), "closed": len(closes),
            "first_close_s": "%.1f" % min(closes) if closes else "-",
            "last_close_s": "%.1f" % max(closes) if closes else "-"})
    for s in open_.values():
        s.close()
    write_status(a.status, {
        "accepted": len(accepted), "refused": refused,
        "open": len(open_), "closed": len(closes),
        "first_close_s": "%.1f" % min(closes) if closes else "-",
        "last_close_s": "%.1f" % max(closes) if closes else "-",
        "done": 1})


if __name__ == "__main__":
    main()
