#!/usr/bin/env python3
"""HTTP/1.1 connection semantics: keep-alive, Connection: close, HTTP/1.0,
HEAD, pipelining, request bodies on a static server (405 + the body consumed
so the next pipelined request is framed right), Expect: 100-continue, unknown
methods, and large-file integrity through curl."""

import hashlib
import os
import random
import socket
import threading
import struct
import subprocess
import time

import hslib
from hslib import Conn, build_request, test

FILES = {"a.txt": b"file a\n", "b.txt": b"file bb\n", "c.txt": b"file ccc\n", "index.html": b"<p>index</p>\n"}

_root = []


def root():
    if not _root:
        d = hslib.tmpdir("hs-proto-")
        for n, data in FILES.items():
            hslib.write(os.path.join(d, n), data)
        # 24 MiB of incompressible bytes for the integrity check
        with open(os.path.join(d, "large.bin"), "wb") as f:
            for i in range(24 * 1024):
                f.write(hashlib.sha512(b"%d" % i).digest() * 16)
        _root.append(d)
    return _root[0]


def srv():
    return hslib.shared("static", lambda: hslib.start_static(root(), workers=2, admin=not hslib.PEER))


def worker_pid():
    return None if hslib.PEER else hslib.admin_status(srv().admin_port)["pid"]


def conn():
    return Conn(srv().port)


@test
def keep_alive_default():
    with conn() as c:
        for n in ("a.txt", "b.txt", "c.txt", "a.txt"):
            r = c.request("GET", "/" + n)
            assert r.status == 200 and r.body == FILES[n], "%s: %r" % (n, r)
            hslib.check_common_headers(r)
            assert not r.has_token("Connection", "close"), "1.1 response closes: %r" % r.headers
        assert c.is_open(0.3), "server closed a keep-alive connection"


@test
def keep_alive_after_404():
    with conn() as c:
        r = c.request("GET", "/missing")
        assert r.status == 404, r
        r = c.request("GET", "/a.txt")
        assert r.status == 200, "a 404 must not end the connection: %r" % r


@test
def connection_close_honored():
    with conn() as c:
        r = c.request("GET", "/a.txt", {"Connection": "close"})
        assert r.status == 200 and r.body == FILES["a.txt"], r
        assert r.has_token("Connection", "close"), "no Connection: close in %r" % r.headers
        assert c.closed_within(2), "server kept the connection after Connection: close"
        assert c.buf == b"", "bytes after the response: %r" % c.buf[:80]


@test
def http10_closes_by_default():
    with conn() as c:
        r = c.request("GET", "/a.txt", version="HTTP/1.0")
        assert r.status == 200 and r.body == FILES["a.txt"], r
        assert r.header("Content-Length") == str(len(FILES["a.txt"])) or not r.chunked, \
            "chunked response to an HTTP/1.0 client"
        assert c.closed_within(2), "HTTP/1.0 without keep-alive: connection left open"


@test
def http10_keep_alive():
    with conn() as c:
        r = c.request("GET", "/a.txt", {"Connection": "keep-alive"}, version="HTTP/1.0")
        assert r.status == 200 and not r.chunked, r
        assert r.has_token("Connection", "keep-alive"), "1.0 keep-alive not confirmed: %r" % r.headers
        r = c.request("GET", "/b.txt", {"Connection": "keep-alive"}, version="HTTP/1.0")
        assert r.status == 200 and r.body == FILES["b.txt"], "second 1.0 request: %r" % r


