"""End-to-end tests of `hyperscale bench`, the load generator: runs against
`hyperscale static` and against a scriptable Python origin (in this
process) that can stall once, answer 500, close connections mid-exchange,
tag answers with X-Cache, and store PUTs. Checks the JSON report's figures
against what the origin saw, the HTML report's structure, error counting,
and the CLI's errors. No assertion depends on the machine's speed: the
stall test compares counts that a one-second stall forces whatever the
speed (the open loop's samples during the stall, the closed loop's few)."""

import html.parser
import http.server
import json
import os
import re
import socketserver
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hslib  # noqa: E402
from hslib import test  # noqa: E402


# ---- a scriptable origin ----------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body go out in two writes

    def log_message(self, *args):
        pass

    def _answer(self):
        o = self.server.origin
        n = o.count()
        body = b""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length)
        with o.lock:  # one request at a time: a stall stalls the whole server
            if o.stall_at is not None and n == o.stall_at:
                time.sleep(o.stall_s)
            m = re.search(r"(\d+)$", self.path)
            num = int(m.group(1)) if m else 0
            if self.command == "PUT":
                o.puts.append((self.path, len(body)))
            mode = o.mode
            if mode == "errors" and num % 3 == 0:
                self._send(500, b"boom")
            elif mode == "errors" and num % 3 == 1:
                # close without an answer: the client sees a reset/EOF
                self.close_connection = True
                self.wfile.flush()
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
            else:
                xc = None
                if mode == "xcache":
                    xc = "HIT" if num % 2 == 0 else "MISS"
                self._send(200, b"x" * 100, xc)

    def _send(self, status, body, xcache=None):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if xcache:
            self.send_header("X-Cache", xcache)
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_PUT = _answer


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class Origin:
    def __init__(self, mode="ok", stall_at=None, stall_s=1.0):
        self.mode = mode
        self.stall_at = stall_at
        self.stall_s = stall_s
        self.lock = threading.Lock()
        self._n = 0
        self._nlock = threading.Lock()
        self.puts = []
        self.srv = _Server(("127.0.0.1", 0), _Handler)
        self.srv.origin = self
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self._nlock:
            self._n += 1
            return self._n

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# ---- running the generator ----------------------------------------------------

def bench(*args, timeout=60):
    d = hslib.tmpdir("hs-bench-")
    jf = os.path.join(d, "r.json")
    p = hslib.run_hs("bench", "--quiet", "--json", jf, *args, timeout=timeout)
    assert p.returncode == 0, "bench exit %d\nstdout: %s\nstderr: %s" % (p.returncode, p.stdout, p.stderr)
    with open(jf) as f:
        return json.load(f), p


def slow_samples(rep, ms):
    """Latency samples at or above ms, from the histogram buckets."""
    lo_ns = ms * 1e6
    return sum(c for lo, hi, c in rep["histogram"]["buckets"] if lo >= lo_ns)


def check_report(rep):
    """Invariants every JSON report holds."""
    lat = rep["latency_ms"]
    assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"], lat
    assert lat["count"] == rep["requests"]["answered"], (lat, rep["requests"])
    buckets = rep["histogram"]["buckets"]
    assert sum(c for _, _, c in buckets) == lat["count"]
    assert all(lo <= hi for lo, hi, _ in buckets)
    assert [b[0] for b in buckets] == sorted(b[0] for b in buckets)
    errs = rep["errors"]
    assert errs["total"] == sum(v for k, v in errs.items() if k != "total"), errs
    st = rep["status"]
    assert sum(st.values()) == rep["requests"]["answered"], st
    assert sum(p["requests"] for p in rep["series"]) == rep["requests"]["answered"]
    assert sum(p["sent"] for p in rep["series"]) == rep["requests"]["sent"]
    pct = rep["percentiles"]
    assert pct[0][0] == 0 and pct[-1][0] == 100
    assert all(a[1] <= b[1] for a, b in zip(pct, pct[1:]))


