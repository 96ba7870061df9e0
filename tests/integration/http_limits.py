#!/usr/bin/env python3
"""Request size limits: 431 (head too large, too many headers), 414 (request
line too long), 413 (body over http.max_body_bytes), the defaults and the
config keys that move them; just under each limit is served."""

import os
import socket

import hslib
from hslib import Conn, build_request, test

_root = []


def root():
    if not _root:
        d = hslib.tmpdir("hs-limits-")
        hslib.write(os.path.join(d, "index.html"), "<p>index</p>\n")
        _root.append(d)
    return _root[0]


def srv():
    return hslib.shared("default", lambda: hslib.start_static(root(), workers=1))


CLOSING = (400, 408, 413, 414, 417, 431, 501, 505)


def send_expect(port, data, want):
    """Sends raw bytes; returns the response after checking the status and,
    for a refused request, the error format and the connection close."""
    with Conn(port, timeout=5) as c:
        c.send_quiet(data)
        try:
            r = c.read_response(timeout=5)
        except hslib.Closed as e:
            raise AssertionError("want %d, connection closed without a response (%s)" % (want, e))
        if want in CLOSING:
            hslib.check_error_response(r, want)
            assert c.closed_within(3), "%d but the connection stayed open" % want
            assert c.buf == b"", "bytes after the %d: %r" % (want, c.buf[:80])
        else:
            assert r.status == want, "status %d, want %d" % (r.status, want)
        return r


def head_with(total, nheaders=1):
    """A GET whose head (request line + headers + final CRLF) is `total` bytes."""
    base = b"GET / HTTP/1.1\r\nHost: x\r\n"
    per = []
    for i in range(nheaders):
        per.append(b"X-F%d: " % i)
    fixed = len(base) + sum(len(p) + 2 for p in per) + 2
    pad = total - fixed
    assert pad >= nheaders
    out = base
    for i, p in enumerate(per):
        n = pad // nheaders + (1 if i < pad % nheaders else 0)
        out += p + b"v" * n + b"\r\n"
    out += b"\r\n"
    assert len(out) == total, (len(out), total)
    return out


@test
def header_section_limit_default_16k():
    port = srv().port
    send_expect(port, head_with(15 * 1024, 4), 200)
    send_expect(port, head_with(17 * 1024, 1), 431)
    send_expect(port, head_with(20 * 1024, 40), 431)


@test
def header_count_limit_default_100():
    port = srv().port
    ok = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(99)) + b"\r\n"
    send_expect(port, ok, 200)  # 100 fields
    bad = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(100)) + b"\r\n"
    send_expect(port, bad, 431)  # 101 fields


@test
def request_line_414():
    port = srv().port
    send_expect(port, b"GET /" + b"a" * 8000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 404)
    send_expect(port, b"GET /" + b"a" * 17000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)
    # a long target that never ends (no CRLF yet): still 414, not a hang
    with Conn(port, timeout=5) as c:
        c.send_quiet(b"GET /" + b"a" * 40000)
        r = c.read_response(timeout=5)
        hslib.check_error_response(r, 414)


@test
def header_limits_configurable():
    s = hslib.start_static(root(), sets=["http.max_header_bytes=4k", "http.max_headers=10"], name="small")
    send_expect(s.port, head_with(3500, 2), 200)
    send_expect(s.port, head_with(5000, 2), 431)
    ok = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(9)) + b"\r\n"
    send_expect(s.port, ok, 200)
    bad = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10)) + b"\r\n"
    send_expect(s.port, bad, 431)
    send_expect(s.port, b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)


def small_body_srv():
    return hslib.shared("body", lambda: hslib.start_static(root(), sets=["http.max_body_bytes=1k"], name="body"))


@test
def body_limit_content_length_413():
    s = small_body_srv()
    # at the limit: refused as a body on a static server (405), connection kept
    with Conn(s.port) as c:
        c.send(build_request("POST", "/", {"Content-Length": "1024"}) + b"x" * 1024 + build_request("GET", "/"))
        r = c.read_response()
        assert r.status == 405, "body of exactly max_body_bytes -> %d, want 405" % r.status
        r = c.read_response()
        assert r.status == 200, "GET after 1 KiB body -> %d" % r.status
    # over the limit: 413 from the head alone, no need to send the body
    with Conn(s.port) as c:
        c.send(build_request("POST", "/", {"Content-Length": "1025"}))
        r = c.read_response(timeout=3)
        hslib.check_error_response(r, 413)
        assert c.closed_within(3), "413 but connection open"
    send_expect(s.port, build_request("PUT", "/", {"Content-Length": "100000"}) + b"y" * 100000, 413)


@test
def body_limit_chunked_413():
    s = small_body_srv()
    body = b"".join(b"100\r\n" + b"z" * 256 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"  # 2 KiB
    with Conn(s.port) as c:
        c.send_quiet(build_request("POST", "/", {"Transfer-Encoding": "chunked"}) + body + build_request("GET", "/"))
        r = c.read_response()
        # 405 may go out when the head is read; then the oversized body must
        # still end the connection (it is not consumed past the limit)
        assert r.status in (413, 405), "2 KiB chunked body, 1 KiB limit -> %d" % r.status
        assert c.closed_within(3), "%d for an oversized chunked body, connection kept" % r.status
        assert c.buf == b"", "second response after an oversized chunked body: %r" % c.buf[:80]


@test
def default_body_limit_5g():
    send_expect(srv().port, build_request("POST", "/", {"Content-Length": str(5 * 1024 ** 3 + 1)}), 413)


if __name__ == "__main__":
    hslib.run()
