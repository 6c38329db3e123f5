#!/usr/bin/env python3
"""sns_server.py - a stand-in for the AWS SNS host, for tests/e2e/t_sns.sh.

Usage: sns_server.py CERT KEY DIR LOG PORT-FILE SECONDS

HTTPS on 127.0.0.1, a port the kernel picks, with the server certificate
CERT and its key KEY (made for sns.<region>.amazonaws.com by a test CA).
It answers:

  GET /NAME.pem       the file DIR/NAME.pem (a signing certificate), 404
                      when there is none
  GET /?Action=ConfirmSubscription&TopicArn=ARN&Token=TOKEN
                      200 and the XML of a ConfirmSubscriptionResponse; 500
                      when TOKEN starts with "fail" (SNS refusing it)
  anything else       404 (405 for a method other than GET)

Each request is appended to LOG as one line, "METHOD PATH" (the path with
its query as sent), before it is answered.  The port is written to
PORT-FILE (whole, through a rename) once the server listens.  It stops by
itself after SECONDS, and at once on SIGTERM or SIGINT.
"""
import http.server
import os
import signal
import ssl
import sys
import threading
import urllib.parse

CONFIRMED = """<ConfirmSubscriptionResponse \
xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <ConfirmSubscriptionResult>
    <SubscriptionArn>%s:e2e-subscription</SubscriptionArn>
  </ConfirmSubscriptionResult>
  <ResponseMetadata>
    <RequestId>e2e-request</RequestId>
  </ResponseMetadata>
</ConfirmSubscriptionResponse>
"""

REFUSED = """<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <Error><Type>Sender</Type><Code>InvalidParameter</Code>
  <Message>Invalid token</Message></Error>
</ErrorResponse>
"""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "e2e-sns"

    def log_message(self, fmt, *args):
        pass

    def note(self):
        with self.server.log_lock, open(self.server.log, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def answer(self, code, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self.note()
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/" and q.get("Action") == ["ConfirmSubscription"]:
            topic, token = q.get("TopicArn"), q.get("Token")
            if not topic or not token:
                self.answer(400, REFUSED, "text/xml")
            elif token[0].startswith("fail"):
                self.answer(500, REFUSED, "text/xml")
            else:
                self.answer(200, CONFIRMED % topic[0], "text/xml")
            return
        name = url.path[1:]
        if (url.path.endswith(".pem") and "/" not in name and
                not name.startswith(".") and
                os.path.isfile(os.path.join(self.server.dir, name))):
            with open(os.path.join(self.server.dir, name)) as f:
                self.answer(200, f.read(), "application/x-pem-file")
            return
        self.answer(404, "not found\n")

    def do_other(self):
        self.note()
        self.answer(405, "method not allowed\n")

    do_POST = do_PUT = do_DELETE = do_HEAD = do_other


def main(argv):
    if len(argv) != 7:
        sys.stderr.write(__doc__)
        return 2
    cert, key, d, log, port_file, secs = argv[1:]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.dir, srv.log, srv.log_lock = d, log, threading.Lock()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    # The handshake happens in the request's thread, not in accept().
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                 do_handshake_on_connect=False)
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.set())
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(port_file + ".tmp", port_file)
    t = threading.Thread(target=srv.serve_forever, args=(0.1,),
                         daemon=True)
    t.start()
    stop.wait(float(secs))
    srv.shutdown()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
