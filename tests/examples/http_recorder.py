#!/usr/bin/env python3
"""http_recorder.py - a tiny HTTP receiver for the example hook tests.

    http_recorder.py DIR [LIFETIME_S]

Listens on 127.0.0.1 at a port the kernel picks and writes that port to
DIR/port.  Each POST body is saved as DIR/req.N (N = 1, 2, ...) before the
answer is sent, its Content-Type as DIR/req.N.ctype and its path (with
the query) as DIR/req.N.path.  The answer's status is read from
DIR/status for every request (default 200); "sleep S" there waits S
seconds and then answers 200 (to provoke a client timeout).  Exits by
itself after LIFETIME_S seconds (default 120), so a forgotten receiver
cannot outlive a test run.
Only the standard library: Debian's python3 package is enough.
"""

import http.server
import os
import sys
import threading
import time

DIR = sys.argv[1]
LIFETIME = float(sys.argv[2]) if len(sys.argv) > 2 else 120.0
LOCK = threading.Lock()
COUNT = 0


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        global COUNT
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with LOCK:
            COUNT += 1
            n = COUNT
        # Details first: req.N appearing means the request is complete.
        write_atomic(os.path.join(DIR, "req.%d.ctype" % n),
                     (self.headers.get("Content-Type") or "").encode())
        write_atomic(os.path.join(DIR, "req.%d.path" % n),
                     self.path.encode())
        write_atomic(os.path.join(DIR, "req.%d" % n), body)
        try:
            with open(os.path.join(DIR, "status")) as f:
                status = f.read().strip() or "200"
        except FileNotFoundError:
            status = "200"
        if status.startswith("sleep "):
            time.sleep(float(status.split()[1]))
            status = "200"
        answer = b"ok" if status.startswith("2") else b"no_service"
        self.send_response(int(status))
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Timer(LIFETIME, lambda: os._exit(0)).start()
    write_atomic(os.path.join(DIR, "port"),
                 str(server.server_address[1]).encode())
    server.serve_forever()


if __name__ == "__main__":
    main()
