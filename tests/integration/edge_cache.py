"""End-to-end tests of `hyperscale edge`: one test per caching rule, each
against a scriptable Python origin (edgelib.Origin) that counts the
requests it gets. Paths are unique per test, so one edge serves them all."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import edgelib  # noqa: E402
import hslib  # noqa: E402
from hslib import test  # noqa: E402
from edgelib import get, xcache  # noqa: E402

_origin = None


def origin():
    global _origin
    if _origin is None:
        _origin = edgelib.Origin()
    return _origin


def edge():
    return hslib.shared("edge", lambda: edgelib.start_edge(origin(), admin=True))


def http_date(t):
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t))


def expect(r, status, cache, body=None):
    assert r.status == status, "status %d, want %d (%r)" % (r.status, status, r.headers)
    assert xcache(r) == cache, "X-Cache %r, want %r (%r)" % (xcache(r), cache, r.headers)
    if body is not None:
        assert r.body == body, "body %r, want %r" % (r.body[:80], body[:80])


# ---- freshness and storage --------------------------------------------------

@test
def miss_then_hit():
    o, e = origin(), edge()
    o.set("/fresh", 200, {"Cache-Control": "max-age=60", "Content-Type": "text/plain"}, b"hello")
    r = get(e, "/fresh")
    expect(r, 200, "MISS", b"hello")
    assert r.header("Via") == "1.1 hyperscale"
    r = get(e, "/fresh")
    expect(r, 200, "HIT", b"hello")
    assert r.header("Age") is not None and int(r.header("Age")) >= 0
    assert r.header("Content-Type") == "text/plain"
    assert o.count("/fresh") == 1, o.count("/fresh")
    assert o.last("/fresh").header("Via") == "1.1 hyperscale"


@test
def query_is_part_of_the_key():
    o, e = origin(), edge()
    o.set("/q?a=1", 200, {"Cache-Control": "max-age=60"}, b"one")
    o.set("/q?a=2", 200, {"Cache-Control": "max-age=60"}, b"two")
    expect(get(e, "/q?a=1"), 200, "MISS", b"one")
    expect(get(e, "/q?a=2"), 200, "MISS", b"two")
    expect(get(e, "/q?a=1"), 200, "HIT", b"one")


@test
def no_store_is_not_stored():
    o, e = origin(), edge()
    o.set("/nostore", 200, {"Cache-Control": "no-store, max-age=60"}, b"x")
    get(e, "/nostore")
    r = get(e, "/nostore")
    assert xcache(r) in ("MISS", "PASS"), xcache(r)
    assert o.count("/nostore") == 2


@test
def private_is_not_stored():
    o, e = origin(), edge()
    o.set("/private", 200, {"Cache-Control": "private, max-age=60"}, b"mine")
    get(e, "/private")
    r = get(e, "/private")
    assert r.body == b"mine" and xcache(r) != "HIT"
    assert o.count("/private") == 2


@test
def qualified_private_strips_the_field():
    o, e = origin(), edge()
    o.set("/qprivate", 200, {"Cache-Control": 'private="X-User", max-age=60', "X-User": "alice"},
          b"shared")
    get(e, "/qprivate")
    r = get(e, "/qprivate")
    expect(r, 200, "HIT", b"shared")
    assert r.header("X-User") is None, "a field named by private= was served from cache"


@test
def s_maxage_wins_over_max_age():
    o, e = origin(), edge()
    o.set("/smax", 200, {"Cache-Control": "max-age=0, s-maxage=60"}, b"s")
    get(e, "/smax")
    expect(get(e, "/smax"), 200, "HIT")
    assert o.count("/smax") == 1


@test
def expires_gives_freshness():
    o, e = origin(), edge()
    now = time.time()
    o.set("/expires", 200, {"Date": http_date(now), "Expires": http_date(now + 3600)}, b"e")
    o.set("/expired", 200, {"Date": http_date(now), "Expires": http_date(now - 10),
                            "ETag": '"e1"'}, b"e")
    get(e, "/expires")
    expect(get(e, "/expires"), 200, "HIT")
    get(e, "/expired")
    r = get(e, "/expired")
    assert xcache(r) != "HIT", xcache(r)
    assert o.count("/expired") == 2


@test
def heuristic_freshness_from_last_modified():
    o, e = origin(), edge()
    now = time.time()
    o.set("/heur", 200, {"Date": http_date(now), "Last-Modified": http_date(now - 10 * 86400)},
          b"h")
    get(e, "/heur")
    expect(get(e, "/heur"), 200, "HIT")
    # a status that is not heuristically cacheable is not reused
    o.set("/heur302", 302, {"Location": "/x", "Last-Modified": http_date(now - 86400)}, b"")
    get(e, "/heur302")
    r = get(e, "/heur302")
    assert xcache(r) != "HIT"
    assert o.count("/heur302") == 2


@test
def not_found_is_cached_heuristically_with_max_age():
    o, e = origin(), edge()
    o.set("/gone", 404, {"Cache-Control": "max-age=60"}, b"nope")
    get(e, "/gone")
    expect(get(e, "/gone"), 404, "HIT", b"nope")


@test
def set_cookie_is_not_shared():
    o, e = origin(), edge()
    o.set("/cookie", 200, {"Cache-Control": "max-age=60", "Set-Cookie": "s=1"}, b"c")
    get(e, "/cookie")
    r = get(e, "/cookie")
    assert xcache(r) != "HIT"
    assert o.count("/cookie") == 2


@test
def cdn_cache_control_takes_precedence():
    o, e = origin(), edge()
    o.set("/cdn", 200, {"Cache-Control": "no-store", "CDN-Cache-Control": "max-age=60"}, b"c")
    get(e, "/cdn")
    expect(get(e, "/cdn"), 200, "HIT")
    assert o.count("/cdn") == 1
    # and forbids what Cache-Control would allow
    o.set("/cdn2", 200, {"Cache-Control": "max-age=60", "CDN-Cache-Control": "no-store"}, b"c")
    get(e, "/cdn2")
    assert xcache(get(e, "/cdn2")) != "HIT"
    # an invalid CDN-Cache-Control is ignored
    o.set("/cdn3", 200, {"Cache-Control": "max-age=60", "CDN-Cache-Control": "max-age=\"x"}, b"c")
    get(e, "/cdn3")
    expect(get(e, "/cdn3"), 200, "HIT")


@test
def chunked_origin_response_is_stored():
    o, e = origin(), edge()
    body = bytes(range(256)) * 40
    o.set("/chunked", 200, {"Cache-Control": "max-age=60"}, body, chunked=True)
    expect(get(e, "/chunked"), 200, "MISS", body)
    r = get(e, "/chunked")
    expect(r, 200, "HIT", body)
    assert r.header("Content-Length") == str(len(body))


# ---- request directives ------------------------------------------------------

def _validating_route(etag, body, cc="max-age=60"):
    def route(seen):
        if seen.header("If-None-Match") == etag:
            return edgelib.Answer(304, {"ETag": etag, "Cache-Control": cc})
        return edgelib.Answer(200, {"ETag": etag, "Cache-Control": cc}, body)
    return route


@test
def request_no_cache_revalidates():
    o, e = origin(), edge()
    o.set("/rnc", _validating_route('"r1"', b"body"))
    get(e, "/rnc")
    r = get(e, "/rnc", {"Cache-Control": "no-cache"})
    expect(r, 200, "REVALIDATED", b"body")
    assert o.count("/rnc") == 2
    assert o.last("/rnc").header("If-None-Match") == '"r1"'
    # Pragma: no-cache without Cache-Control means the same
    r = get(e, "/rnc", {"Pragma": "no-cache"})
    expect(r, 200, "REVALIDATED", b"body")
    assert o.count("/rnc") == 3


@test
def request_max_age_and_min_fresh():
    o, e = origin(), edge()
    o.set("/rma", _validating_route('"m1"', b"m"))
    get(e, "/rma")
    time.sleep(1.1)
    expect(get(e, "/rma", {"Cache-Control": "max-age=0"}), 200, "REVALIDATED")
    expect(get(e, "/rma", {"Cache-Control": "max-age=30"}), 200, "HIT")
    expect(get(e, "/rma", {"Cache-Control": "min-fresh=10"}), 200, "HIT")
    expect(get(e, "/rma", {"Cache-Control": "min-fresh=100"}), 200, "REVALIDATED")


@test
def request_max_stale_serves_stale():
    o, e = origin(), edge()
    o.set("/mstale", 200, {"Cache-Control": "max-age=1", "ETag": '"s"'}, b"old")
    get(e, "/mstale")
    time.sleep(2.1)
    expect(get(e, "/mstale", {"Cache-Control": "max-stale=100"}), 200, "STALE", b"old")
    assert o.count("/mstale") == 1


@test
def must_revalidate_forbids_stale():
    o, e = origin(), edge()
    o.set("/mr", _validating_route('"mr"', b"mr", "max-age=1, must-revalidate"))
    get(e, "/mr")
    time.sleep(2.1)
    expect(get(e, "/mr", {"Cache-Control": "max-stale=100"}), 200, "REVALIDATED")
    assert o.count("/mr") == 2


@test
def only_if_cached():
    o, e = origin(), edge()
    o.set("/oic", 200, {"Cache-Control": "max-age=60"}, b"o")
    r = get(e, "/oic", {"Cache-Control": "only-if-cached"})
    assert r.status == 504, r.status
    assert o.count("/oic") == 0
    get(e, "/oic")
    expect(get(e, "/oic", {"Cache-Control": "only-if-cached"}), 200, "HIT")


@test
def request_no_store_does_not_store():
    o, e = origin(), edge()
    o.set("/rns", 200, {"Cache-Control": "max-age=60"}, b"r")
    get(e, "/rns", {"Cache-Control": "no-store"})
    r = get(e, "/rns")
    assert xcache(r) != "HIT"
    assert o.count("/rns") == 2


# ---- validation ---------------------------------------------------------------

@test
def response_no_cache_always_revalidates():
    o, e = origin(), edge()
    o.set("/nc", _validating_route('"n1"', b"nc", "no-cache"))
    expect(get(e, "/nc"), 200, "MISS", b"nc")
    expect(get(e, "/nc"), 200, "REVALIDATED", b"nc")
    expect(get(e, "/nc"), 200, "REVALIDATED", b"nc")
    assert o.count("/nc") == 3


@test
def stale_revalidated_with_304_merges_headers():
    o, e = origin(), edge()
    state = {"n": 0}

    def route(seen):
        state["n"] += 1
        if seen.header("If-None-Match") == '"v1"':
            return edgelib.Answer(304, {"ETag": '"v1"', "Cache-Control": "max-age=60",
                                        "X-Version": "2"})
        return edgelib.Answer(200, {"ETag": '"v1"', "Cache-Control": "max-age=1",
                                    "X-Version": "1", "Content-Type": "text/x"}, b"payload")
    o.set("/reval", route)
    get(e, "/reval")
    time.sleep(2.1)
    r = get(e, "/reval")
    expect(r, 200, "REVALIDATED", b"payload")
    assert r.header("X-Version") == "2", r.headers
    assert r.header("Content-Type") == "text/x"
    # the 304's max-age=60 now applies
    expect(get(e, "/reval"), 200, "HIT", b"payload")
    assert o.count("/reval") == 2


@test
def last_modified_validation():
    o, e = origin(), edge()
    lm = http_date(time.time() - 86400)

    def route(seen):
        if seen.header("If-Modified-Since") == lm:
            return edgelib.Answer(304, {"Cache-Control": "max-age=1"})
        return edgelib.Answer(200, {"Last-Modified": lm, "Cache-Control": "max-age=1"}, b"lm")
    o.set("/lm", route)
    get(e, "/lm")
    time.sleep(2.1)
    expect(get(e, "/lm"), 200, "REVALIDATED", b"lm")


@test
def expired_gets_new_content():
    o, e = origin(), edge()
    o.set("/exp", 200, {"Cache-Control": "max-age=1", "ETag": '"a"'}, b"first")
    get(e, "/exp")
    o.set("/exp", 200, {"Cache-Control": "max-age=60", "ETag": '"b"'}, b"second")
    time.sleep(2.1)
    expect(get(e, "/exp"), 200, "EXPIRED", b"second")
    expect(get(e, "/exp"), 200, "HIT", b"second")


@test
def conditional_request_answered_from_cache():
    o, e = origin(), edge()
    o.set("/cond", 200, {"Cache-Control": "max-age=60", "ETag": '"c1"',
                         "Last-Modified": http_date(time.time() - 100)}, b"cond")
    get(e, "/cond")
    r = get(e, "/cond", {"If-None-Match": '"c1"'})
    assert r.status == 304 and xcache(r) == "HIT", (r.status, r.headers)
    assert r.header("ETag") == '"c1"'
    r = get(e, "/cond", {"If-None-Match": '"other"'})
    expect(r, 200, "HIT", b"cond")
    r = get(e, "/cond", {"If-Modified-Since": http_date(time.time())})
    assert r.status == 304
    assert o.count("/cond") == 1
    # a conditional miss: the origin gets an unconditional request, the
    # client its 304
    o.set("/cond2", 200, {"Cache-Control": "max-age=60", "ETag": '"c2"'}, b"cond2")
    r = get(e, "/cond2", {"If-None-Match": '"c2"'})
    assert r.status == 304, r.status
    assert o.last("/cond2").header("If-None-Match") is None
    # (answered from the fill or from the stored object: no second fetch)
    assert get(e, "/cond2").body == b"cond2"
    assert o.count("/cond2") == 1


# ---- stale-while-revalidate, stale-if-error, immutable -------------------------

@test
def stale_while_revalidate():
    o, e = origin(), edge()
    o.set("/swr", 200, {"Cache-Control": "max-age=1, stale-while-revalidate=30"}, b"v1")
    get(e, "/swr")
    o.set("/swr", 200, {"Cache-Control": "max-age=60"}, b"v2", delay=0.5)
    time.sleep(2.1)
    t0 = time.monotonic()
    r = get(e, "/swr")
    expect(r, 200, "STALE", b"v1")
    assert time.monotonic() - t0 < 0.4, "a stale-while-revalidate answer waited for the origin"
    assert edgelib.wait_until(lambda: o.count("/swr") == 2), "no background revalidation"
    assert edgelib.wait_until(lambda: get(e, "/swr").body == b"v2")
    expect(get(e, "/swr"), 200, "HIT", b"v2")
    assert o.count("/swr") == 2


@test
def stale_if_error():
    o, e = origin(), edge()
    o.set("/sie", 200, {"Cache-Control": "max-age=1, stale-if-error=60"}, b"good")
    get(e, "/sie")
    o.set("/sie", 503, {"Cache-Control": "no-store"}, b"down")
    time.sleep(2.1)
    expect(get(e, "/sie"), 200, "STALE", b"good")
    # without stale-if-error, the error goes through
    o.set("/nosie", 200, {"Cache-Control": "max-age=1"}, b"good")
    get(e, "/nosie")
    o.set("/nosie", 503, {}, b"down")
    time.sleep(2.1)
    r = get(e, "/nosie")
    assert r.status == 503, r.status
    # the request may ask for it too
    expect(get(e, "/nosie", {"Cache-Control": "stale-if-error=60"}), 200, "STALE", b"good")


@test
def immutable_ignores_reload():
    o, e = origin(), edge()
    o.set("/imm", 200, {"Cache-Control": "max-age=60, immutable"}, b"i")
    get(e, "/imm")
    expect(get(e, "/imm", {"Cache-Control": "no-cache"}), 200, "HIT")
    expect(get(e, "/imm", {"Cache-Control": "max-age=0"}), 200, "HIT")
    assert o.count("/imm") == 1


# ---- Vary -------------------------------------------------------------------------

@test
def vary_keeps_variants_apart():
    o, e = origin(), edge()

    def route(seen):
        ae = seen.header("Accept-Encoding") or "identity"
        return edgelib.Answer(200, {"Cache-Control": "max-age=60", "Vary": "Accept-Encoding"},
                              ("enc=" + ae).encode())
    o.set("/vary", route)
    expect(get(e, "/vary", {"Accept-Encoding": "gzip, br"}), 200, "MISS", b"enc=gzip, br")
    expect(get(e, "/vary", {"Accept-Encoding": "br"}), 200, "MISS", b"enc=br")
    # normalization: order, case and spaces of Accept-Encoding do not matter
    expect(get(e, "/vary", {"Accept-Encoding": "BR,gzip"}), 200, "HIT", b"enc=gzip, br")
    expect(get(e, "/vary", {"Accept-Encoding": "br"}), 200, "HIT", b"enc=br")
    # absent is its own variant
    expect(get(e, "/vary"), 200, "MISS", b"enc=identity")
    assert o.count("/vary") == 3


@test
def vary_star_is_not_stored():
    o, e = origin(), edge()
    o.set("/vstar", 200, {"Cache-Control": "max-age=60", "Vary": "*"}, b"v")
    get(e, "/vstar")
    assert xcache(get(e, "/vstar")) != "HIT"
    assert o.count("/vstar") == 2


# ---- Authorization ------------------------------------------------------------------

@test
def authorization_rules():
    o, e = origin(), edge()
    o.set("/auth", 200, {"Cache-Control": "max-age=60"}, b"secret")
    get(e, "/auth", {"Authorization": "Bearer a"})
    r = get(e, "/auth", {"Authorization": "Bearer a"})
    assert xcache(r) != "HIT"
    assert o.count("/auth") == 2
    r = get(e, "/auth")  # not stored from the authorized answers
    assert xcache(r) == "MISS"
    o.set("/authpub", 200, {"Cache-Control": "public, max-age=60"}, b"pub")
    get(e, "/authpub", {"Authorization": "Bearer a"})
    expect(get(e, "/authpub", {"Authorization": "Bearer b"}), 200, "HIT", b"pub")


@test
def authorized_revalidation_is_not_shared():
    o, e = origin(), edge()
    o.set("/authstale", 200, {"Cache-Control": "public, max-age=1"}, b"public1")
    get(e, "/authstale")
    time.sleep(2.1)

    def route(seen):
        if seen.header("Authorization"):
            return edgelib.Answer(200, {"Cache-Control": "max-age=60"}, b"for-alice", delay=0.5)
        return edgelib.Answer(200, {"Cache-Control": "public, max-age=60"}, b"public2", delay=0.5)
    o.set("/authstale", route)
    import threading
    out = {}
    t = threading.Thread(target=lambda: out.setdefault(
        "auth", get(e, "/authstale", {"Authorization": "Bearer alice"})))
    t.start()
    time.sleep(0.1)
    anon = get(e, "/authstale")
    t.join(10)
    assert out["auth"].body == b"for-alice"
    assert anon.body == b"public2", anon.body


# ---- methods, invalidation, headers -------------------------------------------------

@test
def unsafe_method_invalidates():
    o, e = origin(), edge()
    o.set("/inv", 200, {"Cache-Control": "max-age=60"}, b"v1")
    o.set("/inv-other", 200, {"Cache-Control": "max-age=60"}, b"o1")
    o.set("/inv-cl", 200, {"Cache-Control": "max-age=60"}, b"c1")
    for p in ("/inv", "/inv-other", "/inv-cl"):
        get(e, p)
        expect(get(e, p), 200, "HIT")

    def post(seen):
        return edgelib.Answer(201, {"Location": "/inv-other",
                                    "Content-Location": "http://localhost/inv-cl"},
                              b"got " + seen.body)
    o.set("/inv", post)
    r = get(e, "/inv", method="POST", body=b"payload")
    expect(r, 201, "PASS", b"got payload")
    assert o.last("/inv").body == b"payload"
    o.set("/inv", 200, {"Cache-Control": "max-age=60"}, b"v2")
    expect(get(e, "/inv"), 200, "MISS", b"v2")
    expect(get(e, "/inv-other"), 200, "MISS")
    expect(get(e, "/inv-cl"), 200, "MISS")
    # a failed unsafe request invalidates nothing
    o.set("/inv", 500, {}, b"err")
    get(e, "/inv", method="DELETE")
    o.set("/inv", 200, {"Cache-Control": "max-age=60"}, b"v3")
    expect(get(e, "/inv"), 200, "HIT", b"v2")


@test
def hop_by_hop_fields_are_not_forwarded():
    o, e = origin(), edge()
    o.set("/hop", 200, {"Cache-Control": "max-age=60", "Connection": "X-Secret",
                        "X-Secret": "1", "Keep-Alive": "timeout=5", "X-Kept": "yes"}, b"h")
    r = get(e, "/hop", {"Connection": "X-Client-Hop", "X-Client-Hop": "1", "X-End": "2"})
    assert r.header("X-Secret") is None and r.header("Keep-Alive") is None, r.headers
    assert r.header("X-Kept") == "yes"
    seen = o.last("/hop")
    assert seen.header("X-Client-Hop") is None, seen.headers
    assert seen.header("X-End") == "2"
    r = get(e, "/hop")
    assert r.header("X-Secret") is None and xcache(r) == "HIT"


@test
def truncated_origin_answer_is_not_stored():
    o, e = origin(), edge()
    # Content-Length promises 10000 bytes, the origin sends 5 and closes
    o.set("/trunc", 200, {"Cache-Control": "max-age=60", "Content-Length": "10000",
                          "Connection": "close"}, b"short")
    with hslib.Conn(e.port) as c:
        c.send(hslib.build_request("GET", "/trunc"))
        try:
            r = c.read_response()
            got = r.body
        except hslib.Closed:
            got = None
    assert got is None, got  # the connection closes: never a complete-looking answer
    o.set("/trunc", 200, {"Cache-Control": "max-age=60"}, b"whole")
    r = get(e, "/trunc")
    assert r.body == b"whole" and xcache(r) == "MISS", (xcache(r), r.body)


@test
def head_answered_from_cached_get():
    o, e = origin(), edge()
    o.set("/head", 200, {"Cache-Control": "max-age=60"}, b"0123456789")
    get(e, "/head")
    r = get(e, "/head", method="HEAD")
    assert r.status == 200 and xcache(r) == "HIT" and r.body == b""
    assert r.header("Content-Length") == "10"
    # a HEAD miss fills the cache with a GET
    o.set("/head2", 200, {"Cache-Control": "max-age=60"}, b"abc")
    r = get(e, "/head2", method="HEAD")
    assert r.status == 200 and r.header("Content-Length") == "3", r.headers
    assert o.last("/head2").method == "GET"
    expect(get(e, "/head2"), 200, "HIT", b"abc")
    # a HEAD pass keeps the origin's Content-Length
    o.set("/head3", 200, {"Cache-Control": "no-store"}, b"abcdef")
    r = get(e, "/head3", method="HEAD")
    assert r.status == 200 and r.header("Content-Length") == "6", r.headers


@test
def range_from_cached_object():
    o, e = origin(), edge()
    body = bytes(i % 251 for i in range(5000))
    o.set("/range", 200, {"Cache-Control": "max-age=60", "ETag": '"rg"'}, body)
    # a Range miss fetches the whole object and answers the range
    r = get(e, "/range", {"Range": "bytes=10-19"})
    assert r.status == 206 and r.body == body[10:20], (r.status, r.headers)
    assert r.header("Content-Range") == "bytes 10-19/5000"
    assert o.last("/range").header("Range") is None
    r = get(e, "/range", {"Range": "bytes=-100"})
    assert r.status == 206 and r.body == body[-100:] and xcache(r) == "HIT"
    r = get(e, "/range", {"Range": "bytes=6000-"})
    assert r.status == 416 and r.header("Content-Range") == "bytes */5000"
    r = get(e, "/range", {"Range": "bytes=0-9", "If-Range": '"other"'})
    assert r.status == 200 and r.body == body
    r = get(e, "/range", {"Range": "bytes=0-9", "If-Range": '"rg"'})
    assert r.status == 206 and r.body == body[:10]
    assert o.count("/range") == 1
    assert r.header_all("accept-ranges") == [], r.headers  # a 206 does not carry it
    assert get(e, "/range").header_all("accept-ranges") == ["bytes"]
    # an origin's own Accept-Ranges is not doubled on hits
    o.set("/range-ar", 200, {"Cache-Control": "max-age=60", "Accept-Ranges": "bytes"}, body)
    for want in ("MISS", "HIT"):
        r = get(e, "/range-ar")
        assert xcache(r) == want and r.header_all("accept-ranges") == ["bytes"], r.headers


def _curl_ranges(e, path, ranges):
    """GET path with curl -r ranges; returns (status, headers dict, raw body)."""
    import subprocess
    d = hslib.tmpdir("hs-curl-")
    hf, bf = os.path.join(d, "h"), os.path.join(d, "b")
    p = subprocess.run(["curl", "-sS", "--max-time", "10", "-r", ranges, "-D", hf, "-o", bf,
                        "http://127.0.0.1:%d%s" % (e.port, path)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, (p.returncode, p.stderr)
    lines = open(hf, "rb").read().decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, open(bf, "rb").read()


def _expect_multipart(status, hdrs, raw, body, spans, ctype):
    assert status == 206, (status, hdrs)
    ct = hdrs["content-type"]
    assert ct.startswith("multipart/byteranges; boundary="), ct
    b = ct.split("boundary=", 1)[1].encode()
    assert int(hdrs["content-length"]) == len(raw), (hdrs["content-length"], len(raw))
    want = b""
    for i, (a, z) in enumerate(spans):
        want += (b"\r\n" if i else b"") + b"--" + b + b"\r\n"
        if ctype:
            want += b"Content-Type: " + ctype.encode() + b"\r\n"
        want += b"Content-Range: bytes %d-%d/%d\r\n\r\n" % (a, z, len(body)) + body[a:z + 1]
    want += b"\r\n--" + b + b"--\r\n"
    assert raw == want, (raw[:300], want[:300])


@test
def multiple_ranges_answered_as_multipart():
    o, e = origin(), edge()
    small = bytes((i * 7) % 251 for i in range(5000))
    big = bytes((i * 131 + (i >> 8)) % 256 for i in range(100 * 1024))  # a memfd body
    o.set("/mr/small", 200, {"Cache-Control": "max-age=60", "Content-Type": "text/x-mr"}, small)
    o.set("/mr/big", 200, {"Cache-Control": "max-age=60"}, big)
    # (curl's Host differs from get()'s, so its requests have their own key:
    # the first is a miss answered from the object once stored)
    st, h, raw = _curl_ranges(e, "/mr/small", "0-9,100-109")
    _expect_multipart(st, h, raw, small, [(0, 9), (100, 109)], "text/x-mr")
    assert "content-range" not in h and h["cache-control"] == "max-age=60", h
    # out of order, one suffix, one overlapping pair merged: three parts, ascending
    st, h, raw = _curl_ranges(e, "/mr/small", "4000-4099,-10,10-19,15-29")
    _expect_multipart(st, h, raw, small, [(10, 29), (4000, 4099), (4990, 4999)], "text/x-mr")
    # no Content-Type stored: parts without one; large parts sent from the memfd
    st, h, raw = _curl_ranges(e, "/mr/big", "0-0,50000-69999,100000-")
    _expect_multipart(st, h, raw, big, [(0, 0), (50000, 69999), (100000, 102399)], None)
    # adjacent or overlapping ranges coalesce into one single-part answer
    st, h, raw = _curl_ranges(e, "/mr/small", "0-9,10-19,5-14")
    assert st == 206 and raw == small[:20] and h["content-range"] == "bytes 0-19/5000", (st, h)
    assert h["content-type"] == "text/x-mr"
    # one range: single part as before
    st, h, raw = _curl_ranges(e, "/mr/small", "100-109")
    assert st == 206 and raw == small[100:110] and h["content-range"] == "bytes 100-109/5000"
    # many tiny ranges: one part spanning them
    many = ",".join("%d-%d" % (i * 10, i * 10 + 1) for i in range(20))
    st, h, raw = _curl_ranges(e, "/mr/small", many)
    assert st == 206 and raw == small[:192] and h["content-range"] == "bytes 0-191/5000", h
    assert o.count("/mr/small") == 1 and o.count("/mr/big") == 1, (o.count("/mr/small"), o.count("/mr/big"))


@test
def large_body_served_from_memfd():
    # 100 KiB: past HS_EDGE_MEMFD_MIN, so the memory tier keeps the body in
    # a memfd and hits send it with sendfile (ranges > 8 KiB too)
    o, e = origin(), edge()
    n = 100 * 1024
    body = bytes((i * 131 + (i >> 8)) % 256 for i in range(n))
    o.set("/memfd", 200, {"Cache-Control": "max-age=60", "ETag": '"mf"'}, body)
    expect(get(e, "/memfd"), 200, "MISS", body)
    for _ in range(3):
        expect(get(e, "/memfd"), 200, "HIT", body)
    r = get(e, "/memfd", {"Range": "bytes=50000-50099"})
    assert r.status == 206 and r.body == body[50000:50100], (r.status, r.headers)
    assert r.header("Content-Range") == "bytes 50000-50099/%d" % n
    r = get(e, "/memfd", {"Range": "bytes=-10"})
    assert r.status == 206 and r.body == body[-10:] and xcache(r) == "HIT"
    r = get(e, "/memfd", {"Range": "bytes=1000-60999"})
    assert r.status == 206 and r.body == body[1000:61000]
    r = get(e, "/memfd", method="HEAD")
    assert r.status == 200 and r.body == b"" and r.header("Content-Length") == str(n)
    r = get(e, "/memfd", {"If-None-Match": '"mf"'})
    assert r.status == 304 and r.body == b"" and xcache(r) == "HIT", r.status
    # several hits on one keep-alive connection, each whole
    with hslib.Conn(e.port, timeout=5.0) as c:
        for _ in range(3):
            r = c.request("GET", "/memfd", [])
            assert r.status == 200 and r.body == body
    assert o.count("/memfd") == 1
    m = hslib.http_get(e.admin_port, "/metrics").body.decode()
    g = [ln for ln in m.splitlines() if ln.startswith("hs_edge_memfd_bodies")]
    assert g and float(g[0].split()[-1]) >= 1, g


@test
def memfd_max_caps_memfd_bodies():
    # edge.memfd_max=2: the first two large bodies go to memfds, the other
    # two stay on the heap; all four are hits with their own bytes
    o = origin()
    e = edgelib.start_edge(o, sets=["edge.memfd_max=2"], admin=True, name="edge-memfd2")
    bodies = {}
    for i in range(4):
        bodies[i] = bytes((j * (7 + 2 * i) + (j >> 9)) % 256 for j in range(100 * 1024))
        o.set("/mfcap%d" % i, 200, {"Cache-Control": "max-age=60"}, bodies[i])
        expect(get(e, "/mfcap%d" % i), 200, "MISS", bodies[i])
    for i in range(4):
        expect(get(e, "/mfcap%d" % i), 200, "HIT", bodies[i])
        assert o.count("/mfcap%d" % i) == 1, o.count("/mfcap%d" % i)
    assert _metric(e, "hs_edge_memfd_bodies") == 2, _metric(e, "hs_edge_memfd_bodies")
    e.stop()
    # past half of RLIMIT_NOFILE the value is lowered, with a warning
    e = edgelib.start_edge(o, sets=["edge.memfd_max=2000000000"], name="edge-memfdbig")
    assert e.wait_log("edge_memfd_max"), e.log_tail()
    expect(get(e, "/mfcap0"), 200, "MISS", bodies[0])
    e.stop()
    r = hslib.run_hs("edge", "--origin", o.url, "--set", "edge.memfd_max=-1")
    assert r.returncode == 2 and "edge.memfd_max" in r.stderr, (r.returncode, r.stderr)


def _fd_targets(pid):
    """Where the open descriptors of pid and its children point."""
    pids, out = [pid], []
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                pids += [int(c) for c in f.read().split()]
        except OSError:
            pass
    for p in pids:
        try:
            for fd in os.listdir("/proc/%d/fd" % p):
                try:
                    out.append(os.readlink("/proc/%d/fd/%s" % (p, fd)))
                except OSError:
                    pass
        except OSError:
            pass
    return out


@test
def body_dir_holds_large_bodies_in_unlinked_files():
    # edge.body_dir: bodies of 16 KiB and more become unlinked files there
    # (no names in the directory), hits send them; small ones stay in memory
    o = origin()
    d = hslib.tmpdir("hs-edge-bodydir-")
    e = edgelib.start_edge(o, sets=["edge.body_dir=" + d], admin=True, name="edge-bodydir")
    big = bytes((j * 13 + (j >> 10)) % 256 for j in range(100 * 1024))
    o.set("/bd/big", 200, {"Cache-Control": "max-age=60"}, big)
    o.set("/bd/small", 200, {"Cache-Control": "max-age=60"}, b"s" * 1000)
    expect(get(e, "/bd/big"), 200, "MISS", big)
    expect(get(e, "/bd/small"), 200, "MISS", b"s" * 1000)
    for _ in range(3):
        expect(get(e, "/bd/big"), 200, "HIT", big)
        expect(get(e, "/bd/small"), 200, "HIT", b"s" * 1000)
    assert o.count("/bd/big") == 1
    assert _metric(e, "hs_edge_memfd_bodies") == 1, _metric(e, "hs_edge_memfd_bodies")
    held = [t for t in _fd_targets(e.pid) if t.startswith(d + "/")]
    assert len(held) == 1 and held[0].endswith("(deleted)"), held
    assert os.listdir(d) == [], os.listdir(d)
    r = get(e, "/bd/big", headers={"Range": "bytes=1000-1099"})
    assert r.status == 206 and r.body == big[1000:1100], (r.status, len(r.body))
    e.stop()
    r = hslib.run_hs("edge", "--origin", o.url, "--set", "edge.body_dir=/nonexistent/hs-bodies")
    assert r.returncode == 2 and "edge.body_dir" in r.stderr, (r.returncode, r.stderr)
    r = hslib.run_hs("up", "--data", hslib.tmpdir("hs-up-bodydir-"), "--set",
                     "edge.body_dir=/nonexistent/hs-bodies")
    assert r.returncode == 2 and "edge.body_dir" in r.stderr, (r.returncode, r.stderr)


@test
def large_objects_stream_through():
    o = origin()
    e = edgelib.start_edge(o, sets=["edge.object_max=4k"], name="edge-small")
    body = os.urandom(100000)
    o.set("/big", 200, {"Cache-Control": "max-age=60"}, body)
    expect(get(e, "/big"), 200, "MISS", body)
    r = get(e, "/big")
    assert r.body == body and xcache(r) != "HIT"
    assert o.count("/big") == 2
    o.set("/bigc", 200, {"Cache-Control": "max-age=60"}, body, chunked=True)
    assert get(e, "/bigc").body == body
    assert get(e, "/bigc").body == body
    assert o.count("/bigc") == 2


@test
def origin_down_is_502():
    o = origin()
    dead = edgelib.Origin()
    dead.stop()
    port = hslib.free_port()
    e = hslib.Server(hslib.hs_argv("edge", "--origin", dead.url, "--listen",
                                   "127.0.0.1:%d" % port, "--workers", 1), port=port,
                     name="edge-dead").start()
    e.admin_port = None
    r = get(e, "/x")
    assert r.status == 502, r.status
    del o


@test
def memory_bound_evicts():
    o = origin()
    e = edgelib.start_edge(o, sets=["edge.memory_bytes=64k"], admin=True, name="edge-tiny")
    for i in range(40):
        o.set("/ev%d" % i, 200, {"Cache-Control": "max-age=60"}, b"x" * 4000)
        get(e, "/ev%d" % i)
    m = hslib.http_get(e.admin_port, "/metrics").body.decode()
    ev = [ln for ln in m.splitlines() if ln.startswith('hs_edge_evictions_total{tier="memory"}')]
    assert ev and float(ev[0].split()[-1]) > 0, ev
    by = [ln for ln in m.splitlines() if ln.startswith('hs_edge_cache_bytes{tier="memory"}')]
    assert by and float(by[0].split()[-1]) <= 65536, by


# ---- coalescing -----------------------------------------------------------------------

@test
def thousand_concurrent_misses_make_one_origin_request():
    o, e = origin(), edge()
    body = b"cold" * 2500
    o.set("/cold", 200, {"Cache-Control": "max-age=60"}, body, delay=1.5)
    raws = edgelib.concurrent_gets(e.port, "/cold", 1000, timeout=30)
    bad = [r for r in raws if r is None]
    assert not bad, "%d connections did not finish" % len(bad)
    labels = {}
    for raw in raws:
        st, h, b = edgelib.parse_raw(raw)
        assert st == 200 and b == body, (st, h, len(b))
        labels[h.get("x-cache")] = labels.get(h.get("x-cache"), 0) + 1
    assert o.count("/cold") == 1, "origin got %d requests" % o.count("/cold")
    assert labels.get("MISS", 0) + labels.get("HIT", 0) == 1000, labels
    m = hslib.http_get(e.admin_port, "/metrics").body.decode()
    co = [ln for ln in m.splitlines() if ln.startswith("hs_edge_coalesced_total")]
    assert co and float(co[0].split()[-1]) >= 1, co


@test
def uncacheable_answers_release_waiters_without_serializing():
    o, e = origin(), edge()
    o.set("/uncache", 200, {"Cache-Control": "private"}, b"u", delay=0.5)
    t0 = time.monotonic()
    raws = edgelib.concurrent_gets(e.port, "/uncache", 8, timeout=20)
    assert all(r is not None and edgelib.parse_raw(r)[2] == b"u" for r in raws)
    # the waiters were released to fetch for themselves: 8 origin requests
    assert o.count("/uncache") == 8, o.count("/uncache")
    # later requests go in parallel (not one after another)
    t0 = time.monotonic()
    raws = edgelib.concurrent_gets(e.port, "/uncache", 8, timeout=20)
    dt = time.monotonic() - t0
    assert all(r is not None for r in raws)
    assert dt < 2.0, "8 requests for an uncacheable URL took %.1fs (serialized?)" % dt
    assert o.count("/uncache") == 16


@test
def waiters_get_the_stream_before_the_end():
    o, e = origin(), edge()
    o.set("/slowvary", 200, {"Cache-Control": "max-age=60", "Vary": "X-Lang"},
          b"v", delay=0.5)
    raws = edgelib.concurrent_gets(e.port, "/slowvary", 4, headers="X-Lang: fr\r\n")
    assert all(edgelib.parse_raw(r)[2] == b"v" for r in raws)
    assert o.count("/slowvary") == 1


@test
def pipelined_requests_on_one_connection():
    o, e = origin(), edge()
    o.set("/pipe", 200, {"Cache-Control": "max-age=60"}, b"pipe", delay=0.3)
    with hslib.Conn(e.port) as c:
        c.send(hslib.build_request("GET", "/pipe") * 3)
        rs = c.read_responses(3)
    assert [r.body for r in rs] == [b"pipe"] * 3
    assert [xcache(r) for r in rs] == ["MISS", "HIT", "HIT"], [xcache(r) for r in rs]
    assert o.count("/pipe") == 1


@test
def client_abort_does_not_hurt_waiters():
    o, e = origin(), edge()
    body = os.urandom(300000)
    o.set("/abort", 200, {"Cache-Control": "max-age=60"}, body, delay=0.5)
    c = hslib.Conn(e.port)
    c.send(hslib.build_request("GET", "/abort"))
    time.sleep(0.1)
    c.close()  # the leader goes away before the origin answers
    raws = edgelib.concurrent_gets(e.port, "/abort", 3)
    assert all(r is not None and edgelib.parse_raw(r)[2] == body for r in raws)
    assert o.count("/abort") == 1, o.count("/abort")
    expect(get(e, "/abort"), 200, "HIT", body)


@test
def leader_abort_never_hands_its_private_answer_to_waiters():
    o, e = origin(), edge()
    o.set("/leader", lambda seen: edgelib.Answer(
        200, {"Cache-Control": "private"}, ("user=%s" % seen.header("X-User")).encode(),
        delay=0.5))
    c = hslib.Conn(e.port)
    c.send(hslib.build_request("GET", "/leader", {"X-User": "alice"}))
    time.sleep(0.1)
    import threading
    out = {}

    def waiters():
        out["raws"] = edgelib.concurrent_gets(e.port, "/leader", 3, headers="X-User: bob\r\n")
    t = threading.Thread(target=waiters)
    t.start()
    time.sleep(0.1)
    c.close()
    t.join(20)
    bodies = [edgelib.parse_raw(r)[2] for r in out["raws"]]
    assert bodies == [b"user=bob"] * 3, bodies


@test
def pass_through_is_streamed():
    o, e = origin(), edge()
    # 1.2 MB in 1000-byte chunks, 2 ms apart: the origin takes >= 2.4 s
    body = os.urandom(1200 * 1000)
    o.set("/streampass", 200, {"Cache-Control": "no-store"}, body, chunked=True,
          chunk_delay=0.002)
    with hslib.Conn(e.port, timeout=20) as c:
        c.send(hslib.build_request("GET", "/streampass"))
        t0 = time.monotonic()
        while len(c.buf) < 300000:
            c._fill(t0 + 20)
        first = time.monotonic() - t0
        r = c.read_response(timeout=20)
        total = time.monotonic() - t0
    assert r.body == body
    assert first < total * 0.6, "first 300 KB after %.2fs of %.2fs" % (first, total)


@test
def waiters_are_streamed_while_the_origin_sends():
    o, e = origin(), edge()
    body = b"s" * 10000  # 10 chunks, 0.15 s apart: the origin takes ~1.5 s
    o.set("/stream", 200, {"Cache-Control": "max-age=60"}, body, chunked=True, chunk_delay=0.15)
    conns = [hslib.Conn(e.port, timeout=10) for _ in range(3)]
    try:
        for c in conns:
            c.send(hslib.build_request("GET", "/stream"))
        t0 = time.monotonic()
        for c in conns:  # every waiter has its head long before the origin is done
            while b"\r\n\r\n" not in c.buf:
                c._fill(t0 + 5)
        first = time.monotonic() - t0
        rs = [c.read_response() for c in conns]
        total = time.monotonic() - t0
    finally:
        for c in conns:
            c.close()
    assert all(r.body == body for r in rs)
    assert first < 0.8 and total > 1.0, "heads after %.2fs, all after %.2fs" % (first, total)
    assert o.count("/stream") == 1


@test
def origin_connections_are_reused():
    o, e = origin(), edge()
    for i in range(5):
        o.set("/ka%d" % i, 200, {"Cache-Control": "no-store"}, b"k")
        get(e, "/ka%d" % i)
    m = hslib.http_get(e.admin_port, "/metrics").body.decode()
    reused = [ln for ln in m.splitlines() if ln.startswith("hs_upstream_connections_reused_total")]
    assert reused and float(reused[0].split()[-1]) >= 4, reused


@test
def http10_client_gets_close_delimited_stream():
    o, e = origin(), edge()
    o.set("/h10", 200, {"Cache-Control": "max-age=60"}, b"x" * 3000, chunked=True)
    with hslib.Conn(e.port) as c:
        r = c.request("GET", "/h10", version="HTTP/1.0")
    assert r.status == 200 and r.body == b"x" * 3000, r


@test
def several_workers():
    o = origin()
    e = edgelib.start_edge(o, workers=2, name="edge-2w")
    o.set("/w2", 200, {"Cache-Control": "max-age=60"}, b"w")
    for _ in range(10):
        r = get(e, "/w2")
        assert r.status == 200 and r.body == b"w"
    assert 1 <= o.count("/w2") <= 2, o.count("/w2")  # one cache per worker thread


class GatedOrigin:
    """A raw origin for the cross-thread coalescing tests: every request is
    counted, and answered with a chunked 200 whose first part goes out at
    once and whose rest waits for `release`. A client holding bytes of the
    first part before the release was streamed while the origin was still
    sending."""

    def __init__(self, first, rest, headers):
        import socket
        import threading
        self.first, self.rest, self.headers = first, rest, headers
        self.count = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    data = c.recv(65536)
                    if not data:
                        return
                    buf += data
                _, _, buf = buf.partition(b"\r\n\r\n")
                with self.lock:
                    self.count += 1
                head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + "".join(
                    "%s: %s\r\n" % kv for kv in self.headers.items()) + "\r\n"
                c.sendall(head.encode() + b"%x\r\n%s\r\n" % (len(self.first), self.first))
                self.release.wait(60)
                c.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(self.rest), self.rest))
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.release.set()
        self.sock.close()


def _metric(e, series):
    m = hslib.http_get(e.admin_port, "/metrics").body.decode()
    v = [ln for ln in m.splitlines() if ln.startswith(series + " ")]
    return float(v[0].split()[-1]) if v else None


@test
def cold_object_one_origin_request_across_worker_threads():
    """Issue 5: 400 concurrent requests for one cold object, spread by
    SO_REUSEPORT over two worker threads, make exactly one origin request;
    the other thread's waiters get the body streamed from it."""
    first, rest = os.urandom(16000), os.urandom(48000)
    o = GatedOrigin(first, rest, {"Cache-Control": "max-age=60", "ETag": '"g1"'})
    e = edgelib.start_edge(o, workers=2, admin=True, name="edge-xthread")
    n = 400
    m = edgelib.ManyGets(e.port, "/xt", n)
    try:
        def body_len(s):
            return len(m.bufs[s].partition(b"\r\n\r\n")[2])

        def streamed(done):  # head and most of the first part, everywhere
            return all(body_len(s) >= 8000 for s in m.socks)
        m.pump(streamed, time.monotonic() + 30)
        short = sum(1 for s in m.socks if body_len(s) < 8000)
        assert short == 0, "%d of %d clients got no streamed bytes before the origin finished" % (
            short, n)
        assert o.count == 1, "origin got %d requests" % o.count
        o.release.set()
        done = m.pump(lambda d: len(d) == n, time.monotonic() + 30)
        assert len(done) == n, "%d connections did not finish" % (n - len(done))
        for s in m.socks:
            st, h, b = edgelib.parse_raw(m.raw(s))
            assert st == 200 and b == first + rest, (st, h, len(b))
            assert h.get("x-cache") == "MISS", h
    finally:
        m.close()
    assert o.count == 1, "origin got %d requests" % o.count
    # Both threads had waiters and each stored the object in its own tier:
    # later requests on either thread are hits.
    assert _metric(e, 'hs_edge_cache_objects{tier="memory"}') == 2
    for _ in range(8):
        r = get(e, "/xt")
        assert r.status == 200 and r.body == first + rest and xcache(r) == "HIT", xcache(r)
    assert o.count == 1
    e.stop()
    o.stop()


