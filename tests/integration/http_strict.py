#!/usr/bin/env python3
"""Parser strictness and request-smuggling resistance, driven by the raw
requests in corpus/malformed/ and corpus/valid/ (see corpus/make_corpus.py
for the file format).

malformed/: each file is sent with a valid `GET /` in the same write; the
server must answer exactly one response with the expected status (error
format and `Connection: close` included), then close the connection without
a second response: a second response means it re-synchronized on bytes an
attacker placed after a bad message. A fresh connection must then work.

valid/: tricky but legal requests; the first response has the expected
status and the appended GET gets 200 on the same connection (the parser is
not stricter than RFC 9112, and bodies are framed right)."""

import os
import socket

import hslib
from hslib import Conn, test

FOLLOW = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
MALFORMED = os.path.join(hslib.CORPUS, "malformed")
VALID = os.path.join(hslib.CORPUS, "valid")


def cases(d):
    out = []
    for f in sorted(os.listdir(d)):
        if not f.endswith(".http"):
            continue
        codes, name = f[:-5].split("__", 1)
        with open(os.path.join(d, f), "rb") as fh:
            out.append((name, [int(c) for c in codes.split("-")], fh.read()))
    return out


_root = []


def srv():
    if not _root:
        d = hslib.tmpdir("hs-strict-")
        hslib.write(os.path.join(d, "index.html"), "<p>index</p>\n")
        hslib.write(os.path.join(d, "secret"), "SMUGGLED-RESPONSE\n")
        _root.append(d)
    return hslib.shared("static", lambda: hslib.start_static(_root[0], workers=2))


def check_malformed(port, name, want, data):
    """Returns None if the case passed, else a description of the mismatch."""
    c = Conn(port, timeout=5)
    try:
        c.send_quiet(data + FOLLOW)
        try:
            r = c.read_response(timeout=5)
        except hslib.Closed as e:
            return "%s: no response, %s" % (name, e)
        except (socket.timeout, TimeoutError):
            return "%s: no response within 5 s (server waits for more bytes?)" % name
        except AssertionError as e:
            return "%s: unparsable response: %s" % (name, e)
        if r.status not in want:
            return "%s: got %d %s, want %s" % (name, r.status, r.reason, "/".join(map(str, want)))
        try:
            hslib.check_error_response(r, r.status)
        except AssertionError as e:
            return "%s: %s" % (name, e)
        if not hslib.PEER and not r.has_token("Connection", "close"):
            return "%s: %d without Connection: close" % (name, r.status)
        if not c.closed_within(3):
            extra = c.buf[:120]
            return "%s: connection still open 3 s after %d%s" % (
                name, r.status, (" and a second response %r" % extra) if extra else "")
        if c.buf:
            return "%s: a second response after %d (desync): %r" % (name, r.status, c.buf[:120])
        return None
    finally:
        c.close()


@test
def corpus_is_complete():
    cs = cases(MALFORMED)
    assert len(cs) >= 40, "only %d malformed cases" % len(cs)
    codes = {c for _, want, _ in cs for c in want}
    for need in (400, 413, 414, 417, 431, 501, 505):
        assert need in codes, "no malformed case expects %d" % need


@test
def malformed_corpus():
    port = srv().port
    bad = []
    for name, want, data in cases(MALFORMED):
        why = check_malformed(port, name, want, data)
        if why:
            bad.append(why)
        if hslib.try_get(port, "/", timeout=3) != 200:
            bad.append("%s: a fresh connection afterwards did not get 200" % name)
            srv()  # restarts the server if it died
            port = srv().port
    assert not bad, "%d of %d cases failed:\n" % (len(bad), len(cases(MALFORMED))) + "\n".join(bad)


@test
def valid_corpus():
    port = srv().port
    bad = []
    for name, want, data in cases(VALID):
        with Conn(port, timeout=5) as c:
            c.send_quiet(data + FOLLOW)
            try:
                r = c.read_response(timeout=5)
                if r.status not in want:
                    bad.append("%s: got %d, want %s" % (name, r.status, want))
                    continue
                if r.has_token("Connection", "close"):
                    bad.append("%s: %d closed the connection" % (name, r.status))
                    continue
                r2 = c.read_response(timeout=5)
                if r2.status != 200 or b"index" not in r2.body:
                    bad.append("%s: following GET got %d %r" % (name, r2.status, r2.body[:60]))
            except (hslib.Closed, socket.timeout, TimeoutError, AssertionError) as e:
                bad.append("%s: %s: %s" % (name, type(e).__name__, e))
    assert not bad, "%d of %d legal requests mishandled:\n" % (len(bad), len(cases(VALID))) + "\n".join(bad)


@test
def smuggled_request_never_answered():
    """CL.TE / TE.CL variants where the smuggled part targets /secret: the
    secret body must never come back, on this or the next connection."""
    port = srv().port
    smuggle = b"GET /secret HTTP/1.1\r\nHost: x\r\n\r\n"
    payloads = [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % (5 + len(smuggle)) + smuggle,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n%x\r\n" % len(smuggle) + smuggle + b"\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggle,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggle,
    ]
    for i, p in enumerate(payloads):
        with Conn(port, timeout=3) as c:
            c.send_quiet(p)
            try:
                while True:
                    r = c.read_response(timeout=3)
                    assert b"SMUGGLED-RESPONSE" not in r.body, "payload %d: smuggled request answered" % i
            except (hslib.Closed, socket.timeout, TimeoutError):
                pass


@test
def split_malformed_head():
    """The parser keeps its state across reads: the bad byte arrives alone."""
    port = srv().port
    with Conn(port, timeout=5) as c:
        for part in (b"GET / HTTP/1.1\r\nHo", b"st: x\r\nX-Foo", b" ", b": a\r\n\r\n"):
            if not c.send_quiet(part):
                break
        r = c.read_response()
        assert r.status == 400, "whitespace before colon, split across writes -> %d" % r.status
        assert c.closed_within(3), "not closed after 400"


if __name__ == "__main__":
    hslib.run(per_test_timeout=200)
