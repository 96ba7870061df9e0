#!/usr/bin/env python3
"""Writes corpus/malformed/ and corpus/valid/: one raw request per file,
named EXPECTED__name.http where EXPECTED is the status (or statuses joined by
'-', when the specification allows either) of the first response.

http_strict.py sends each file followed by a valid `GET / HTTP/1.1` in the
same write. For malformed/ it wants exactly one response with an expected
status, `Connection: close`, then the connection closed and nothing more
(a second response would mean the server re-synchronized on attacker bytes).
For valid/ it wants the expected status and then 200 for the GET.

The files are checked in; this script documents and regenerates them:
    python3 tests/integration/corpus/make_corpus.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
H = b"Host: x\r\n"
GET = b"GET / HTTP/1.1\r\n"
POST = b"POST / HTTP/1.1\r\n"
SMUGGLED = b"GET /secret HTTP/1.1\r\nHost: x\r\n\r\n"

MALFORMED = {
    # --- Content-Length / Transfer-Encoding framing (request smuggling)
    "400__cl-te-clte": POST + H + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
    "400__te-cl-tecl": POST + H + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
    "400-501__cl-te-obfuscated": POST + H + b"Content-Length: 4\r\nTransfer-Encoding: xchunked\r\n\r\n5c\r\nGPOST",
    "400__cl-differing": POST + H + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "400__cl-list-4-5": POST + H + b"Content-Length: 4, 5\r\n\r\nhello",
    "400__cl-negative": POST + H + b"Content-Length: -1\r\n\r\n",
    "400__cl-plus-sign": POST + H + b"Content-Length: +5\r\n\r\nhello",
    "400__cl-hex": POST + H + b"Content-Length: 0x5\r\n\r\nhello",
    "400__cl-trailing-junk": POST + H + b"Content-Length: 5abc\r\n\r\nhello",
    "400__cl-empty": POST + H + b"Content-Length: \r\n\r\n",
    "400__cl-inner-space": POST + H + b"Content-Length: 1 0\r\n\r\n0123456789",
    "400-413__cl-huge": POST + H + b"Content-Length: 99999999999999999999999999999\r\n\r\nhello",
    "400__cl-space-before-colon": POST + H + b"Content-Length : 5\r\n\r\nhello",
    # --- chunked bodies (the head is fine: 405 before reading the body is
    # acceptable as long as the bad body then closes the connection)
    "400-405__chunk-size-0x": POST + H + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    "400-405__chunk-size-trailing-junk": POST + H + b"Transfer-Encoding: chunked\r\n\r\n5 junk\r\nhello\r\n0\r\n\r\n",
    "400-405__chunk-size-negative": POST + H + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
    "400-405-413__chunk-size-overflow": POST + H + b"Transfer-Encoding: chunked\r\n\r\n1ffffffffffffffff5\r\nhello\r\n0\r\n\r\n",
    "400-405__chunk-size-empty": POST + H + b"Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n",
    "400-405__chunk-size-not-hex": POST + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "400-405__chunk-data-no-crlf": POST + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    "400-405__chunk-data-too-long": POST + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
    "400-405__chunk-missing-final-crlf": POST + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
    "400-405__chunk-bad-trailer": POST + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: x\r\n\r\n",
    "400-405__chunk-size-bare-cr": POST + H + b"Transfer-Encoding: chunked\r\n\r\n5\rhello\r\n0\r\n\r\n",
    # --- Transfer-Encoding values and obfuscations (TE.TE)
    # RFC 9112 6.1: chunked not last in a request is a MUST-400; 501 is the SHOULD for unknown codings.
    "400-501__te-gzip": POST + H + b"Transfer-Encoding: gzip\r\n\r\nxxxx",
    "400-501__te-chunked-not-last": POST + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "400-501__te-xchunked": POST + H + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "400__te-space-before-colon": POST + H + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "400-501__te-chunked-then-cow": POST + H + b"Transfer-Encoding: chunked\r\nTransfer-encoding: cow\r\n\r\n0\r\n\r\n",
    "400-501__te-vertical-tab": POST + H + b"Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n",
    "400-501__te-trailing-vertical-tab": POST + H + b"Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n",
    "400__te-line-folded": POST + H + b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
    "400__te-tab-folded-after-header": POST + H + b"X-Pad: a\r\n\tTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "400-501__te-quoted": POST + H + b"Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n",
    "400-501__te-chunked-twice": POST + H + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
    "400__te-nul": POST + H + b"Transfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n",
    "400__te-name-with-space": POST + H + b"Transfer Encoding: chunked\r\n\r\n0\r\n\r\n",
    "400-501__te-tab-separated-junk": POST + H + b"Transfer-Encoding: chunked\tx\r\n\r\n0\r\n\r\n",
    # --- header syntax
    "400__obs-fold": GET + H + b"X-Foo: a\r\n b\r\n\r\n",
    "400__ws-before-first-header": GET + b" X-Foo: a\r\n" + H + b"\r\n",
    "400__bare-cr-after-request-line": b"GET / HTTP/1.1\r" + H + b"\r\n",
    "400__bare-cr-in-value": GET + H + b"X-Foo: a\rb\r\n\r\n",
    "400__bare-cr-in-name": GET + H + b"X-F\roo: a\r\n\r\n",
    "400__ws-before-colon": GET + H + b"X-Foo : a\r\n\r\n",
    "400__tab-before-colon": GET + H + b"X-Foo\t: a\r\n\r\n",
    "400__host-space-before-colon": GET + b"Host : x\r\n\r\n",
    "400__method-invalid-token": b"GE(T / HTTP/1.1\r\n" + H + b"\r\n",
    "400__method-ctl": b"G\x01ET / HTTP/1.1\r\n" + H + b"\r\n",
    "400__header-name-at-sign": GET + H + b"X@Foo: a\r\n\r\n",
    "400__header-name-space": GET + H + b"X Foo: a\r\n\r\n",
    "400__header-name-empty": GET + H + b": a\r\n\r\n",
    "400__header-no-colon": GET + H + b"XFoo\r\n\r\n",
    "400__header-name-non-ascii": GET + H + b"X\xffFoo: a\r\n\r\n",
    "400__nul-in-value": GET + H + b"X-Foo: a\x00b\r\n\r\n",
    "400__nul-in-name": GET + H + b"X-F\x00oo: a\r\n\r\n",
    "400__nul-in-target": b"GET /\x00 HTTP/1.1\r\n" + H + b"\r\n",
    "400__space-in-target": b"GET /a b HTTP/1.1\r\n" + H + b"\r\n",
    # --- version
    "400-505__version-1.2": b"GET / HTTP/1.2\r\n" + H + b"\r\n",
    "505__version-2.0": b"GET / HTTP/2.0\r\n" + H + b"\r\n",
    "400-505__version-3.0": b"GET / HTTP/3.0\r\n" + H + b"\r\n",
    "400__version-lowercase": b"GET / http/1.1\r\n" + H + b"\r\n",
    "400__version-1.10": b"GET / HTTP/1.10\r\n" + H + b"\r\n",
    "400-505__version-missing-http09": b"GET /\r\n\r\n",
    "400__request-line-extra-field": b"GET / HTTP/1.1 extra\r\n" + H + b"\r\n",
    # --- Host
    "400__host-missing": GET + b"X-Foo: a\r\n\r\n",
    "400__host-twice": GET + b"Host: a\r\nHost: b\r\n\r\n",
    "400__host-twice-same": GET + b"Host: x\r\nHost: x\r\n\r\n",
    # --- limits (defaults: 16 KiB head, 100 headers, 5g body)
    "431__header-section-too-large": GET + H + b"X-Big: " + b"a" * 17000 + b"\r\n\r\n",
    "431__too-many-headers": GET + H + b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + b"\r\n",
    "414__request-line-too-long": b"GET /" + b"a" * 17000 + b" HTTP/1.1\r\n" + H + b"\r\n",
    "413__body-over-max": POST + H + b"Content-Length: 6000000000\r\n\r\nhello",
    # --- Expect
    "417__expect-unknown": GET + H + b"Expect: something-else\r\n\r\n",
}

VALID = {
    "200__host-tab-ows": GET + b"Host:\tx\r\n\r\n",
    "200__value-tabs-ows": GET + H + b"X-Tab:\t v \t\r\n\r\n",
    "200__host-no-space": GET + b"Host:x\r\n\r\n",
    "200__absolute-form": b"GET http://x/ HTTP/1.1\r\n" + H + b"\r\n",
    "200__obs-text-in-value": GET + H + b"X-Name: caf\xe9\r\n\r\n",
    "200__empty-value": GET + H + b"X-Empty:\r\n\r\n",
    "200__leading-empty-line": b"\r\n" + GET + H + b"\r\n",
    "200__header-8k": GET + H + b"X-Big: " + b"b" * 8192 + b"\r\n\r\n",
    "200__headers-99": GET + H + b"".join(b"X-H%d: v\r\n" % i for i in range(98)) + b"\r\n",
    "200__host-ipv6-literal-with-port": GET + b"Host: [::1]:8080\r\n\r\n",
    "200__lowercase-names": b"GET / HTTP/1.1\r\nhost: x\r\nx-foo: bar\r\n\r\n",
    "405__te-chunked-mixed-case": POST + H + b"Transfer-Encoding: ChUnKeD\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "405__te-chunked-ows": POST + H + b"Transfer-Encoding:   chunked  \r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "405__chunk-ext-and-trailer": POST + H + b"Transfer-Encoding: chunked\r\n\r\n5;a=b;c=\"d e\"\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
    "405__chunk-size-uppercase-leading-zero": POST + H + b"Transfer-Encoding: chunked\r\n\r\n00A\r\n0123456789\r\n0\r\n\r\n",
    "405__cl-leading-zeros": POST + H + b"Content-Length: 005\r\n\r\nhello",
    "405__cl-zero": POST + H + b"Content-Length: 0\r\n\r\n",
    "405__body-with-request-inside": POST + H + b"Content-Length: %d\r\n\r\n%s" % (len(SMUGGLED), SMUGGLED),
    "200-405__get-with-body-hiding-a-request": b"GET / HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n%s" % (len(SMUGGLED), SMUGGLED),
    "200-405__get-with-chunked-body": GET + H + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED),
    "200__expect-100-continue-no-body": GET + H + b"Expect: 100-continue\r\n\r\n",
    "200__http10-keep-alive": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "501__unknown-method-brew": b"BREW / HTTP/1.1\r\n" + H + b"\r\n",
    "404__percent-encoded-missing": b"GET /no%20such HTTP/1.1\r\n" + H + b"\r\n",
}


def write(d, cases):
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.endswith(".http"):
            os.unlink(os.path.join(d, f))
    for name, data in cases.items():
        with open(os.path.join(d, name + ".http"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write(os.path.join(HERE, "malformed"), MALFORMED)
    write(os.path.join(HERE, "valid"), VALID)
    print("%d malformed, %d valid" % (len(MALFORMED), len(VALID)))