@test
def uncacheable_answer_releases_waiters_on_every_thread():
    o = origin()
    o.set("/xtpriv", 200, {"Cache-Control": "private"}, b"p", delay=0.5)
    e = edgelib.start_edge(o, workers=2, name="edge-xthread-priv")
    raws = edgelib.concurrent_gets(e.port, "/xtpriv", 40, timeout=20)
    assert all(r is not None and edgelib.parse_raw(r)[2] == b"p" for r in raws)
    # each waiter (on either thread) made its own request
    assert o.count("/xtpriv") == 40, o.count("/xtpriv")
    # hit-for-miss on both threads: the next ones go straight to the origin
    raws = edgelib.concurrent_gets(e.port, "/xtpriv", 40, timeout=20)
    assert all(r is not None and edgelib.parse_raw(r)[2] == b"p" for r in raws)
    assert o.count("/xtpriv") == 80, o.count("/xtpriv")
    e.stop()


@test
def metrics_count_by_x_cache():
    o, e = origin(), edge()
    o.set("/met", 200, {"Cache-Control": "max-age=60"}, b"m" * 100)
    get(e, "/met")
    get(e, "/met")
    m = hslib.http_get(e.admin_port, "/metrics").body.decode()
    hit = [ln for ln in m.splitlines() if ln.startswith('hs_edge_requests_total{cache="HIT"}')]
    assert hit and float(hit[0].split()[-1]) >= 1, hit
    b = [ln for ln in m.splitlines() if ln.startswith('hs_edge_response_bytes_total{cache="HIT"}')]
    assert b and float(b[0].split()[-1]) >= 100, b
    mh = [ln for ln in m.splitlines() if ln.startswith('hs_edge_hits_total{tier="memory"}')]
    assert mh and float(mh[0].split()[-1]) >= 1, mh
    assert "hs_edge_origin_seconds" in m and "hs_edge_origin_requests_total" in m


