#!/usr/bin/env python3
"""Timeouts and connection limits: header timeout (408 + close, also for a
client trickling bytes, also set through the environment), idle keep-alive
close, body timeout (per pause, not total), 200 slowloris clients cut while
a normal client keeps being served, and http.max_connections -> 503."""

import os
import select
import socket
import time

import hslib
from hslib import Conn, build_request, test

_root = []


def root():
    if not _root:
        d = hslib.tmpdir("hs-timeouts-")
        hslib.write(os.path.join(d, "index.html"), "<p>index</p>\n")
        _root.append(d)
    return _root[0]


def short_srv():
    return hslib.shared("short", lambda: hslib.start_static(
        root(), workers=2, name="short",
        sets=["http.header_timeout=1s", "http.idle_timeout=1s", "http.body_timeout=1s"]))


def wait_cut(c, limit):
    """Waits for the server to answer/close; returns (elapsed, response or
    None). Fails if nothing happens within limit seconds."""
    t0 = time.monotonic()
    r = None
    try:
        r = c.read_response(timeout=limit)
    except hslib.Closed:
        return time.monotonic() - t0, None
    except (socket.timeout, TimeoutError):
        raise AssertionError("connection neither answered nor closed within %.1f s" % limit)
    assert c.closed_within(max(0.1, limit - (time.monotonic() - t0))), \
        "%d sent, but the connection stayed open" % r.status
    return time.monotonic() - t0, r


