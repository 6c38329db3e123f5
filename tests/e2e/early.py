#!/usr/bin/env python3
"""early.py - sends a large body the way clients that do not read while
they send do, and prints the status line they then read.

  early.py httpclient URL SIZE [--chunked] [--cafile F]
      Python's http.client: request() sends headers and the whole body,
      then getresponse() reads.  Prints "STATUS REASON-BODY".
  early.py raw HOST PORT PATH SIZE [--tls --cafile F]
      One sendall() of headers and body, then read: prints the first line.

Anything else (a reset, a broken pipe, a timeout) is printed as
"error: ..." and exits 1.
"""

import http.client
import socket
import ssl
import sys
import urllib.parse


def body(size):
    # Valid JSON start, then filler: only its size matters.
    head = b'{"type":"mo_text","body":"'
    return head + b"x" * (size - len(head))


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    return ctx


def httpclient(url, size, chunked, cafile):
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=60,
                                           context=tls_context(cafile))
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    data = body(size)
    headers = {"Content-Type": "application/json"}
    if chunked:
        # An iterable body is sent chunked.
        parts = (data[i:i + 65536] for i in range(0, len(data), 65536))
        conn.request("POST", u.path, body=parts, headers=headers,
                     encode_chunked=True)
    else:
        conn.request("POST", u.path, body=data, headers=headers)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace").strip()
    print("%d %s" % (resp.status, text))


def raw(host, port, path, size, tls, cafile):
    data = body(size)
    req = (("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json"
            "\r\nContent-Length: %d\r\n\r\n") % (path, host, len(data))
           ).encode() + data
    s = socket.create_connection((host, port), timeout=60)
    if tls:
        s = tls_context(cafile).wrap_socket(s, server_hostname=host)
    s.sendall(req)
    got = b""
    while b"\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    print(got.split(b"\r\n")[0].decode("latin-1"))


def main():
    args = sys.argv[1:]
    cafile = None
    if "--cafile" in args:
        i = args.index("--cafile")
        cafile = args[i + 1]
        del args[i:i + 2]
    try:
        if args[0] == "httpclient":
            httpclient(args[1], int(args[2]), "--chunked" in args, cafile)
        elif args[0] == "raw":
            raw(args[1], int(args[2]), args[3], int(args[4]),
                "--tls" in args, cafile)
        else:
            sys.exit("early.py: unknown mode %s" % args[0])
    except (OSError, http.client.HTTPException) as e:
        print("error: %r" % (e,))
        sys.exit(1)


if __name__ == "__main__":
    main()