# ---- purge ------------------------------------------------------------------------------

TOKEN = "s3cret-token"


def purge_edge(workers=1):
    return hslib.shared("edge-purge-%d" % workers, lambda: edgelib.start_edge(
        origin(), workers=workers, sets=["edge.purge_token=" + TOKEN],
        name="edge-purge-%d" % workers))


def purge(e, path, **hdrs):
    h = {"Purge-Token": TOKEN}
    h.update({k.replace("_", "-"): v for k, v in hdrs.items()})
    return get(e, path, h, method="PURGE")


def warm(e, path, conns=6):
    """GETs on several connections, so both worker threads likely store it."""
    for _ in range(conns):
        get(e, path)


@test
def purge_url_on_every_thread():
    o, e = origin(), purge_edge(workers=2)
    o.set("/p/url", 200, {"Cache-Control": "max-age=60"}, b"v1")
    warm(e, "/p/url")
    n = o.count("/p/url")
    r = purge(e, "/p/url")
    assert r.status == 200, (r.status, r.body)
    # one object per thread that holds it: a thread that fetched it, or
    # that joined another thread's fetch (one origin request, two copies)
    purged = json.loads(r.body)["purged"]
    assert n <= purged <= 2, (r.body, n)
    o.set("/p/url", 200, {"Cache-Control": "max-age=60"}, b"v2")
    for _ in range(6):  # whichever thread answers, the old body is gone
        assert get(e, "/p/url").body == b"v2"