class _HTMLCheck(html.parser.HTMLParser):
    VOID = {"meta", "br", "img", "link", "input", "hr"}

    def __init__(self):
        super().__init__()
        self.stack = []
        self.tags = {}
        self.problems = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for k, v in attrs:
            if k in ("src", "href") or (v and re.match(r"\s*(https?:)?//", v) and k != "xmlns"):
                self.problems.append("external reference %s=%r in <%s>" % (k, v, tag))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append("</%s> closes %r" % (tag, self.stack[-1:] or None))
            return
        self.stack.pop()


def check_html(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert text.startswith("<!DOCTYPE html>")
    p = _HTMLCheck()
    p.feed(text)
    p.close()
    assert not p.problems, p.problems[:5]
    assert not p.stack, "unclosed tags: %r" % p.stack
    assert p.tags.get("svg", 0) >= 3, p.tags
    assert p.tags.get("polyline", 0) >= 3, p.tags
    assert "script" not in p.tags and "link" not in p.tags, p.tags
    for want in ("Latency percentiles per second", "Throughput per second", "Latency by percentile"):
        assert want in text, want


# ---- tests ------------------------------------------------------------------

def static_server(objects=50, size=1000):
    root = hslib.tmpdir("hs-bench-root-")
    for i in range(objects):
        hslib.write(os.path.join(root, "bench", "obj-%06d" % i), b"y" * size)
    return hslib.start_static(root, workers=1)


@test
def open_loop_against_static():
    srv = static_server()
    d = hslib.tmpdir("hs-bench-")
    hf = os.path.join(d, "r.html")
    rep, p = bench("--target", "http://127.0.0.1:%d" % srv.port, "--rate", "400", "--duration", "2s",
                   "--connections", "4", "--threads", "2", "--objects", "50", "--html", hf)
    check_report(rep)
    # every scheduled request was sent and answered, whatever the speed
    assert rep["requests"]["sent"] == 800, rep["requests"]
    assert rep["requests"]["answered"] == 800, rep["requests"]
    assert rep["errors"]["total"] == 0, rep["errors"]
    assert rep["status"]["2xx"] == 800
    assert rep["throughput"]["bytes_in"] == 800 * 1000
    assert rep["config"]["mode"] == "open" and rep["rate"]["target"] == 400
    assert rep["rate"]["achieved"] > 0 and rep["rate"]["max_backlog"] >= 0
    assert rep["x_cache"]["hit_ratio"] is None and rep["x_cache"]["none"] == 800
    assert rep["config"]["url_pattern"] == "/bench/obj-{n:6}"
    assert len(rep["series"]) >= 2
    for k in ("p50_ms", "p99_ms", "max_ms", "errors", "bytes_in", "backlog"):
        assert k in rep["series"][0], k
    for k in ("target", "throughput", "latency"):
        assert k in p.stdout, p.stdout
    check_html(hf)


@test
def closed_loop_against_static():
    srv = static_server()
    rep, _ = bench("--target", "http://127.0.0.1:%d" % srv.port, "--closed", "--duration", "1s",
                   "--connections", "8", "--threads", "2", "--uniform", "--objects", "50")
    check_report(rep)
    assert rep["config"]["mode"] == "closed" and rep["rate"] is None
    assert rep["requests"]["answered"] > 8
    assert rep["errors"]["total"] == 0, rep["errors"]
    assert rep["config"]["popularity"] == "uniform"


@test
def large_bodies_are_counted_exactly():
    # bodies past the first 4 KiB are dropped in the kernel, not copied: the
    # byte count must still be exact, and every next answer on a kept-alive
    # connection must parse (a miscount would eat into it)
    size = 300 * 1024 + 7
    srv = static_server(objects=10, size=size)
    rep, _ = bench("--target", "http://127.0.0.1:%d" % srv.port, "--rate", "200", "--duration", "1s",
                   "--connections", "4", "--threads", "1", "--objects", "10")
    assert rep["errors"]["total"] == 0, rep["errors"]
    assert rep["requests"]["answered"] == 200 and rep["status"]["2xx"] == 200, rep["requests"]
    assert rep["throughput"]["bytes_in"] == 200 * size, rep["throughput"]


@test
def stall_shows_in_open_loop_only():
    conns = 4
    # open loop: 200 req/s for 3 s; the 100th request stalls the server 1 s
    with Origin(stall_at=100) as o:
        op, _ = bench("--target", o.url(), "--rate", "200", "--duration", "3s",
                      "--connections", str(conns), "--threads", "1")
    with Origin(stall_at=100) as o:
        cl, _ = bench("--target", o.url(), "--closed", "--duration", "3s",
                      "--connections", str(conns), "--threads", "1")
    check_report(op)
    check_report(cl)
    # the open loop sent its whole schedule and counted the ~200 requests due
    # during the stall as slow answers: p99 shows the stall
    assert op["requests"]["sent"] == 600, op["requests"]
    assert op["latency_ms"]["p99"] >= 500, op["latency_ms"]
    assert op["latency_ms"]["max"] >= 900, op["latency_ms"]
    assert slow_samples(op, 500) >= 50, slow_samples(op, 500)
    assert op["rate"]["max_backlog"] >= 50, op["rate"]
    # the closed loop waited with the server: only the requests that were in
    # flight saw the stall, the rest of that second was simply not sent
    assert cl["latency_ms"]["max"] >= 900, cl["latency_ms"]
    assert slow_samples(cl, 900) <= conns, slow_samples(cl, 900)


@test
def errors_by_kind():
    with Origin(mode="errors") as o:
        rep, p = bench("--target", o.url(), "--rate", "150", "--duration", "2s", "--connections", "4",
                       "--threads", "1", "--uniform", "--objects", "30", "--timeout", "5s")
    check_report(rep)
    e, st, req = rep["errors"], rep["status"], rep["requests"]
    assert e["http_5xx"] > 0 and e["http_5xx"] == st["5xx"], (e, st)
    assert e["reset"] > 0, e
    assert st["2xx"] > 0, st
    assert e["connect"] == 0 and e["timeout"] == 0 and e["http_4xx"] == 0, e
    # every request ends as an answer or a transport error, none lost
    transport = e["total"] - e["http_4xx"] - e["http_5xx"]
    assert req["answered"] + transport == req["sent"] == 300, (req, e)
    assert "errors" in p.stdout and "reset" in p.stdout and "http_5xx" in p.stdout, p.stdout


@test
def xcache_hit_ratio():
    with Origin(mode="xcache") as o:
        rep, p = bench("--target", o.url(), "--rate", "200", "--duration", "1s", "--connections", "2",
                       "--threads", "1", "--url-pattern", "/b/{n}", "--uniform", "--objects", "10")
    check_report(rep)
    xc = rep["x_cache"]
    assert xc["HIT"] + xc["MISS"] == rep["requests"]["answered"] == 200, xc
    assert xc["HIT"] > 0 and xc["MISS"] > 0, xc
    assert abs(xc["hit_ratio"] - xc["HIT"] / 200.0) < 1e-3, xc
    assert "hit ratio" in p.stdout


@test
def prepare_and_put_mix():
    with Origin() as o:
        rep, _ = bench("--target", o.url(), "--rate", "100", "--duration", "1s", "--connections", "2",
                       "--threads", "2", "--objects", "20", "--prepare", "--put-ratio", "0.5",
                       "--size-dist", "1k:1,2k:1", "--seed", "7")
        puts = list(o.puts)
    check_report(rep)
    assert rep["prepare"]["puts"] == 20 and rep["prepare"]["errors"] == 0, rep["prepare"]
    prepared = sorted(p for p, _ in puts[:20])
    assert prepared == ["/bench/obj-%06d" % i for i in range(20)], prepared
    assert all(n in (1024, 2048) for _, n in puts), set(n for _, n in puts)
    req = rep["requests"]
    assert req["put"] > 0 and req["get"] > 0 and req["put"] + req["get"] == req["sent"] == 100, req
    assert len(puts) == 20 + req["put"]
    assert rep["throughput"]["bytes_out"] == sum(n for _, n in puts[20:])


@test
def s3_signed_against_origin():
    import s3lib
    o = s3lib.Origin(workers=1).start()
    try:
        o.client().create_bucket(Bucket="bench")
        rep, _ = bench("--target", o.url, "--s3", "--access-key", s3lib.AK, "--secret-key", s3lib.SK,
                       "--rate", "100", "--duration", "1s", "--connections", "2", "--threads", "1",
                       "--objects", "20", "--prepare", "--put-ratio", "0.2", "--size", "3k")
        check_report(rep)
        assert rep["prepare"]["puts"] == 20 and rep["prepare"]["errors"] == 0, rep["prepare"]
        assert rep["errors"]["total"] == 0, rep["errors"]
        assert rep["status"]["2xx"] == 100, rep["status"]
        # what the generator stored is there, signed reads and all
        got = o.client().get_object(Bucket="bench", Key="obj-000007")["Body"].read()
        assert len(got) == 3072, len(got)
        # a wrong secret is refused by the origin: HTTP 403s, counted as 4xx
        bad, _ = bench("--target", o.url, "--s3", "--access-key", s3lib.AK, "--secret-key", "nope",
                       "--rate", "50", "--duration", "1s", "--connections", "1", "--threads", "1")
        assert bad["errors"]["http_4xx"] == 50 and bad["status"]["4xx"] == 50, bad["errors"]
    finally:
        o.stop()
        o.cleanup()


@test
def unreachable_target():
    port = hslib.free_port()
    p = hslib.run_hs("bench", "--target", "http://127.0.0.1:%d" % port, "--rate", "10", "--duration", "1s")
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "cannot connect" in p.stderr and "refused" in p.stderr, p.stderr


@test
def bad_options():
    t = ["--target", "http://127.0.0.1:1"]
    cases = [
        ([], "--target"),
        (t, "--rate"),
        (t + ["--rate", "0"], "--rate"),
        (t + ["--rate", "x"], "--rate"),
        (t + ["--rate", "10", "--closed"], "exclude"),
        (["--target", "example.com", "--rate", "1"], "http://HOST:PORT"),
        (["--target", "https://127.0.0.1:1", "--rate", "1"], "https"),
        (t + ["--rate", "1", "--threads", "4", "--connections", "2"], "--connections"),
        (t + ["--rate", "1", "--duration", "10x"], "--duration"),
        (t + ["--rate", "1", "--size-dist", "lognormal:4k"], "lognormal:MEDIAN:SIGMA"),
        (t + ["--rate", "1", "--size", "1k", "--size-dist", "1k:1"], "exclude"),
        (t + ["--rate", "1", "--put-ratio", "2"], "--put-ratio"),
        (t + ["--rate", "1", "--zipf", "-1"], "--zipf"),
        (t + ["--rate", "1", "--url-pattern", "obj"], "--url-pattern"),
        (t + ["--rate", "1", "--url-pattern", "/{x}"], "{n}"),
        (t + ["--rate", "1", "--access-key", "a"], "--s3"),
        (t + ["--rate", "1", "--objects", "0"], "--objects"),
        (t + ["--rate", "1", "--bogus"], "unknown option"),
    ]
    for args, want in cases:
        p = hslib.run_hs("bench", *args, env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
        assert p.returncode == 2, "%r: exit %d, stderr %r" % (args, p.returncode, p.stderr)
        assert want in p.stderr, "%r: %r not in %r" % (args, want, p.stderr)
        assert "Traceback" not in p.stderr and "Sanitizer" not in p.stderr


if __name__ == "__main__":
    hslib.run()
