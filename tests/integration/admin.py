#!/usr/bin/env python3
"""The admin endpoint: /healthz, /metrics (Prometheus text format 0.0.4,
validated line by line, values that move with traffic), /admin/status, for
`hyperscale static --admin` and `hyperscale up`."""

import math
import os
import re
import time

import hslib
from hslib import Conn, http_get, test

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
HELP_RX = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE_RX = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
SAMPLE_RX = re.compile(r"^(%s)(?:\{((?:%s)(?:,%s)*,?)?\})? (\S+)(?: (-?\d+))?$" % (NAME, LABEL, LABEL))
LABEL_RX = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')

_root = []


def srv():
    if not _root:
        d = hslib.tmpdir("hs-admin-")
        hslib.write(os.path.join(d, "index.html"), "<p>index</p>\n")
        _root.append(d)
    if hslib.PEER:
        raise hslib.SkipTest("hyperscale-only")
    return hslib.shared("static", lambda: hslib.start_static(_root[0], workers=2, admin=True))


def parse_value(s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    return float(s)


def parse_metrics(text):
    """Validates the exposition text; returns {family: {"type", "help",
    "samples": [(name, labels dict, value)]}}. Raises AssertionError with
    the line number on any violation."""
    assert text.endswith("\n"), "metrics text does not end with a newline"
    fams = {}
    order = []
    current = None

    def family_of(sample):
        for suf in ("_bucket", "_sum", "_count", ""):
            if sample.endswith(suf):
                base = sample[:len(sample) - len(suf)] if suf else sample
                if base in fams and (suf == "" or fams[base]["type"] in ("histogram", "summary")):
                    return base
        return sample

    for no, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d %r" % (no, line[:120])
        if line == "":
            continue
        if line.startswith("#"):
            m = HELP_RX.match(line)
            if m:
                f = fams.setdefault(m.group(1), {"type": None, "help": None, "samples": []})
                assert f["help"] is None, "%s: second HELP for %s" % (where, m.group(1))
                assert not f["samples"], "%s: HELP after samples" % where
                f["help"] = m.group(2)
                if m.group(1) not in order:
                    order.append(m.group(1))
                current = m.group(1)
                continue
            m = TYPE_RX.match(line)
            if m:
                f = fams.setdefault(m.group(1), {"type": None, "help": None, "samples": []})
                assert f["type"] is None, "%s: second TYPE for %s" % (where, m.group(1))
                assert not f["samples"], "%s: TYPE after samples" % where
                f["type"] = m.group(2)
                if m.group(1) not in order:
                    order.append(m.group(1))
                current = m.group(1)
                continue
            assert not line.startswith("# HELP") and not line.startswith("# TYPE"), "%s: malformed" % where
            continue
        m = SAMPLE_RX.match(line)
        assert m, "%s: not a valid sample line" % where
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        try:
            v = parse_value(value)
        except ValueError:
            raise AssertionError("%s: bad value %r" % (where, value))
        fam = family_of(name)
        assert fam in fams and fams[fam]["type"], "%s: sample without a preceding # TYPE" % where
        assert fam == current, "%s: samples of %s are not grouped together" % (where, fam)
        lab = dict(LABEL_RX.findall(labels))
        fams[fam]["samples"].append((name, lab, v))
    for fam, f in fams.items():
        if f["type"] == "counter":
            for n, lab, v in f["samples"]:
                assert v >= 0, "counter %s%s negative" % (n, lab)
        if f["type"] == "histogram":
            check_histogram(fam, f["samples"])
    return fams


def check_histogram(fam, samples):
    series = {}
    for n, lab, v in samples:
        key = tuple(sorted((k, x) for k, x in lab.items() if k != "le"))
        s = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if n == fam + "_bucket":
            assert "le" in lab, "%s bucket without le" % fam
            s["buckets"].append((parse_value(lab["le"]), v))
        elif n == fam + "_sum":
            s["sum"] = v
        elif n == fam + "_count":
            s["count"] = v
        else:
            raise AssertionError("histogram %s has sample %s" % (fam, n))
    assert series, "histogram %s has no samples" % fam
    for key, s in series.items():
        b = s["buckets"]
        assert b, "%s%s: no buckets" % (fam, key)
        les = [le for le, _ in b]
        assert les == sorted(les), "%s%s: le not increasing: %s" % (fam, key, les)
        assert les[-1] == math.inf, "%s%s: no le=\"+Inf\" bucket" % (fam, key)
        counts = [c for _, c in b]
        assert counts == sorted(counts), "%s%s: buckets not cumulative: %s" % (fam, key, counts)
        assert s["count"] is not None and s["sum"] is not None, "%s%s: missing _sum or _count" % (fam, key)
        assert s["count"] == counts[-1], "%s%s: _count %s != +Inf bucket %s" % (fam, key, s["count"], counts[-1])


def metrics(port):
    r = http_get(port, "/metrics")
    assert r.status == 200, "/metrics -> %d" % r.status
    return r, parse_metrics(r.body.decode("utf-8"))


def total(fams, fam, sample=None):
    return sum(v for n, _, v in fams[fam]["samples"] if n == (sample or fam))


@test
def healthz():
    s = srv()
    r = http_get(s.admin_port, "/healthz")
    assert r.status == 200 and r.body == b"ok\n", "%r %r" % (r, r.body)
    hslib.check_common_headers(r)


@test
def metrics_format_and_families():
    s = srv()
    http_get(s.port, "/")
    r, fams = metrics(s.admin_port)
    ct = r.header("Content-Type") or ""
    assert ct.startswith("text/plain") and "version=0.0.4" in ct, "Content-Type %r" % ct
    want = {"hs_http_requests_total": "counter", "hs_http_connections": "gauge",
            "hs_http_request_duration_seconds": "histogram", "process_resident_memory_bytes": "gauge"}
    for fam, typ in want.items():
        assert fam in fams, "no %s in /metrics" % fam
        assert fams[fam]["type"] == typ, "%s is %s, want %s" % (fam, fams[fam]["type"], typ)
        assert fams[fam]["help"], "%s has no # HELP" % fam
        assert fams[fam]["samples"], "%s has no samples" % fam
    rss = total(fams, "process_resident_memory_bytes")
    assert rss > 1 << 20, "process_resident_memory_bytes = %s" % rss


@test
def metrics_follow_traffic():
    s = srv()
    _, before = metrics(s.admin_port)
    n0 = total(before, "hs_http_requests_total")
    h0 = total(before, "hs_http_request_duration_seconds", "hs_http_request_duration_seconds_count")
    with Conn(s.port) as c:
        for _ in range(25):
            assert c.request("GET", "/").status == 200
    deadline = time.monotonic() + 3
    while True:
        _, after = metrics(s.admin_port)
        n1 = total(after, "hs_http_requests_total")
        h1 = total(after, "hs_http_request_duration_seconds", "hs_http_request_duration_seconds_count")
        if (n1 - n0 >= 25 and h1 - h0 >= 25) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert n1 - n0 >= 25, "hs_http_requests_total rose by %s after 25 requests" % (n1 - n0)
    assert h1 - h0 >= 25, "request duration histogram _count rose by %s after 25 requests" % (h1 - h0)


@test
def metrics_connections_gauge():
    s = srv()
    held = []
    for _ in range(6):
        c = Conn(s.port)
        assert c.request("GET", "/").status == 200
        held.append(c)
    deadline = time.monotonic() + 3
    while True:
        g = total(metrics(s.admin_port)[1], "hs_http_connections")
        if g >= 6 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert g >= 6, "hs_http_connections = %s with 6 open connections" % g
    for c in held:
        c.close()
    deadline = time.monotonic() + 3
    while True:
        g2 = total(metrics(s.admin_port)[1], "hs_http_connections")
        if g2 <= g - 6 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert g2 <= g - 6, "hs_http_connections %s -> %s after closing 6" % (g, g2)


@test
def admin_status_json():
    s = srv()
    st = hslib.admin_status(s.admin_port)
    for k in ("version", "pid", "supervisor_pid", "generation", "uptime_s"):
        assert k in st, "/admin/status has no %r: %r" % (k, st)
    assert st["supervisor_pid"] == s.pid, "supervisor_pid %s, the process we started is %d" % (st["supervisor_pid"], s.pid)
    assert isinstance(st["pid"], int) and st["pid"] != s.pid, "pid %r should be the worker's" % st["pid"]
    assert hslib.proc_ppid(st["pid"]) == s.pid, "worker %d's parent is %s, not the supervisor" % (
        st["pid"], hslib.proc_ppid(st["pid"]))
    assert isinstance(st["generation"], int) and st["generation"] >= 0, st
    v = hslib.run_hs("version").stdout
    assert st["version"] and st["version"] in v, "status version %r, `hyperscale version` says %r" % (st["version"], v)
    time.sleep(1.1)
    st2 = hslib.admin_status(s.admin_port)
    assert st2["uptime_s"] >= st["uptime_s"] + 1, "uptime_s %s -> %s over 1.1 s" % (st["uptime_s"], st2["uptime_s"])


@test
def admin_unknown_path_404():
    s = srv()
    assert http_get(s.admin_port, "/nope").status == 404
    r = http_get(s.port, "/admin/status")
    assert r.status == 404, "the public port answers /admin/status: %d" % r.status


@test
def admin_rejects_garbage():
    s = srv()
    with Conn(s.admin_port) as c:
        c.send_quiet(b"GARBAGE\x00 / HTTP/1.1\r\n\r\n")
        try:
            r = c.read_response(timeout=3)
            assert r.status == 400, "admin port: garbage -> %d" % r.status
        except hslib.Closed:
            pass
    with Conn(s.admin_port) as c:
        c.send_quiet(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 40000 + b"\r\n\r\n")
        try:
            r = c.read_response(timeout=3)
            assert r.status in (400, 431), "admin port: 40 KB header -> %d" % r.status
        except hslib.Closed:
            pass
    r = http_get(s.admin_port, "/healthz")
    assert r.status == 200, "admin endpoint broken after bad requests"


@test
def up_serves_admin():
    if hslib.PEER:
        raise hslib.SkipTest("hyperscale-only")
    d = hslib.tmpdir("hs-up-")
    admin, public = hslib.free_port(), hslib.free_port()
    s = hslib.Server(hslib.hs_argv("up", "--admin", "127.0.0.1:%d" % admin, "--listen", "127.0.0.1:%d" % public,
                                   "--origin-listen", "127.0.0.1:%d" % hslib.free_port(), "--data", d,
                                   "--workers", "1"), port=admin, name="up").start()
    r = http_get(admin, "/healthz")
    assert r.status == 200 and r.body == b"ok\n", r
    _, fams = metrics(admin)
    assert "process_resident_memory_bytes" in fams
    st = hslib.admin_status(admin)
    assert st["supervisor_pid"] == s.pid or st["pid"] == s.pid, st
    rc = s.stop()
    assert rc == 0, "hyperscale up exited %s on SIGTERM\n%s" % (rc, s.log_tail())


if __name__ == "__main__":
    hslib.run()