@test
def purge_prefix_and_surrogate_keys():
    o, e = origin(), purge_edge()
    o.set("/p/pre/a", 200, {"Cache-Control": "max-age=60", "Surrogate-Key": "k1 k2"}, b"a")
    o.set("/p/pre/b", 200, {"Cache-Control": "max-age=60", "Cache-Tag": "k2,k3"}, b"b")
    o.set("/p/other", 200, {"Cache-Control": "max-age=60", "Surrogate-Key": "k3"}, b"c")
    for p in ("/p/pre/a", "/p/pre/b", "/p/other"):
        r = get(e, p)
        assert r.header("Surrogate-Key") is None and r.header("Cache-Tag") is None, r.headers
    # by surrogate key: k1 is only on /p/pre/a
    r = purge(e, "/", Purge_Type="key", Purge_Key="k1")
    assert r.status == 200 and b'"purged":1' in r.body, r.body
    before = o.count("/p/pre/a")
    get(e, "/p/pre/a")
    assert o.count("/p/pre/a") == before + 1
    # k3 reaches the Cache-Tag and the Surrogate-Key object
    r = purge(e, "/", Purge_Type="key", Purge_Key="k3")
    assert r.status == 200 and b'"purged":2' in r.body, r.body
    # by prefix
    get(e, "/p/pre/a")
    get(e, "/p/pre/b")
    r = purge(e, "/p/pre/", Purge_Type="prefix")
    assert r.status == 200 and b'"purged":2' in r.body, r.body


