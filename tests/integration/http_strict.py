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
import random
import socket
import time

import hslib
from hslib import Conn, test

FOLLOW = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
FOLLOW_CLOSE = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
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
        # a 405 may go out before the (bad) body is read: it cannot announce
        # the close, but the close itself is still required below
        if not hslib.PEER and r.status != 405 and not r.has_token("Connection", "close"):
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


BASES = [
    b"GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=0-3\r\nIf-None-Match: \"a\"\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
    b"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
    b"HEAD /%2e/index.html?q=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
]
ALPHABET = b"\r\n\t :;,-0123456789aAfFxX\"\x00\x0b\x7f\xff%/.?=*"


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        i = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip a byte
            data[min(i, len(data) - 1)] = rng.choice(ALPHABET)
        elif op == 1:  # insert
            data[i:i] = bytes(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3)))
        elif op == 2 and data:  # delete a run
            del data[i:i + rng.randint(1, 4)]
        elif op == 3:  # duplicate a line
            lines = bytes(data).split(b"\r\n")
            k = rng.randrange(len(lines))
            lines.insert(k, lines[k])
            data = bytearray(b"\r\n".join(lines))
        else:  # truncate
            data = data[:i]
    return bytes(data)


@test
def random_mutations_never_crash():
    """2,000 seeded mutations of valid requests (byte flips, insertions,
    deletions, duplicated lines, truncations), each followed by a GET: every
    answer is well-formed HTTP, nothing hangs past the timeouts, and the
    worker never dies."""
    if hslib.PEER:
        raise hslib.SkipTest("hyperscale-only")
    s = hslib.start_static(srv().root, workers=2, admin=True, sets=["http.header_timeout=1s", "http.body_timeout=1s"],
                           name="mutate")
    pid0 = hslib.admin_status(s.admin_port)["pid"]
    rng = random.Random(int(os.environ.get("HS_FUZZ_SEED", "9112")))
    bad = []
    conns = []
    t0 = time.monotonic()
    for n in range(2000):
        data = mutate(rng, rng.choice(BASES)) + FOLLOW_CLOSE
        c = Conn(s.port, timeout=3)
        c.send_quiet(data)
        conns.append((n, data, c))
        if len(conns) >= 100 or n == 1999:
            for k, d, cc in conns:
                try:
                    first = "HEAD" if d.startswith(b"HEAD ") else "GET"
                    cc.read_response(first, timeout=3)
                    while True:
                        cc.read_response(timeout=3)
                except hslib.Closed:
                    pass
                except (socket.timeout, TimeoutError):
                    if not cc.buf:  # waiting for more body bytes: fine, bounded
                        pass
                    else:
                        bad.append("case %d %r: partial response %r" % (k, d[:80], cc.buf[:80]))
                except AssertionError as e:
                    bad.append("case %d %r: %s" % (k, d[:80], e))
                cc.close()
            conns = []
            if s.proc.poll() is not None or "worker_exit" in s.log():
                bad.append("worker died around case %d: %s" % (n, s.log_tail(3)))
                break
    assert not bad, "\n".join(bad[:10])
    assert hslib.admin_status(s.admin_port)["pid"] == pid0, "worker restarted during the run:\n" + s.log_tail(5)
    assert time.monotonic() - t0 < 100, "took %.0f s" % (time.monotonic() - t0)


if __name__ == "__main__":
    hslib.run(per_test_timeout=200)
