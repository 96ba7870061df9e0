#!/usr/bin/env python3
"""`hyperscale static`: files, validators, conditional requests, ranges,
MIME types, directories, listings, path traversal and symlink escapes."""

import email.utils
import hashlib
import os
import re
import time

import hslib
from hslib import Conn, http_get, test

MTIME = 1704164645  # Tue, 02 Jan 2024 03:04:05 GMT
MTIME_HTTP = "Tue, 02 Jan 2024 03:04:05 GMT"
SECRET = b"TOP-SECRET-OUTSIDE-ROOT"
HELLO = b"hello, world\n"
BIG = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(320))  # 10240 bytes
HUGE = b"".join(hashlib.sha256(b"h%d" % i).digest() for i in range(32768))  # 1 MiB (> cache_file_max)

_tree = {}


def tree():
    """Builds (once) base/root with every fixture file and base/outside."""
    if _tree:
        return _tree["root"], _tree["outside"]
    base = hslib.tmpdir("hs-static-")
    root, outside = os.path.join(base, "root"), os.path.join(base, "outside")
    w = hslib.write
    w(os.path.join(outside, "secret.txt"), SECRET + b"\n")
    w(os.path.join(root, "index.html"), "<h1>root index</h1>\n")
    w(os.path.join(root, "hello.txt"), HELLO)
    w(os.path.join(root, "a b.txt"), "space in name\n")
    w(os.path.join(root, "empty.txt"), "")
    w(os.path.join(root, "big.bin"), BIG)
    w(os.path.join(root, "huge.bin"), HUGE)
    for name in ("page.html", "style.css", "app.js", "data.json", "img.png", "pic.jpg",
                 "logo.svg", "mod.wasm", "file.zzunknown", "noext"):
        w(os.path.join(root, "mime", name), "x")
    w(os.path.join(root, "sub", "index.html"), "<h1>sub index</h1>\n")
    w(os.path.join(root, "sub", "inner.txt"), "inner\n")
    w(os.path.join(root, "noindex", "x.txt"), "x\n")
    w(os.path.join(root, "caf\u00e9.txt"), "utf-8 name\n")
    w(os.path.join(root, "100%.txt"), "percent name\n")
    os.mkfifo(os.path.join(root, "fifo"))
    w(os.path.join(root, "noindex", "a<script>.txt"), "y\n")
    os.symlink(os.path.join(outside, "secret.txt"), os.path.join(root, "link-out"))
    os.symlink(outside, os.path.join(root, "linkdir"))
    os.symlink("../outside/secret.txt", os.path.join(root, "sub", "rel-out.txt"))
    for dirpath, dirnames, filenames in os.walk(base):
        for n in filenames:
            p = os.path.join(dirpath, n)
            if not os.path.islink(p):
                os.utime(p, (MTIME, MTIME))
        os.chmod(dirpath, 0o755)
    _tree.update(root=root, outside=outside)
    return root, outside


def srv():
    return hslib.shared("static", lambda: hslib.start_static(tree()[0], workers=2))


def get(path, headers=None, method="GET"):
    return http_get(srv().port, path, headers, method=method)