@test
def purge_soft_marks_stale():
    o, e = origin(), purge_edge()
    o.set("/p/soft", _validating_route('"s1"', b"soft"))
    get(e, "/p/soft")
    r = purge(e, "/p/soft", Purge_Soft="1")
    assert r.status == 200 and b'"soft":true' in r.body, r.body
    # the copy is kept but revalidated (the origin answers 304)
    expect(get(e, "/p/soft"), 200, "REVALIDATED", b"soft")
    assert o.last("/p/soft").header("If-None-Match") == '"s1"'
    assert o.count("/p/soft") == 2
    expect(get(e, "/p/soft"), 200, "HIT", b"soft")


@test
def purge_needs_the_token():
    o, e = origin(), purge_edge()
    r = get(e, "/p/url", {"Purge-Token": "wrong"}, method="PURGE")
    assert r.status == 403, r.status
    r = get(e, "/p/url", method="PURGE")
    assert r.status == 403, r.status
    r = purge(e, "/p/url", Purge_Type="bogus")
    assert r.status == 400, r.status
    r = get(edge(), "/p/url", {"Purge-Token": TOKEN}, method="PURGE")
    assert r.status == 405, r.status  # the default edge has no token: PURGE is off


def admin_purge_edge():
    return hslib.shared("edge-purge-admin", lambda: edgelib.start_edge(
        origin(), workers=2, sets=["edge.purge_token=" + TOKEN], admin=True,
        name="edge-purge-admin"))


