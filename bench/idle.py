#!/usr/bin/env python3
"""idle.py - holds N idle keep-alive connections open to a server.

Usage: idle.py PORT PATH BODY-FILE N [TIMEOUT-S]

Opens N connections to 127.0.0.1:PORT one after the other; on each it
sends one complete POST of BODY-FILE (HTTP/1.1, keep-alive) and reads the
whole answer, so the server has served a request on every connection and
now holds it idle.  Then it prints one line, "ready OPEN OK2XX FAILED",
and keeps every socket open until it is sent SIGTERM or SIGINT or
TIMEOUT-S (default 120) passes, whichever comes first.  (Not stdin: a
background job's stdin is /dev/null.)
"""
import signal
import socket
import sys
import time


def answer(sock):
    """Reads one HTTP answer; returns its status code."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the headers")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed within the body")
        rest += chunk
    return status


def main():
    if len(sys.argv) not in (5, 6):
        sys.stderr.write(__doc__)
        return 2
    port, path, body_file, n = (int(sys.argv[1]), sys.argv[2],
                                sys.argv[3], int(sys.argv[4]))
    timeout_s = float(sys.argv[5]) if len(sys.argv) == 6 else 120.0
    with open(body_file, "rb") as f:
        body = f.read()
    request = (b"POST " + path.encode() + b" HTTP/1.1\r\n"
               b"Host: 127.0.0.1\r\n"
               b"Content-Type: application/json\r\n"
               b"Connection: keep-alive\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" +
               body)
    socks, ok, failed = [], 0, 0
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(request)
            if 200 <= answer(s) < 300:
                ok += 1
            socks.append(s)
        except (OSError, ValueError, IndexError):
            failed += 1
    print("ready", len(socks), ok, failed, flush=True)

    def stop(_sig, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        time.sleep(timeout_s)
    finally:
        for s in socks:
            s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