@test
def header_timeout_408():
    with Conn(short_srv().port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        dt, r = wait_cut(c, 4)
        assert r is not None, "closed after %.2f s without the 408" % dt
        hslib.check_error_response(r, 408)
        assert r.has_token("Connection", "close"), "408 without Connection: close"
        assert 0.7 <= dt <= 2.5, "408 after %.2f s with header_timeout=1s" % dt


@test
def header_timeout_on_second_request():
    """On a keep-alive connection, a second head that starts and stalls is
    a slow request (408), not an idle connection (silent close)."""
    with Conn(short_srv().port) as c:
        assert c.request("GET", "/").status == 200
        c.send(b"GET / HTTP/1.1\r\nHo")
        dt, r = wait_cut(c, 4)
        assert r is not None and r.status == 408, "stalled second request: %r after %.2f s" % (r, dt)


@test
def chunked_body_stall_cut():
    with Conn(short_srv().port) as c:
        c.send(build_request("POST", "/", {"Transfer-Encoding": "chunked"}) + b"10\r\n0123")
        t0 = time.monotonic()
        try:
            r = c.read_response(timeout=4)
            assert r.status in (405, 408), "stalled chunked body -> %d" % r.status
        except hslib.Closed:
            pass
        assert c.closed_within(max(0.1, 4 - (time.monotonic() - t0))), "stalled chunked body: open after 4 s"


@test
def header_timeout_counts_whole_head():
    """A byte every 150 ms keeps the socket busy but the head never ends:
    the timeout bounds the whole head, not the pause between bytes."""
    with Conn(short_srv().port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        cut = False
        while time.monotonic() - t0 < 5:
            if not c.send_quiet(b"X-a: b\r\n"[int((time.monotonic() - t0) * 7) % 8:][:1]):
                cut = True
                break
            if c.closed_within(0.15):
                cut = True
                break
        dt = time.monotonic() - t0
        assert cut, "a client trickling one byte per 150 ms kept its head open for 5 s"
        assert 0.7 <= dt <= 2.8, "trickling client cut after %.2f s with header_timeout=1s" % dt


@test
def header_timeout_from_environment():
    s = hslib.start_static(root(), env={"HYPERSCALE_HTTP_HEADER_TIMEOUT": "1s"}, name="envto")
    with Conn(s.port) as c:
        c.send(b"GET / HTTP/1.1\r\n")
        dt, r = wait_cut(c, 5)
        assert r is not None and r.status == 408, "HYPERSCALE_HTTP_HEADER_TIMEOUT=1s: %r after %.2f s" % (r, dt)
        assert dt <= 2.5, "408 after %.2f s" % dt


@test
def idle_keepalive_closed():
    with Conn(short_srv().port) as c:
        r = c.request("GET", "/")
        assert r.status == 200
        t0 = time.monotonic()
        closed = c.closed_within(4)
        dt = time.monotonic() - t0
        assert closed, "idle keep-alive connection open 4 s after the response (idle_timeout=1s)"
        assert dt >= 0.7, "idle connection closed after only %.2f s" % dt
        assert c.buf == b"", "idle close sent bytes (a 408 here races the client's next request): %r" % c.buf[:80]


@test
def idle_not_cut_while_active():
    """Requests every 400 ms for 3 s on one connection: never idle for 1 s."""
    with Conn(short_srv().port) as c:
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 3:
            r = c.request("GET", "/")
            assert r.status == 200, "request %d: %r" % (n, r)
            n += 1
            time.sleep(0.4)


@test
def silent_connection_closed():
    with Conn(short_srv().port) as c:
        t0 = time.monotonic()
        assert c.closed_within(4), "a connection that never sends a byte is still open after 4 s"
        assert time.monotonic() - t0 >= 0.7, "closed a fresh connection immediately"


@test
def body_timeout():
    with Conn(short_srv().port) as c:
        c.send(build_request("POST", "/", {"Content-Length": "100"}) + b"0123456789")
        t0 = time.monotonic()
        try:
            r = c.read_response(timeout=4)
            assert r.status in (405, 408), "stalled body -> %d" % r.status
        except hslib.Closed:
            pass
        assert c.closed_within(max(0.1, 4 - (time.monotonic() - t0))), \
            "stalled body (body_timeout=1s): connection open after 4 s"
        assert time.monotonic() - t0 >= 0.7, "cut after %.2f s" % (time.monotonic() - t0)


@test
def body_timeout_is_per_pause():
    """100 body bytes, 10 every 300 ms (3 s in all, never a 1 s pause): the
    body is read to its end and the pipelined GET is answered."""
    with Conn(short_srv().port) as c:
        c.send(build_request("POST", "/", {"Content-Length": "100"}))
        for i in range(10):
            time.sleep(0.3)
            assert c.send_quiet(b"x" * 10), "connection cut after %d slow body pieces" % i
        c.send(build_request("GET", "/"))
        r = c.read_response()
        assert r.status == 405, r
        r = c.read_response()
        assert r.status == 200, "GET after a slow body: %r" % r


@test
def slow_header_clients_cut_normal_served():
    port = short_srv().port
    slow = []
    for i in range(200):
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow-%d: " % i)
        slow.append(s)
    t0 = time.monotonic()
    open_ = set(slow)
    cut_at = []
    lat = []
    failures = 0
    ka = Conn(port)
    next_req = 0.0
    while open_ and time.monotonic() - t0 < 4:
        now = time.monotonic() - t0
        if now >= next_req:
            next_req = now + 0.05
            t1 = time.monotonic()
            try:
                if hslib.try_get(port, "/", timeout=1) != 200:
                    failures += 1
                r = ka.request("GET", "/")
                if r.status != 200:
                    failures += 1
            except (OSError, hslib.Closed):
                failures += 1
                ka.close()
                ka = Conn(port)
            lat.append(time.monotonic() - t1)
        rd, _, _ = select.select(list(open_), [], [], 0.02)
        for s in rd:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                open_.discard(s)
                cut_at.append(time.monotonic() - t0)
                s.close()
    ka.close()
    for s in open_:
        s.close()
    lat.sort()
    assert not open_, "%d of 200 slow-header clients still open after 4 s (header_timeout=1s)" % len(open_)
    assert failures == 0, "normal client: %d failed requests of %d during the attack" % (failures, len(lat))
    assert max(cut_at) <= 2.5, "last slow client cut after %.2f s" % max(cut_at)
    assert lat[len(lat) * 99 // 100] < 0.5, "normal client p99 %.3f s during the attack" % lat[len(lat) * 99 // 100]


@test
def send_timeout_cuts_stalled_reader():
    """A client that stops reading a large response is disconnected after
    http.send_timeout; it gets a truncated body, never a hung worker."""
    d = hslib.tmpdir("hs-send-")
    with open(os.path.join(d, "big.bin"), "wb") as f:
        f.write(b"\xab" * (32 << 20))
    hslib.write(os.path.join(d, "small.txt"), "small\n")
    s = hslib.start_static(d, sets=["http.send_timeout=1s"], name="sendto")
    c = Conn(s.port, timeout=10, rcvbuf=1 << 14)
    c.send(build_request("GET", "/big.bin"))
    time.sleep(3.5)
    got = 0
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 10:
            data = c.sock.recv(1 << 20)
            if not data:
                break
            got += len(data)
    except OSError:
        pass
    c.close()
    assert got < 32 << 20, "stalled for 3.5 s with send_timeout=1s, still got the whole 32 MiB"
    assert hslib.try_get(s.port, "/small.txt", timeout=5) == 200, "no service after cutting a stalled reader"


@test
def max_connections_503():
    s = hslib.start_static(root(), workers=1, sets=["http.max_connections=4"], name="maxconn")
    held = []
    for i in range(4):
        c = Conn(s.port)
        r = c.request("GET", "/")
        assert r.status == 200, "connection %d of 4: %r" % (i + 1, r)
        held.append(c)
    with Conn(s.port) as c5:
        c5.send_quiet(build_request("GET", "/"))
        try:
            r = c5.read_response(timeout=3)
        except hslib.Closed:
            raise AssertionError("5th connection closed without the 503")
        hslib.check_error_response(r, 503)
        assert c5.closed_within(3), "503 but connection kept"
    for c in held:
        assert c.request("GET", "/").status == 200, "established connections keep working"
    held.pop().close()
    deadline = time.monotonic() + 3
    st = None
    while time.monotonic() < deadline:
        st = hslib.try_get(s.port, "/")
        if st == 200:
            break
        time.sleep(0.1)
    assert st == 200, "after closing one connection, a new one got %s" % st
    for c in held:
        c.close()


if __name__ == "__main__":
    hslib.run()