def admin_purge(e, query, token=TOKEN, method="POST", header="Authorization"):
    h = {}
    if token is not None:
        h[header] = ("Bearer " + token) if header == "Authorization" else token
    return hslib.http_get(e.admin_port, "/admin/purge?" + query, h, method=method)


@test
def admin_purge_url_on_every_thread():
    o, e = origin(), admin_purge_edge()
    o.set("/ap/url?x=1", 200, {"Cache-Control": "max-age=60"}, b"v1")
    warm(e, "/ap/url?x=1")
    n = o.count("/ap/url?x=1")
    r = admin_purge(e, "url=%2Fap%2Furl%3Fx%3D1&host=localhost")
    assert r.status == 200, (r.status, r.body)
    assert r.header("Content-Type") == "application/json", r.headers
    # one object per thread that holds it (a thread may join another's fetch)
    j = json.loads(r.body)
    assert n <= j["purged"] <= 2 and j["purged_disk"] == 0, (r.body, n)
    o.set("/ap/url?x=1", 200, {"Cache-Control": "max-age=60"}, b"v2")
    for _ in range(6):  # whichever thread answers, the old body is gone
        assert get(e, "/ap/url?x=1").body == b"v2"
    # an absolute URL names the host itself (any case); Purge-Token works too
    r = admin_purge(e, "url=http://LocalHost/ap/url%3Fx%3D1", header="Purge-Token")
    assert r.status == 200 and b'"purged":0' not in r.body, r.body
    # nothing cached there any more
    r = admin_purge(e, "url=/ap/url%3Fx%3D1&host=localhost")
    assert r.status == 200 and b'"purged":0,' in r.body, r.body


@test
def admin_purge_prefix_and_tags():
    o, e = origin(), admin_purge_edge()
    o.set("/ap/pre/a", 200, {"Cache-Control": "max-age=60", "Surrogate-Key": "ak1 ak2"}, b"a")
    o.set("/ap/pre/b", 200, {"Cache-Control": "max-age=60", "Cache-Tag": "ak2,ak3"}, b"b")
    o.set("/ap/other", 200, {"Cache-Control": "max-age=60", "Surrogate-Key": "ak4"}, b"c")
    with hslib.Conn(e.port) as c:  # one connection: one thread holds each object once
        for p in ("/ap/pre/a", "/ap/pre/b", "/ap/other"):
            assert c.request("GET", p).status == 200
        r = admin_purge(e, "tag=ak1&tag=ak4")  # repeated
        assert r.status == 200 and b'"purged":2' in r.body, r.body
        before = o.count("/ap/other")
        c.request("GET", "/ap/other")
        assert o.count("/ap/other") == before + 1
        r = admin_purge(e, "tag=ak3,nosuch")  # comma-separated
        assert r.status == 200 and b'"purged":1' in r.body, r.body
        c.request("GET", "/ap/pre/a")
        c.request("GET", "/ap/pre/b")
        r = admin_purge(e, "prefix=/ap/pre/&host=localhost")
        assert r.status == 200 and b'"purged":2' in r.body, r.body