def raw_get(path):
    """Sends the target exactly as given (no client-side normalization)."""
    with Conn(srv().port) as c:
        c.send(b"GET " + path.encode("latin-1") + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        return c.read_response()


def etag_of(path):
    r = get(path)
    assert r.status == 200, "%s -> %d" % (path, r.status)
    return r.header("ETag")


# ---------------------------------------------------------------- basics

@test
def get_file():
    r = get("/hello.txt")
    assert r.status == 200, r
    assert r.body == HELLO, r.body
    hslib.check_common_headers(r)
    assert r.header("Content-Length") == str(len(HELLO)), r.headers
    assert (r.header("Content-Type") or "").split(";")[0] == "text/plain", r.header("Content-Type")
    et = r.header("ETag")
    assert et and re.match(r'^"[\x21\x23-\x7e]+"$', et), "ETag not strong+quoted: %r" % et
    assert r.header("Last-Modified") == MTIME_HTTP, "Last-Modified %r, want %r" % (r.header("Last-Modified"), MTIME_HTTP)
    assert r.header("Accept-Ranges") == "bytes", r.header("Accept-Ranges")


@test
def head_file():
    g = get("/big.bin")
    with Conn(srv().port) as c:
        r = c.request("HEAD", "/big.bin")
        assert r.status == 200, r
        assert r.header("Content-Length") == str(len(BIG)), r.headers
        assert r.header("ETag") == g.header("ETag")
        hslib.check_common_headers(r)
        # no body bytes may follow: the next response must parse right away
        r2 = c.request("GET", "/hello.txt")
        assert r2.status == 200 and r2.body == HELLO, "after HEAD: %r %r" % (r2, r2.body[:40])


@test
def empty_file():
    r = get("/empty.txt")
    assert r.status == 200 and r.body == b"" and r.header("Content-Length") == "0", (r, r.headers)


@test
def large_file_sendfile_path():
    r = get("/huge.bin")
    assert r.status == 200 and r.body == HUGE, "huge.bin: %r, sha mismatch" % r


@test
def missing_file_404():
    r = get("/nope.txt")
    hslib.check_error_response(r, 404)
    r = get("/sub/nope/deeper.txt")
    assert r.status == 404, r


@test
def percent_decoded_name():
    r = get("/a%20b.txt")
    assert r.status == 200 and r.body == b"space in name\n", r
    r = get("/%68ello.txt")
    assert r.status == 200 and r.body == HELLO, r


@test
def percent_encoding_edge_cases():
    r = get("/caf%C3%A9.txt")
    assert r.status == 200 and r.body == b"utf-8 name\n", "UTF-8 name: %r" % r
    r = get("/100%25.txt")
    assert r.status == 200 and r.body == b"percent name\n", "%%25 name: %r" % r
    for bad in ("/%zz", "/hello%2", "/%"):
        r = raw_get(bad)
        assert r.status in (400, 404), "%s -> %d" % (bad, r.status)


@test
def fifo_does_not_block():
    """open(2) of a FIFO blocks without O_NONBLOCK: the worker must not."""
    t0 = time.monotonic()
    try:
        r = http_get(srv().port, "/fifo", timeout=3)
        st = r.status
    except (OSError, hslib.Closed) as e:
        st = "error %s" % e
    assert st in (403, 404), "GET /fifo -> %s after %.1f s, want 403/404" % (st, time.monotonic() - t0)
    assert get("/hello.txt").status == 200, "server stuck after /fifo"


@test
def query_string_ignored():
    r = get("/hello.txt?v=1&x=%2e%2e")
    assert r.status == 200 and r.body == HELLO, r


@test
def mime_types():
    want = {"page.html": "text/html", "style.css": "text/css",
            "app.js": ("application/javascript", "text/javascript"),
            "data.json": "application/json", "img.png": "image/png", "pic.jpg": "image/jpeg",
            "logo.svg": "image/svg+xml", "mod.wasm": "application/wasm",
            "file.zzunknown": "application/octet-stream", "noext": "application/octet-stream"}
    bad = []
    for name, types in want.items():
        r = get("/mime/" + name)
        ct = (r.header("Content-Type") or "").split(";")[0].strip()
        if r.status != 200 or ct not in (types if isinstance(types, tuple) else (types,)):
            bad.append("%s -> %d %r (want %r)" % (name, r.status, ct, types))
    assert not bad, "; ".join(bad)


# ---------------------------------------------------------------- validators

@test
def if_none_match_304():
    et = etag_of("/hello.txt")
    for inm in (et, '"nope", ' + et, "*", "W/" + et):
        r = get("/hello.txt", {"If-None-Match": inm})
        assert r.status == 304, "If-None-Match: %s -> %d" % (inm, r.status)
        assert r.body == b"", r.body
        assert r.header("ETag") == et, "304 lost the ETag: %r" % r.headers
    r = get("/hello.txt", {"If-None-Match": '"something-else"'})
    assert r.status == 200 and r.body == HELLO, r
    r = get("/hello.txt", {"If-None-Match": et}, method="HEAD")
    assert r.status == 304, "HEAD with matching INM -> %d" % r.status


@test
def if_modified_since():
    r = get("/hello.txt", {"If-Modified-Since": MTIME_HTTP})
    assert r.status == 304 and r.body == b"", r
    assert r.header("ETag"), "304 without ETag"
    # later than Last-Modified (and not in the future): not modified since
    r = get("/hello.txt", {"If-Modified-Since": "Wed, 01 Jan 2025 00:00:00 GMT"})
    assert r.status == 304, "IMS later than Last-Modified -> %d, want 304" % r.status
    r = get("/hello.txt", {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})
    assert r.status == 200 and r.body == HELLO, "older IMS -> %r" % r
    r = get("/hello.txt", {"If-Modified-Since": "garbage"})
    assert r.status == 200, "invalid IMS must be ignored -> %d" % r.status
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
    r = get("/hello.txt", {"If-None-Match": '"other"', "If-Modified-Since": MTIME_HTTP})
    assert r.status == 200, "INM mismatch + IMS match -> %d, want 200" % r.status


@test
def if_match_412():
    et = etag_of("/hello.txt")
    r = get("/hello.txt", {"If-Match": '"nope"'})
    hslib.check_error_response(r, 412)
    r = get("/hello.txt", {"If-Match": et})
    assert r.status == 200, "matching If-Match -> %d" % r.status
    r = get("/hello.txt", {"If-Match": "*"})
    assert r.status == 200, "If-Match: * -> %d" % r.status
    r = get("/hello.txt", {"If-Match": "W/" + et})
    assert r.status == 412, "If-Match uses strong comparison; weak tag -> %d" % r.status


@test
def if_unmodified_since_412():
    r = get("/hello.txt", {"If-Unmodified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})
    assert r.status == 412, "IUS before mtime -> %d" % r.status
    r = get("/hello.txt", {"If-Unmodified-Since": MTIME_HTTP})
    assert r.status == 200, "IUS == mtime -> %d" % r.status


# ---------------------------------------------------------------- ranges

def parse_content_range(v):
    m = re.match(r"^bytes (\d+)-(\d+)/(\d+)$", v or "")
    assert m, "bad Content-Range %r" % v
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


@test
def single_ranges():
    n = len(BIG)
    cases = [("bytes=0-9", 0, 9), ("bytes=100-", 100, n - 1), ("bytes=-50", n - 50, n - 1),
             ("bytes=10000-99999999", 10000, n - 1), ("bytes=-99999", 0, n - 1),
             ("bytes=5-5", 5, 5), ("bytes = 0-0", None, None)]
    for rng, a, b in cases:
        r = get("/big.bin", {"Range": rng})
        if a is None:
            continue  # whitespace around '=' is not in the grammar; any 200/206 ok
        assert r.status == 206, "Range: %s -> %d" % (rng, r.status)
        assert parse_content_range(r.header("Content-Range")) == (a, b, n), \
            "Range: %s -> Content-Range %r" % (rng, r.header("Content-Range"))
        assert r.body == BIG[a:b + 1], "Range: %s: wrong bytes" % rng
        assert r.header("Content-Length") == str(b - a + 1), r.headers
    # a range in a file sent with sendfile (past static.cache_file_max)
    r = get("/huge.bin", {"Range": "bytes=300000-300099"})
    assert r.status == 206 and r.body == HUGE[300000:300100], r


@test
def multi_range():
    r = get("/big.bin", {"Range": "bytes=0-9,20-29,-5"})
    assert r.status == 206, r
    ct = r.header("Content-Type") or ""
    m = re.match(r'^multipart/byteranges;\s*boundary="?([^";]+)"?', ct)
    assert m, "Content-Type %r" % ct
    assert r.header("Content-Range") is None, "multipart response with a top-level Content-Range"
    parts = parse_multipart(r.body, m.group(1).encode())
    n = len(BIG)
    want = [(0, 9), (20, 29), (n - 5, n - 1)]
    assert len(parts) == 3, "got %d parts, want 3" % len(parts)
    for (hdrs, data), (a, b) in zip(parts, want):
        assert hdrs.get("content-type") == "application/octet-stream", hdrs
        assert parse_content_range(hdrs.get("content-range")) == (a, b, n), hdrs
        assert data == BIG[a:b + 1], "part %d-%d bytes differ" % (a, b)
    assert r.header("Content-Length") == str(len(r.body)) or r.chunked


def parse_multipart(body, boundary):
    delim = b"--" + boundary
    pos = body.find(delim)
    assert pos >= 0, "boundary not in body"
    parts = []
    while True:
        pos += len(delim)
        if body[pos:pos + 2] == b"--":
            return parts
        assert body[pos:pos + 2] == b"\r\n", "no CRLF after boundary at %d" % pos
        hend = body.index(b"\r\n\r\n", pos + 2)
        hdrs = {}
        for ln in body[pos + 2:hend].split(b"\r\n"):
            k, v = ln.split(b":", 1)
            hdrs[k.strip().lower().decode()] = v.strip().decode()
        nxt = body.index(b"\r\n" + delim, hend + 4)
        parts.append((hdrs, body[hend + 4:nxt]))
        pos = nxt + 2


@test
def overlapping_ranges_bounded():
    """Many overlapping ranges (the Apache 'killer' pattern) must not turn a
    small request into a response many times the file size."""
    rng = "bytes=" + ",".join(["0-"] * 100 + ["%d-%d" % (i, i + 5000) for i in range(0, 5000, 50)])
    with Conn(srv().port, timeout=5) as c:
        c.send(("GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: %s\r\nConnection: close\r\n\r\n" % rng).encode())
        r = c.read_response()
    assert r.status in (200, 206, 416), "overlapping ranges -> %d" % r.status
    assert len(r.body) <= 2 * len(BIG) + 65536, \
        "%d ranges on a %d-byte file produced a %d-byte response" % (200, len(BIG), len(r.body))


@test
def many_small_ranges():
    """400 disjoint one-byte ranges: either refused/ignored (200, 416) or a
    correct multipart answer; never a broken one."""
    rng = "bytes=" + ",".join("%d-%d" % (i, i) for i in range(0, 8000, 20))
    with Conn(srv().port, timeout=5) as c:
        c.send(("GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: %s\r\n\r\n" % rng).encode())
        r = c.read_response()
        assert r.status in (200, 206, 416), "400 ranges -> %d" % r.status
        if r.status == 200:
            assert r.body == BIG
        if r.status == 206:
            m = re.match(r'^multipart/byteranges;\s*boundary="?([^";]+)"?', r.header("Content-Type") or "")
            assert m, r.header("Content-Type")
            parts = parse_multipart(r.body, m.group(1).encode())
            for hdrs, data in parts:
                a, b, n = parse_content_range(hdrs.get("content-range"))
                assert data == BIG[a:b + 1] and n == len(BIG), "bad part %s" % hdrs
            covered = set()
            for hdrs, _ in parts:
                a, b, _n = parse_content_range(hdrs.get("content-range"))
                covered.update(range(a, b + 1))
            assert all(i in covered for i in range(0, 8000, 20)), "parts do not cover every requested byte"
        assert c.request("GET", "/hello.txt").body == HELLO, "connection unusable after many ranges"


@test
def long_names_and_deep_paths():
    for p in ("/" + "a" * 300, "/" + "b" * 5000 + ".txt", "/a" * 4000, "/sub" + "/." * 3000 + "/inner.txt"):
        r = raw_get(p)
        assert r.status in (200, 400, 403, 404, 414), "%s... (%d bytes) -> %d" % (p[:30], len(p), r.status)
        if r.status == 200:
            assert r.body == b"inner\n", r.body[:40]
    assert get("/hello.txt").status == 200


@test
def long_if_none_match_list():
    et = etag_of("/hello.txt")
    tags = ", ".join('"t%d"' % i for i in range(400))
    r = get("/hello.txt", {"If-None-Match": tags + ", " + et})
    assert r.status == 304, "ETag at the end of a 400-tag list -> %d" % r.status
    r = get("/hello.txt", {"If-None-Match": tags})
    assert r.status == 200, "no match in a 400-tag list -> %d" % r.status


@test
def conditional_beats_range():
    et = etag_of("/big.bin")
    r = get("/big.bin", {"If-None-Match": et, "Range": "bytes=0-9"})
    assert r.status == 304, "matching If-None-Match with Range -> %d, want 304" % r.status
    r = get("/big.bin", {"If-Match": '"nope"', "Range": "bytes=0-9"})
    assert r.status == 412, "failing If-Match with Range -> %d, want 412" % r.status


@test
def unsatisfiable_416():
    n = len(BIG)
    for rng in ("bytes=%d-" % n, "bytes=%d-%d" % (n + 10, n + 20), "bytes=-0"):
        r = get("/big.bin", {"Range": rng})
        hslib.check_error_response(r, 416)
        assert r.header("Content-Range") == "bytes */%d" % n, \
            "Range: %s -> Content-Range %r" % (rng, r.header("Content-Range"))


@test
def invalid_range_ignored():
    for rng in ("bytes=abc", "bytes=", "items=0-1", "bytes=1-2-3", "bytes=--5", "0-5", "bytes=0x1-2"):
        r = get("/big.bin", {"Range": rng})
        assert r.status == 200 and r.body == BIG, "Range: %s -> %d, want 200 full" % (rng, r.status)


@test
def if_range():
    et = etag_of("/big.bin")
    r = get("/big.bin", {"Range": "bytes=0-9", "If-Range": et})
    assert r.status == 206 and r.body == BIG[:10], "matching If-Range -> %r" % r
    r = get("/big.bin", {"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status == 200 and r.body == BIG, "stale If-Range -> %r, want 200 full" % r
    r = get("/big.bin", {"Range": "bytes=0-9", "If-Range": "W/" + et})
    assert r.status == 200, "weak If-Range must not match -> %d" % r.status


# ---------------------------------------------------------------- directories

@test
def directory_redirect():
    r = get("/sub")
    assert r.status == 301, "/sub -> %d" % r.status
    loc = r.header("Location") or ""
    assert re.match(r"^(https?://[^/]+)?/sub/$", loc), "Location %r" % loc


@test
def directory_index_file():
    r = get("/")
    assert r.status == 200 and b"root index" in r.body, r
    assert (r.header("Content-Type") or "").startswith("text/html"), r.header("Content-Type")
    r = get("/sub/")
    assert r.status == 200 and b"sub index" in r.body, r


@test
def directory_without_index_403():
    r = get("/noindex/")
    hslib.check_error_response(r, 403)


@test
def directory_listing_on():
    s = hslib.start_static(tree()[0], sets=["static.directory_index=true"], name="dirindex")
    r = http_get(s.port, "/noindex/")
    assert r.status == 200, "/noindex/ with directory_index=true -> %d" % r.status
    assert (r.header("Content-Type") or "").startswith("text/html"), r.header("Content-Type")
    assert b"x.txt" in r.body, r.body[:300]
    assert b"<script>" not in r.body, "listing does not escape file names: %r" % r.body[:500]
    r = http_get(s.port, "/sub/")
    assert r.status == 200 and b"sub index" in r.body, "index.html still wins: %r" % r
    with Conn(s.port) as c:
        r = c.request("GET", "/noindex/", version="HTTP/1.0")
        assert r.status == 200 and b"x.txt" in r.body and not r.chunked, "listing to HTTP/1.0: %r chunked=%s" % (r, r.chunked)
    with Conn(s.port) as c:
        r = c.request("HEAD", "/noindex/")
        assert r.status == 200, r
        r2 = c.request("GET", "/hello.txt")
        assert r2.status == 200 and r2.body == HELLO, "HEAD of a listing sent a body: %r" % r2


# ---------------------------------------------------------------- escapes

TRAVERSALS = [
    "/../outside/secret.txt", "/../../../../../../../../etc/passwd", "/%2e%2e/outside/secret.txt",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/sub/../../outside/secret.txt",
    "/sub/%2e%2e/%2e%2e/outside/secret.txt", "/..%2foutside%2fsecret.txt", "/%2e%2e%2foutside/secret.txt",
    "/sub%2f..%2f..%2foutside%2fsecret.txt", "/.%2e/outside/secret.txt", "/%2E%2E/outside/secret.txt",
    "/..\\outside\\secret.txt", "/..%5coutside%5csecret.txt", "//../outside/secret.txt",
    "/./../outside/secret.txt", "/%c0%ae%c0%ae/outside/secret.txt", "/sub/..%2f..%2foutside/secret.txt",
    "/%252e%252e/outside/secret.txt", "/sub/./.././../outside/secret.txt",
    "/hello.txt%00", "/hello.txt%00.html", "/%00", "/%00/../outside/secret.txt",
    "http://x/../outside/secret.txt", "http://x/%2e%2e/outside/secret.txt",
]


@test
def path_traversal():
    bad = []
    for p in TRAVERSALS:
        try:
            r = raw_get(p)
        except hslib.Closed:
            continue  # closing without an answer leaks nothing
        if SECRET in r.body or b"root:x:0:0" in r.body or r.status not in (400, 403, 404):
            bad.append("%s -> %d %r" % (p, r.status, r.body[:60]))
    assert not bad, "traversal not refused: " + "; ".join(bad)


@test
def symlink_escape():
    bad = []
    for p in ("/link-out", "/linkdir/secret.txt", "/linkdir/", "/sub/rel-out.txt"):
        r = raw_get(p)
        if SECRET in r.body or r.status not in (403, 404):
            bad.append("%s -> %d %r" % (p, r.status, r.body[:60]))
    assert not bad, "symlink out of the root followed: " + "; ".join(bad)


@test
def offsets_past_4gib():
    """A sparse 5 GiB file: sizes and ranges past 2^32 are 64-bit clean."""
    root = hslib.tmpdir("hs-static-sparse-")
    p = os.path.join(root, "sparse.bin")
    size = 5 << 30
    with open(p, "wb") as f:
        f.truncate(size)
        f.seek((4 << 30) + 7)
        f.write(b"MARKER-4G")
        f.seek(size - 4)
        f.write(b"TAIL")
    s = hslib.start_static(root, name="sparse")
    with Conn(s.port) as c:
        r = c.request("HEAD", "/sparse.bin")
        assert r.status == 200 and r.header("Content-Length") == str(size), "HEAD: %r %r" % (r, r.header("Content-Length"))
        a = (4 << 30) + 7
        r = c.request("GET", "/sparse.bin", {"Range": "bytes=%d-%d" % (a, a + 8)})
        assert r.status == 206 and r.body == b"MARKER-4G", "range at 4 GiB: %r %r" % (r, r.body)
        assert r.header("Content-Range") == "bytes %d-%d/%d" % (a, a + 8, size), r.header("Content-Range")
        r = c.request("GET", "/sparse.bin", {"Range": "bytes=-4"})
        assert r.status == 206 and r.body == b"TAIL", "suffix range: %r %r" % (r, r.body)
        r = c.request("GET", "/sparse.bin", {"Range": "bytes=%d-" % size})
        assert r.status == 416 and r.header("Content-Range") == "bytes */%d" % size, (r, r.header("Content-Range"))


@test
def truncate_during_download():
    """The file shrinks while it is being sent: the connection ends early
    (the body cannot be completed), the worker does not crash (no SIGBUS
    from a mapping), and the new content is served afterwards."""
    root = hslib.tmpdir("hs-static-trunc-")
    p = os.path.join(root, "t.bin")
    with open(p, "wb") as f:
        f.write(b"\x5a" * (64 << 20))
    s = hslib.start_static(root, admin=not hslib.PEER, sets=["static.revalidate=100ms"], name="trunc")
    pid = None if hslib.PEER else hslib.admin_status(s.admin_port)["pid"]
    c = Conn(s.port, timeout=10, rcvbuf=1 << 16)
    c.send(b"GET /t.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    c.sock.recv(1 << 16)
    with open(p, "r+b") as f:
        f.truncate(1000)
    got = 0
    try:
        while True:
            data = c.sock.recv(1 << 20)
            if not data:
                break
            got += len(data)
    except OSError:
        pass
    c.close()
    assert got < 64 << 20, "a 64 MiB body completed from a file truncated to 1000 bytes"
    time.sleep(0.3)
    r = http_get(s.port, "/t.bin")
    assert r.status == 200 and len(r.body) == 1000, "after truncation: %r len %d" % (r, len(r.body))
    if pid:
        assert hslib.admin_status(s.admin_port)["pid"] == pid, "worker died: " + s.log_tail(3)


@test
def file_deleted_then_404():
    root = hslib.tmpdir("hs-static-del-")
    p = hslib.write(os.path.join(root, "gone.txt"), "here\n")
    s = hslib.start_static(root, sets=["static.revalidate=100ms"], name="del")
    assert http_get(s.port, "/gone.txt").status == 200
    os.unlink(p)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and http_get(s.port, "/gone.txt").status != 404:
        time.sleep(0.1)
    assert http_get(s.port, "/gone.txt").status == 404, "deleted file still served 3 s later"


@test
def file_update_seen():
    root = hslib.tmpdir("hs-static-upd-")
    p = hslib.write(os.path.join(root, "f.txt"), "version one\n")
    s = hslib.start_static(root, sets=["static.revalidate=100ms"], name="update")
    r1 = http_get(s.port, "/f.txt")
    assert r1.body == b"version one\n", r1.body
    time.sleep(0.05)
    hslib.write(p, "version two, longer\n")
    os.utime(p, (MTIME + 10, MTIME + 10))
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        r2 = http_get(s.port, "/f.txt")
        if r2.body == b"version two, longer\n":
            break
        time.sleep(0.1)
    assert r2.body == b"version two, longer\n", "still %r 3 s after the change" % r2.body
    assert r2.header("ETag") != r1.header("ETag"), "ETag did not change with the file"
    assert r2.header("Content-Length") == str(len(r2.body))


if __name__ == "__main__":
    hslib.run()