@test
def http10_no_host_ok():
    with conn() as c:
        c.send(b"GET /a.txt HTTP/1.0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200, "HTTP/1.0 needs no Host: %r" % r


@test
def head_no_body():
    with conn() as c:
        c.send(build_request("HEAD", "/c.txt") + build_request("GET", "/a.txt") + build_request("HEAD", "/missing"))
        r1 = c.read_response("HEAD")
        r2 = c.read_response("GET")
        r3 = c.read_response("HEAD")
        assert r1.status == 200 and r1.header("Content-Length") == str(len(FILES["c.txt"])), r1.headers
        hslib.check_common_headers(r1)
        assert r2.status == 200 and r2.body == FILES["a.txt"], "response after HEAD misframed: %r %r" % (r2, r2.body)
        assert r3.status == 404, r3
        assert c.is_open(0.3), "closed after HEAD 404"
        assert c.buf == b"", "stray bytes after HEAD responses: %r" % c.buf[:80]


@test
def pipelining_16_in_order():
    names = ["a.txt", "b.txt", "c.txt", "missing", "index.html", "a.txt", "c.txt", "b.txt"] * 2
    with conn() as c:
        c.send(b"".join(build_request("HEAD" if i == 7 else "GET", "/" + n) for i, n in enumerate(names)))
        rs = c.read_responses(len(names), method=["HEAD" if i == 7 else "GET" for i in range(len(names))])
        for i, (n, r) in enumerate(zip(names, rs)):
            if n == "missing":
                assert r.status == 404, "#%d %s: %r" % (i, n, r)
            elif i == 7:
                assert r.status == 200 and r.header("Content-Length") == str(len(FILES[n])), "#%d HEAD %s" % (i, n)
            else:
                assert r.status == 200 and r.body == FILES[n], "#%d %s out of order: %r %r" % (i, n, r, r.body)
        assert c.is_open(0.2)


@test
def pipelining_byte_by_byte():
    data = build_request("GET", "/a.txt") + build_request("GET", "/b.txt")
    with conn() as c:
        for i in range(len(data)):
            c.send(data[i:i + 1])
        rs = c.read_responses(2)
        assert [r.body for r in rs] == [FILES["a.txt"], FILES["b.txt"]], rs


def body_405_then_get(c, req):
    c.send(req + build_request("GET", "/b.txt"))
    r = c.read_response()
    hslib.check_error_response(r, 405)
    allow = sorted(t.strip() for t in (r.header("Allow") or "").split(","))
    assert allow == ["GET", "HEAD"], "Allow %r" % r.header("Allow")
    r2 = c.read_response()
    assert r2.status == 200 and r2.body == FILES["b.txt"], "GET after the body: %r %r (desync?)" % (r2, r2.body[:60])


@test
def post_content_length_405_then_get():
    with conn() as c:
        body = b"GET /c.txt HTTP/1.1\r\nHost: x\r\n\r\n"  # a request hidden in a body
        body_405_then_get(c, build_request("POST", "/a.txt", {"Content-Length": str(len(body))}) + body)


@test
def put_chunked_405_then_get():
    chunks = b"5\r\nhello\r\n1a;ext=1\r\n" + b"z" * 26 + b"\r\n0\r\nTrailer-X: 1\r\n\r\n"
    with conn() as c:
        body_405_then_get(c, build_request("PUT", "/a.txt", {"Transfer-Encoding": "chunked"}) + chunks)


@test
def post_chunked_split_writes_405_then_get():
    with conn() as c:
        c.send(build_request("POST", "/", {"Transfer-Encoding": "chunked"}))
        for part in (b"4\r\nwi", b"ki\r\n", b"5\r\npedia\r", b"\n0\r\n", b"\r\n"):
            c.send(part)
        c.send(build_request("GET", "/b.txt"))
        r = c.read_response()
        assert r.status == 405, r
        r2 = c.read_response()
        assert r2.status == 200 and r2.body == FILES["b.txt"], "GET after split chunked body: %r" % r2


@test
def expect_100_on_405():
    """A final status may replace 100 Continue: the server must not wait for
    a body it will refuse; if it keeps the connection, a body that does
    come must be consumed (the next request is answered 200)."""
    with conn() as c:
        c.send(build_request("POST", "/a.txt", {"Content-Length": "10", "Expect": "100-continue"}))
        r = c.read_response(keep_interim=True, timeout=3)
        if r.status == 100:
            c.send(b"0123456789")
            r = c.read_response(timeout=3)
        assert r.status == 405, "POST with Expect: 100-continue -> %r" % r
        if r.has_token("Connection", "close"):
            assert c.closed_within(2), "said Connection: close but kept the connection"
            return
        c.send(b"0123456789" + build_request("GET", "/c.txt"))
        r2 = c.read_response()
        assert r2.status == 200 and r2.body == FILES["c.txt"], "after 405 + body: %r" % r2


@test
def unknown_method_501():
    with conn() as c:
        c.send(build_request("BREW", "/a.txt") + build_request("GET", "/b.txt"))
        r = c.read_response()
        hslib.check_error_response(r, 501)
        try:
            r2 = c.read_response(timeout=2)
        except hslib.Closed:
            return  # closing after 501 is fine
        assert r2.status == 200 and r2.body == FILES["b.txt"], "after BREW: %r" % r2


@test
def options_and_delete_405():
    for m in ("DELETE", "PATCH"):
        with conn() as c:
            r = c.request(m, "/a.txt")
            assert r.status in (405, 501), "%s -> %d" % (m, r.status)
            if r.status == 405:
                assert r.header("Allow"), "405 without Allow"


@test
def large_file_curl_sha256():
    d = hslib.tmpdir("hs-curl-")
    out = os.path.join(d, "out.bin")
    url = "http://127.0.0.1:%d/large.bin" % srv().port
    p = subprocess.run(["curl", "-sS", "--fail", "--max-time", "30", "-o", out, "-w", "%{http_code} %{size_download}", url],
                       capture_output=True, text=True, timeout=40)
    assert p.returncode == 0, "curl failed: %s %s" % (p.stdout, p.stderr)
    want = hslib.sha256_file(os.path.join(root(), "large.bin"))
    assert hslib.sha256_file(out) == want, "sha256 of downloaded large.bin differs (%s)" % p.stdout
    # a 5 MiB range from the middle, through curl as well
    p = subprocess.run(["curl", "-sS", "--fail", "--max-time", "30", "-r", "7000000-12242879", "-o", out, url],
                       capture_output=True, text=True, timeout=40)
    assert p.returncode == 0, p.stderr
    with open(os.path.join(root(), "large.bin"), "rb") as f:
        f.seek(7000000)
        want = f.read(12242880 - 7000000)
    with open(out, "rb") as f:
        assert f.read() == want, "range download differs"


@test
def many_keepalive_requests_one_conn():
    with conn() as c:
        for i in range(500):
            c.send(build_request("GET", "/a.txt"))
            r = c.read_response()
            assert r.status == 200 and r.body == FILES["a.txt"], "request %d: %r" % (i, r)


@test
def connection_close_mid_pipeline():
    """Nothing is answered after a response that closes the connection."""
    with conn() as c:
        c.send(build_request("GET", "/a.txt") + build_request("GET", "/b.txt", {"Connection": "close"})
               + build_request("GET", "/c.txt"))
        r1, r2 = c.read_responses(2)
        assert r1.status == 200 and r2.status == 200 and r2.body == FILES["b.txt"], (r1, r2)
        assert r2.has_token("Connection", "close"), r2.headers
        assert c.closed_within(2), "open after Connection: close"
        assert c.buf == b"", "answered a request after Connection: close: %r" % c.buf[:80]


@test
def half_close_still_answered():
    """A client may shut down its sending side after the request (e.g.
    `nc -N`): the response still comes."""
    with conn() as c:
        c.send(build_request("GET", "/a.txt") + build_request("GET", "/b.txt"))
        c.sock.shutdown(socket.SHUT_WR)
        rs = c.read_responses(2)
        assert [r.body for r in rs] == [FILES["a.txt"], FILES["b.txt"]], rs
        assert c.closed_within(2), "server kept a half-closed connection after answering"


@test
def thousands_pipelined_in_one_write():
    n = 3000
    data = b"".join(build_request("GET", "/" + ("a.txt", "b.txt", "c.txt")[i % 3]) for i in range(n))
    with Conn(srv().port, timeout=20) as c:
        c.send(data)
        rs = c.read_responses(n, timeout=20)
        for i, r in enumerate(rs):
            want = FILES[("a.txt", "b.txt", "c.txt")[i % 3]]
            assert r.status == 200 and r.body == want, "#%d of %d: %r %r" % (i, n, r, r.body[:40])


@test
def pipelined_large_responses_backpressure():
    """12 pipelined GETs, every other one of a 24 MiB file, while the client
    does not read for a second: all arrive complete and in order, and the worker does not
    buffer them in memory."""
    n = 12
    path = os.path.join(root(), "large.bin")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    pid = worker_pid()
    rss0 = hslib.proc_rss_bytes(pid) if pid else 0
    with Conn(srv().port, timeout=60, rcvbuf=1 << 16) as c:
        c.send(b"".join(build_request("GET", "/large.bin" if i % 2 == 0 else "/a.txt") for i in range(n)))
        time.sleep(1.0)
        peak = hslib.proc_rss_bytes(pid) if pid else 0
        for i in range(n):
            r = c.read_response(timeout=60)
            if i % 2 == 0:
                assert r.status == 200 and len(r.body) == size and hashlib.sha256(r.body).hexdigest() == want, \
                    "#%d: %r, body differs" % (i, r)
            else:
                assert r.body == FILES["a.txt"], "#%d: %r" % (i, r.body[:40])
    if pid:
        assert peak - rss0 < 64 << 20, "worker RSS grew %d MiB with unread pipelined responses" % ((peak - rss0) >> 20)


@test
def client_reset_mid_download():
    pid = worker_pid()
    for i in range(5):
        c = Conn(srv().port, rcvbuf=1 << 16)
        c.send(build_request("GET", "/large.bin") + build_request("GET", "/a.txt"))
        try:
            c.sock.recv(1000)
        except OSError as e:
            raise AssertionError("connection %d: %s before any byte of the response\n%s"
                                 % (i, e, "" if hslib.PEER else srv().log_tail(8)))
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # RST
    time.sleep(0.2)
    assert hslib.try_get(srv().port, "/a.txt") == 200, "no service after clients reset mid-download"
    if pid:
        assert worker_pid() == pid, "the worker changed (crashed?) after client resets"


@test
def max_requests_per_connection():
    s = hslib.start_static(root(), sets=["http.max_requests_per_connection=3"], name="maxreq")
    with Conn(s.port) as c:
        c.send(b"".join(build_request("GET", "/a.txt") for _ in range(5)))
        rs = c.read_responses(3)
        assert all(r.status == 200 for r in rs), rs
        assert rs[2].has_token("Connection", "close"), "3rd response of 3 allowed lacks Connection: close"
        assert not rs[1].has_token("Connection", "close"), "2nd response already closes"
        assert c.closed_within(2), "open after max_requests_per_connection"
        assert c.buf == b"", "a 4th response came: %r" % c.buf[:80]


@test
def pipelined_requests_straddle_reads():
    """300 pipelined requests with random padding headers (0-3000 bytes) in
    one write: request boundaries fall anywhere in the server's reads."""
    rng = random.Random(7)
    names = [rng.choice(("a.txt", "b.txt", "c.txt")) for _ in range(300)]
    data = b"".join(build_request("GET", "/" + n, {"X-Pad": "p" * rng.randint(0, 3000)}) for n in names)
    with Conn(srv().port, timeout=20) as c:
        c.send(data)
        rs = c.read_responses(len(names), timeout=20)
    for i, (n, r) in enumerate(zip(names, rs)):
        assert r.status == 200 and r.body == FILES[n], "#%d %s: %r %r" % (i, n, r, r.body[:40])


@test
def concurrent_mixed_load():
    """16 client threads for 3 s: keep-alive and fresh connections, GET,
    HEAD, ranges, conditionals, 404s, bodies refused with 405, pipelines;
    every answer is checked and the worker survives."""
    pid = worker_pid()
    port = srv().port
    big = open(os.path.join(root(), "large.bin"), "rb").read(1 << 20)
    errors = []
    count = [0]
    stop = time.monotonic() + 3

    def client(seed):
        rng = random.Random(seed)
        c = None
        try:
            while time.monotonic() < stop and not errors:
                if c is None or rng.random() < 0.2:
                    if c:
                        c.close()
                    c = Conn(port, timeout=10)
                k = rng.randrange(6)
                if k == 0:
                    n = rng.choice(list(FILES))
                    r = c.request("GET", "/" + n)
                    ok = r.status == 200 and r.body == FILES[n]
                elif k == 1:
                    r = c.request("HEAD", "/a.txt")
                    ok = r.status == 200 and r.body == b""
                elif k == 2:
                    a = rng.randrange(0, 1 << 20)
                    b = min((1 << 20) - 1, a + rng.randrange(0, 70000))
                    r = c.request("GET", "/large.bin", {"Range": "bytes=%d-%d" % (a, b)})
                    ok = r.status == 206 and r.body == big[a:b + 1]
                elif k == 3:
                    r = c.request("GET", "/missing-%d" % rng.randrange(1000))
                    ok = r.status == 404
                elif k == 4:
                    c.send(build_request("POST", "/a.txt", body=b"x" * rng.randrange(1, 5000)) + build_request("GET", "/b.txt"))
                    r1 = c.read_response()
                    r = c.read_response()
                    ok = r1.status == 405 and r.status == 200 and r.body == FILES["b.txt"]
                else:
                    c.send(build_request("GET", "/a.txt") * 8)
                    rs = c.read_responses(8)
                    r = rs[-1]
                    ok = all(x.status == 200 and x.body == FILES["a.txt"] for x in rs)
                if not ok:
                    errors.append("case %d: %r %r" % (k, r, r.body[:60]))
                count[0] += 1
        except Exception as e:  # noqa: B902 -- any client error is a test failure
            errors.append("%s: %s" % (type(e).__name__, e))
        finally:
            if c:
                c.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, "%d errors in %d requests, first: %s" % (len(errors), count[0], errors[:3])
    assert count[0] > 100, "only %d requests done" % count[0]
    if pid:
        assert worker_pid() == pid, "worker restarted under load"


@test
def get_with_expect_100_continue():
    with conn() as c:
        r = c.request("GET", "/a.txt", {"Expect": "100-continue"})
        assert r.status == 200 and r.body == FILES["a.txt"], r


if __name__ == "__main__":
    hslib.run()