@test
def admin_purge_soft_marks_stale():
    o, e = origin(), admin_purge_edge()
    o.set("/ap/soft", _validating_route('"s2"', b"soft"))
    with hslib.Conn(e.port) as c:
        c.request("GET", "/ap/soft")
        r = admin_purge(e, "url=/ap/soft&host=localhost&soft=1")
        assert r.status == 200 and b'"purged":1' in r.body and b'"soft":true' in r.body, r.body
        r = c.request("GET", "/ap/soft")
        assert r.status == 200 and r.header("X-Cache") == "REVALIDATED", r.headers
        assert o.last("/ap/soft").header("If-None-Match") == '"s2"'


@test
def admin_purge_refusals():
    e = admin_purge_edge()
    assert admin_purge(e, "url=/x&host=localhost", token="wrong").status == 401
    assert admin_purge(e, "url=/x&host=localhost", token=None).status == 401
    assert admin_purge(e, "url=/x&host=localhost", token="wrong", header="Purge-Token").status == 401
    assert admin_purge(e, "url=/x&host=localhost", method="GET").status == 405
    for q in ("", "soft=1", "host=localhost", "url=/x", "url=x&host=localhost",
              "url=/x&tag=t&host=localhost", "tag=%zz", "bogus=1&tag=t", "soft=2&tag=t",
              "tag=" + ",".join("t%d" % i for i in range(17))):
        r = admin_purge(e, q)
        assert r.status == 400 and r.body.startswith(b'{"error":'), (q, r.status, r.body)
    # the default edge has no token: purging is off
    r = admin_purge(edge(), "url=/x&host=localhost")
    assert r.status == 404 and b"disabled" in r.body, (r.status, r.body)
    # the admin endpoint still answers its other paths
    assert hslib.http_get(e.admin_port, "/healthz").status == 200


# ---- disk tier --------------------------------------------------------------------------

def disk_files(d):
    out = []
    for root, _, names in os.walk(d):
        out += [os.path.join(root, n) for n in names if n.endswith(".hso")]
    return out


def metric(e, name):
    m = hslib.http_get(e.admin_port, "/metrics").body.decode()
    for ln in m.splitlines():
        if ln.startswith(name + " ") or ln.startswith(name + "{"):
            return float(ln.split()[-1])
    return None


@test
def disk_serves_objects_evicted_from_memory():
    o = origin()
    d = hslib.tmpdir()
    e = edgelib.start_edge(o, sets=["edge.memory_bytes=32k", "edge.disk_path=" + d], admin=True,
                           name="edge-disk")
    for i in range(30):
        o.set("/d/%d" % i, 200, {"Cache-Control": "max-age=60", "ETag": '"e%d"' % i},
              ("%04d" % i).encode() * 1000)
        get(e, "/d/%d" % i)
    assert edgelib.wait_until(lambda: len(disk_files(d)) == 30), len(disk_files(d))
    assert metric(e, 'hs_edge_evictions_total{tier="memory"}') > 0
    for i in range(30):
        r = get(e, "/d/%d" % i)
        expect(r, 200, "HIT", ("%04d" % i).encode() * 1000)
        assert o.count("/d/%d" % i) == 1, (i, o.count("/d/%d" % i))
    assert metric(e, "hs_edge_disk_reads_total") > 0
    # every hit is counted once, by the tier that held the object
    mem, disk = metric(e, 'hs_edge_hits_total{tier="memory"}'), metric(e, 'hs_edge_hits_total{tier="disk"}')
    assert disk > 0 and mem + disk == 30 == metric(e, 'hs_edge_requests_total{cache="HIT"}'), (mem, disk)
    # a Range from an object that came back from disk
    r = get(e, "/d/0", {"Range": "bytes=0-3"})
    assert r.status == 206 and r.body == b"0000"


@test
def disk_tier_survives_a_restart_and_purges_reach_it():
    o = origin()
    d = hslib.tmpdir()
    sets = ["edge.disk_path=" + d, "edge.purge_token=" + TOKEN]
    o.set("/dk/keep", 200, {"Cache-Control": "max-age=60", "Surrogate-Key": "kk"}, b"kept")
    o.set("/dk/gone", 200, {"Cache-Control": "max-age=60"}, b"gone")
    e = edgelib.start_edge(o, sets=sets, admin=True, name="edge-disk1")
    get(e, "/dk/keep")
    get(e, "/dk/gone")
    # both written and indexed (a purge drops writes still in flight)
    assert edgelib.wait_until(lambda: metric(e, 'hs_edge_cache_objects{tier="disk"}') == 2)
    r = purge(e, "/dk/gone")
    assert r.status == 200 and b'"purged":1' in r.body, r.body
    assert edgelib.wait_until(lambda: len(disk_files(d)) == 1)
    e.stop()
    e = edgelib.start_edge(o, sets=sets, name="edge-disk2")
    r = get(e, "/dk/keep")
    expect(r, 200, "HIT", b"kept")
    assert o.count("/dk/keep") == 1
    expect(get(e, "/dk/gone"), 200, "MISS", b"gone")
    assert o.count("/dk/gone") == 2, o.count("/dk/gone")
    # a corrupt file is dropped, not served
    e.stop()
    for f in disk_files(d):
        with open(f, "r+b") as fh:
            fh.seek(-1, 2)
            fh.write(b"#")
    e = edgelib.start_edge(o, sets=sets, name="edge-disk3")
    r = get(e, "/dk/keep")
    assert r.status == 200 and r.body == b"kept" and xcache(r) == "MISS", (xcache(r), r.body)


def _big_body(i, n=100 * 1024):
    # distinct bytes at every offset, so a wrong file offset shows
    return bytes((i * 7 + k * 31 + (k >> 8)) & 0xFF for k in range(n))


@test
def large_disk_hits_are_sent_from_their_files():
    o = origin()
    d = hslib.tmpdir()
    sets = ["edge.memory_bytes=160k", "edge.disk_path=" + d]
    bodies = {}
    for i in range(4):
        bodies[i] = _big_body(i)
        o.set("/big/%d" % i, 200, {"Cache-Control": "max-age=600", "ETag": '"b%d"' % i},
              bodies[i])
    e = edgelib.start_edge(o, sets=sets, admin=True, name="edge-bigdisk1")
    for i in range(4):
        expect(get(e, "/big/%d" % i), 200, "MISS", bodies[i])
    assert edgelib.wait_until(lambda: len(disk_files(d)) == 4), len(disk_files(d))

    def check_all(e):
        for _ in range(2):  # the first use of a file checks it whole, later ones open it
            for i in range(4):
                r = get(e, "/big/%d" % i)
                expect(r, 200, "HIT", bodies[i])
                assert r.header("ETag") == '"b%d"' % i
            r = get(e, "/big/1", {"Range": "bytes=50000-50099"})
            assert r.status == 206 and r.body == bodies[1][50000:50100], (r.status, len(r.body))
            assert r.header("Content-Range") == "bytes 50000-50099/102400", r.header("Content-Range")
            r = get(e, "/big/2", {"Range": "bytes=-10"})
            assert r.status == 206 and r.body == bodies[2][-10:]
            r = get(e, "/big/3", {"Range": "bytes=0-9,60000-79999"})  # parts from the file
            _expect_multipart(r.status, {"content-type": r.header("Content-Type"),
                                         "content-length": r.header("Content-Length")},
                              r.body, bodies[3], [(0, 9), (60000, 79999)], None)
            r = get(e, "/big/0", method="HEAD")
            assert r.status == 200 and r.body == b"" and r.header("Content-Length") == "102400"
        for i in range(4):
            assert o.count("/big/%d" % i) == 1, (i, o.count("/big/%d" % i))

    check_all(e)
    # three of the four only live on disk: served from there every time
    # (a 100 KiB body is not copied back into memory on each hit)
    assert metric(e, "hs_edge_disk_reads_total") >= 12, metric(e, "hs_edge_disk_reads_total")
    e.stop()
    e = edgelib.start_edge(o, sets=sets, admin=True, name="edge-bigdisk2")
    check_all(e)

    # a byte changed in a file already checked and served: never sent
    f = sorted(disk_files(d))[0]  # ids grow: the first object written
    with open(f, "r+b") as fh:
        fh.seek(-60000, 2)
        fh.write(b"\x00\x01\x02")
    r = get(e, "/big/0")
    assert r.status == 200 and r.body == bodies[0] and xcache(r) == "MISS", (xcache(r), r.status)
    assert o.count("/big/0") == 2
    expect(get(e, "/big/0"), 200, "HIT", bodies[0])
    e.stop()


@test
def revalidated_disk_object_sent_from_its_file_is_refreshed():
    # A 100 KiB body on disk is sent from its file and never held in memory:
    # a 304 must refresh the disk entry itself (and its file, for a restart).
    o = origin()
    d = hslib.tmpdir()
    sets = ["edge.memory_bytes=160k", "edge.disk_path=" + d]
    body = _big_body(9)
    cond = {"n": 0}

    def route(seen):
        if seen.header("If-None-Match") == '"r1"':
            cond["n"] += 1
            return edgelib.Answer(304, {"ETag": '"r1"', "Cache-Control": "max-age=60",
                                        "X-Version": "2"})
        return edgelib.Answer(200, {"ETag": '"r1"', "Cache-Control": "max-age=1",
                                    "X-Version": "1"}, body)
    o.set("/rv/big", route)
    e = edgelib.start_edge(o, sets=sets, admin=True, name="edge-rvdisk1")
    expect(get(e, "/rv/big"), 200, "MISS", body)
    assert edgelib.wait_until(lambda: len(disk_files(d)) == 1), disk_files(d)
    first = disk_files(d)[0]
    e.stop()
    time.sleep(2.1)  # past max-age=1
    # after a restart a large body is only on disk
    e = edgelib.start_edge(o, sets=sets, admin=True, name="edge-rvdisk2")
    r = get(e, "/rv/big")
    expect(r, 200, "REVALIDATED", body)
    assert r.header("X-Version") == "2", r.headers
    assert cond["n"] == 1 and o.count("/rv/big") == 2, (cond["n"], o.count("/rv/big"))
    for _ in range(3):
        expect(get(e, "/rv/big"), 200, "HIT", body)
    assert o.count("/rv/big") == 2, o.count("/rv/big")
    assert metric(e, 'hs_edge_cache_objects{tier="memory"}') == 0
    # the file is replaced by one with the merged headers and new freshness
    # (the new file is written before the old one is removed)
    assert edgelib.wait_until(lambda: len(disk_files(d)) == 1 and disk_files(d) != [first]), disk_files(d)
    r = get(e, "/rv/big")
    expect(r, 200, "HIT", body)
    assert r.header("X-Version") == "2", r.headers
    assert r.header("Cache-Control") == "max-age=60", r.headers
    e.stop()
    e = edgelib.start_edge(o, sets=sets, admin=True, name="edge-rvdisk3")
    for _ in range(2):
        r = get(e, "/rv/big")
        expect(r, 200, "HIT", body)
        assert r.header("X-Version") == "2", r.headers
    assert o.count("/rv/big") == 2 and cond["n"] == 1, (o.count("/rv/big"), cond["n"])
    e.stop()


# ---- revalidation shared across worker threads (issue 5) -------------------

class GatedRevalidation:
    """An origin route for the cross-thread revalidation tests: plain GETs
    get the current version at once (slowly enough for a herd to meet);
    conditional ones are recorded and held until `gate` is set, then get a
    304 when their If-None-Match is the current ETag, else the current
    version (or always the current version with full=True, a 503 with
    fail=True)."""

    def __init__(self, etag, body, cc="max-age=60", full=False, fail=False):
        import threading
        self.etag, self.body, self.cc, self.full, self.fail = etag, body, cc, full, fail
        self.conds = []
        self.gate = threading.Event()

    def __call__(self, seen):
        inm = seen.header("If-None-Match")
        if inm is None:
            return edgelib.Answer(200, {"ETag": self.etag, "Cache-Control": self.cc}, self.body,
                                  delay=0.3)
        self.conds.append(inm)
        self.gate.wait(30)
        if self.fail:
            return edgelib.Answer(503, {"Content-Type": "text/plain"}, b"down")
        if inm == self.etag and not self.full:
            return edgelib.Answer(304, {"ETag": self.etag, "Cache-Control": self.cc,
                                        "X-Fresh": "yes"})
        return edgelib.Answer(200, {"ETag": self.etag, "Cache-Control": self.cc}, self.body)


def _reval_edge(name):
    return edgelib.start_edge(origin(), workers=2, admin=True,
                              sets=["edge.purge_token=" + TOKEN], name=name)


def _objects(e):
    return _metric(e, 'hs_edge_cache_objects{tier="memory"}')


def _warm_both(e, path):
    """A cold herd (shared across threads: both store it), then single GETs
    until both worker threads hold the object."""
    edgelib.concurrent_gets(e.port, path, 40)
    for _ in range(60):
        if _objects(e) == 2:
            break
        get(e, path)
    assert _objects(e) == 2, _objects(e)


def _stale_herd(e, route, path, n, conds=1, joins=None):
    """Marks path stale on every thread, sends n GETs on n connections,
    waits until `joins` (default: all but the `conds` first) waited on
    another's revalidation, or more than `conds` conditional requests show
    they did not, then lets the origin answer. Returns the parsed answers."""
    joins = n - conds if joins is None else joins
    assert purge(e, path, Purge_Soft="1").status == 200
    base = _metric(e, "hs_edge_coalesced_total")
    m = edgelib.ManyGets(e.port, path, n)
    try:
        edgelib.wait_until(lambda: _metric(e, "hs_edge_coalesced_total") - base >= joins or
                           len(route.conds) > conds, timeout=30)
        route.gate.set()
        done = m.pump(lambda d: len(d) == n, time.monotonic() + 30)
        assert len(done) == n, "%d connections did not finish" % (n - len(done))
        return [edgelib.parse_raw(m.raw(s)) for s in m.socks]
    finally:
        m.close()


@test
def stale_object_one_conditional_request_across_worker_threads():
    """Issue 5: both worker threads hold a stale object; a herd on it makes
    one conditional request, and every thread merges its 304."""
    o, e = origin(), _reval_edge("edge-xreval")
    route = GatedRevalidation('"x1"', b"x" * 5000)
    o.set("/xr/304", route)
    _warm_both(e, "/xr/304")
    answers = _stale_herd(e, route, "/xr/304", 60)
    assert route.conds == ['"x1"'], route.conds
    for st, h, b in answers:
        assert st == 200 and b == b"x" * 5000, (st, h, len(b))
        assert h.get("x-cache") == "REVALIDATED" and h.get("x-fresh") == "yes", h
    for _ in range(10):  # fresh again on both threads, with the merged fields
        r = get(e, "/xr/304")
        expect(r, 200, "HIT", b"x" * 5000)
        assert r.header("X-Fresh") == "yes", r.headers
    assert len(route.conds) == 1 and _objects(e) == 2
    e.stop()


@test
def stale_versions_differ_across_threads_no_sharing():
    o, e = origin(), _reval_edge("edge-xreval-ver")
    route = GatedRevalidation('"v1"', b"one")
    o.set("/xr/ver", route)
    expect(get(e, "/xr/ver"), 200, "MISS", b"one")  # one thread holds v1
    route.etag, route.body = '"v2"', b"two"
    for _ in range(100):  # until a connection lands on the other thread
        r = get(e, "/xr/ver")
        if xcache(r) == "MISS":
            break
    expect(r, 200, "MISS", b"two")
    assert _objects(e) == 2
    answers = _stale_herd(e, route, "/xr/ver", 40, conds=2)
    # each thread asked about its own version: the v2 one got a 304, v1 the new body
    assert sorted(route.conds) == ['"v1"', '"v2"'], route.conds
    for st, h, b in answers:
        assert st == 200 and b == b"two", (st, h, b)
        assert h.get("x-cache") in ("REVALIDATED", "EXPIRED"), h
    for _ in range(10):
        expect(get(e, "/xr/ver"), 200, "HIT", b"two")
    assert len(route.conds) == 2
    e.stop()


@test
def stale_object_full_answer_shared_across_threads():
    o, e = origin(), _reval_edge("edge-xreval-200")
    route = GatedRevalidation('"n1"', b"old" * 1000, full=True)
    o.set("/xr/200", route)
    _warm_both(e, "/xr/200")
    route.etag, route.body = '"n2"', b"new" * 3000
    answers = _stale_herd(e, route, "/xr/200", 60)
    assert route.conds == ['"n1"'], route.conds
    for st, h, b in answers:
        assert st == 200 and b == b"new" * 3000, (st, h, len(b))
        assert h.get("x-cache") == "EXPIRED" and h.get("etag") == '"n2"', h
    assert _objects(e) == 2  # both threads stored the new version
    for _ in range(10):
        expect(get(e, "/xr/200"), 200, "HIT", b"new" * 3000)
    assert len(route.conds) == 1
    e.stop()


@test
def stale_if_error_after_a_shared_revalidation():
    o, e = origin(), _reval_edge("edge-xreval-sie")
    route = GatedRevalidation('"f1"', b"kept", cc="max-age=60, stale-if-error=600", fail=True)
    o.set("/xr/sie", route)
    _warm_both(e, "/xr/sie")
    answers = _stale_herd(e, route, "/xr/sie", 40)
    assert route.conds == ['"f1"'], route.conds
    for st, h, b in answers:  # on either thread, from that thread's own copy
        assert st == 200 and b == b"kept" and h.get("x-cache") == "STALE", (st, h, b)
    e.stop()


@test
def background_revalidation_shared_across_threads():
    o, e = origin(), _reval_edge("edge-xreval-swr")
    route = GatedRevalidation('"b1"', b"bg", cc="max-age=60, stale-while-revalidate=60")
    o.set("/xr/swr", route)
    _warm_both(e, "/xr/swr")
    n = 40
    # served at once; the one background revalidation of each thread: the
    # second joins the first
    answers = _stale_herd(e, route, "/xr/swr", n, conds=1, joins=1)
    # the gate opens once one thread joined the other's, so requests that
    # arrive after the 304 was merged are plain hits
    for st, h, b in answers:
        assert st == 200 and b == b"bg" and h.get("x-cache") in ("STALE", "HIT"), (st, h, b)
    assert any(h.get("x-cache") == "STALE" for _, h, _ in answers)
    assert edgelib.wait_until(
        lambda: all(xcache(get(e, "/xr/swr")) == "HIT" for _ in range(6)), timeout=20)
    assert route.conds == ['"b1"'], route.conds
    e.stop()


@test
def cli_rejects_bad_origin():
    r = hslib.run_hs("edge", "--origin", "https://example.com:443")
    assert r.returncode == 2 and "origin" in r.stderr, (r.returncode, r.stderr)
    r = hslib.run_hs("edge")
    assert r.returncode == 2 and "origin" in r.stderr


if __name__ == "__main__":
    hslib.run()
