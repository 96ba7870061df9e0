"""End-to-end tests of `hyperscale edge` with several origins (src/balance):
retries of GET misses when an origin dies, ejection and re-admission
through health checks, fallback origins when every primary is down,
Maglev affinity, and what is never retried. Origins are edgelib's
scriptable Python origins; each answer names the origin that made it."""

import json
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import edgelib  # noqa: E402
import hslib  # noqa: E402
from hslib import test  # noqa: E402
from edgelib import get  # noqa: E402


class _TrackingServer(edgelib._Server):
    """Remembers its connections, so stopping it can cut them like a
    crashed process would (keep-alive handler threads outlive shutdown())."""

    def get_request(self):
        sock, addr = super().get_request()
        with self.conns_lock:
            self.conns.append(sock)
        return sock, addr


class NamedOrigin(edgelib.Origin):
    """An edgelib origin on a chosen port (0 = any) whose default answer
    for every path is its own name, uncacheable, and which passes /health."""

    def __init__(self, name, port=0):
        self.routes = {}
        self.counts = edgelib.collections.Counter()
        self.seen = edgelib.collections.defaultdict(list)
        self.lock = threading.Lock()
        self.httpd = _TrackingServer(("127.0.0.1", port), edgelib._Handler)
        self.httpd.conns, self.httpd.conns_lock = [], threading.Lock()
        self.httpd.origin = self
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.name = name
        self.set("/health", 200, {}, b"ok")
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        super().stop()
        with self.httpd.conns_lock:
            for c in self.httpd.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                    c.close()
                except OSError:
                    pass

    def answer(self, path, status=200):
        self.set(path, status, {"Cache-Control": "no-store", "X-Origin": self.name},
                 self.name.encode())

    def total(self, prefix):
        with self.lock:
            return sum(n for p, n in self.counts.items() if p.startswith(prefix))


def start(origins, fallbacks=(), sets=(), name="edge-origins", workers=1):
    port, admin = hslib.free_port(), hslib.free_port()
    argv = ["edge", "--listen", "127.0.0.1:%d" % port, "--workers", workers,
            "--admin", "127.0.0.1:%d" % admin]
    for o in origins:
        argv += ["--origin", o.url]
    for o in fallbacks:
        argv += ["--fallback", o.url]
    for s in sets:
        argv += ["--set", s]
    srv = hslib.Server(hslib.hs_argv(*argv), port=port, ports=[admin], name=name).start()
    srv.admin_port = admin
    return srv


def state(e):
    r = hslib.http_get(e.admin_port, "/admin/balance")
    assert r.status == 200, r.status
    return {b["name"]: b for b in json.loads(r.body)["backends"]}


def backend(e, o):
    return state(e)["127.0.0.1:%d" % o.port]


def metric(e, name):
    body = hslib.http_get(e.admin_port, "/metrics").body.decode()
    return sum(float(ln.split()[-1]) for ln in body.splitlines() if ln.startswith(name))


def answer_all(origins, path, status=200):
    for o in origins:
        o.answer(path, status)


FAST_HEALTH = ["balance.health_path=/health", "balance.health_interval=300ms",
               "balance.health_timeout=1s", "balance.health_rise=2"]


@test
def dead_origin_is_retried_ejected_and_readmitted():
    a, b = NamedOrigin("a"), NamedOrigin("b")
    # round robin: a is picked every other request, so its failures are
    # certain to happen (and to come in a row) before health checks notice
    e = start([a, b], sets=["balance.algorithm=round_robin", "balance.consecutive_gateway=2",
                            "balance.ejection_time=10m", "balance.slow_start=0",
                            "balance.health_path=/health", "balance.health_interval=2s",
                            "balance.health_rise=2", "balance.health_fall=3"])
    for i in range(10):
        answer_all([a, b], "/d/%d" % i)
        r = get(e, "/d/%d" % i)
        assert r.status == 200, r.status
    assert a.total("/d/") == 5 and b.total("/d/") == 5, (a.total("/d/"), b.total("/d/"))
    port = a.port
    a.stop()
    for i in range(10, 40):
        b.answer("/d/%d" % i)
        r = get(e, "/d/%d" % i)
        assert r.status == 200 and r.body == b"b", (i, r.status, r.body)
    st = backend(e, a)
    assert st["ejected"] and st["failures"] >= 2, st
    assert metric(e, "hs_balance_retries_total") >= 1
    assert metric(e, "hs_balance_ejections_total") == 1
    assert edgelib.wait_until(lambda: not backend(e, a)["healthy"], timeout=15), backend(e, a)
    # back on the same port: two passing checks re-admit it long before
    # its 10-minute ejection ends
    a2 = NamedOrigin("a2", port)
    try:
        assert edgelib.wait_until(
            lambda: (lambda s: s["healthy"] and not s["ejected"])(backend(e, a2)), timeout=15), \
            backend(e, a2)
        for i in range(40, 50):
            answer_all([a2, b], "/d/%d" % i)
            assert get(e, "/d/%d" % i).status == 200
        assert a2.total("/d/") >= 4, a2.total("/d/")
    finally:
        a2.stop()
        b.stop()


@test
def fallback_serves_when_every_primary_is_down():
    a, b, c = NamedOrigin("a"), NamedOrigin("b"), NamedOrigin("c")
    e = start([a, b], [c], sets=FAST_HEALTH + ["balance.health_fall=1"])
    try:
        for i in range(20):
            answer_all([a, b, c], "/f/%d" % i)
            assert get(e, "/f/%d" % i).status == 200
        assert c.total("/f/") == 0, c.total("/f/")
        a.stop()
        b.stop()
        # at once: a try on each dead primary, then the fallback (retries)
        c.answer("/f/now")
        r = get(e, "/f/now")
        assert r.status == 200 and r.body == b"c", (r.status, r.body)
        # once health checks have seen it, straight to the fallback
        assert edgelib.wait_until(lambda: not any(
            s["healthy"] for s in state(e).values() if s["tier"] == "primary"), timeout=10)
        retries = metric(e, "hs_balance_retries_total")
        for i in range(20, 40):
            c.answer("/f/%d" % i)
            r = get(e, "/f/%d" % i)
            assert r.status == 200 and r.body == b"c", (r.status, r.body)
        assert metric(e, "hs_balance_retries_total") == retries
    finally:
        c.stop()


@test
def maglev_keeps_each_url_on_one_origin():
    origins = [NamedOrigin(n) for n in "abc"]
    # two worker threads: each has its own view, the tables are the pool's
    e = start(origins, sets=["balance.algorithm=maglev"], workers=2)
    try:
        paths = ["/m/%d" % i for i in range(30)]
        for p in paths:
            answer_all(origins, p)
        for _ in range(3):
            for p in paths:
                assert get(e, p).status == 200
        for p in paths:
            counts = sorted(o.count(p) for o in origins)
            assert counts == [0, 0, 3], (p, counts)
        assert all(o.total("/m/") > 0 for o in origins), [o.total("/m/") for o in origins]
    finally:
        for o in origins:
            o.stop()


@test
def gateway_error_answers_are_retried_elsewhere():
    a, b = NamedOrigin("a"), NamedOrigin("b")
    e = start([a, b], sets=["balance.algorithm=round_robin", "balance.consecutive_5xx=0",
                            "balance.consecutive_gateway=0"])
    try:
        for i in range(10):
            a.answer("/g/%d" % i, 503)
            b.answer("/g/%d" % i)
            r = get(e, "/g/%d" % i)
            assert r.status == 200 and r.body == b"b", (r.status, r.body)
        assert a.total("/g/") >= 4, a.total("/g/")
        # a 500 is an answer, not a gateway failure: passed through
        a.answer("/g/500", 500)
        b.answer("/g/500", 500)
        assert get(e, "/g/500").status == 500
        assert a.count("/g/500") + b.count("/g/500") == 1
    finally:
        a.stop()
        b.stop()


@test
def requests_with_a_body_are_not_retried():
    a, b = NamedOrigin("a"), NamedOrigin("b")
    a.stop()  # dead from the start: round robin's first pick is the first origin
    e = start([a, b], sets=["balance.algorithm=round_robin"])
    try:
        b.answer("/p")
        r = get(e, "/p", method="POST", body=b"x")
        assert r.status == 502, r.status
        assert b.count("/p") == 0
        # the next GET goes to b; a GET miss on the dead one is retried
        for i in range(4):
            b.answer("/p/%d" % i)
            assert get(e, "/p/%d" % i).status == 200
    finally:
        b.stop()


@test
def metrics_and_state_per_origin():
    a, b = NamedOrigin("a"), NamedOrigin("b")
    e = start([a, b])
    try:
        for i in range(10):
            answer_all([a, b], "/s/%d" % i)
            get(e, "/s/%d" % i)
        st = state(e)
        assert set(st) == {"127.0.0.1:%d" % a.port, "127.0.0.1:%d" % b.port}, st
        assert sum(s["requests"] for s in st.values()) == 10, st
        assert all(s["healthy"] and not s["ejected"] for s in st.values()), st
        body = hslib.http_get(e.admin_port, "/metrics").body.decode()
        for name in ("hs_balance_backend_ewma_microseconds", "hs_balance_backend_in_flight",
                     "hs_balance_backend_ejected", "hs_balance_backend_healthy",
                     "hs_balance_backend_weight_effective", "hs_balance_requests_total",
                     "hs_balance_failures_total", "hs_balance_retries_total",
                     "hs_balance_retries_budget_exhausted_total", "hs_balance_ejections_total"):
            assert name in body, name
        assert 'backend="127.0.0.1:%d"' % a.port in body
    finally:
        a.stop()
        b.stop()


@test
def cli_checks_origin_lists():
    r = hslib.run_hs("edge", "--origin", "http://127.0.0.1:1", "--origin", "http://nope:2")
    assert r.returncode == 2 and "nope:2" in r.stderr, (r.returncode, r.stderr)
    r = hslib.run_hs("edge", "--origin", "http://127.0.0.1:1,http://127.0.0.1:1")
    assert r.returncode == 2 and "twice" in r.stderr, (r.returncode, r.stderr)
    r = hslib.run_hs("edge", "--origin", "http://127.0.0.1:1", "--fallback", "https://x:1")
    assert r.returncode == 2 and "fallback" in r.stderr, (r.returncode, r.stderr)
    r = hslib.run_hs("edge", "--origin", "http://127.0.0.1:1", "--set", "balance.algorithm=random")
    assert r.returncode == 2 and "balance.algorithm" in r.stderr, (r.returncode, r.stderr)
    r = hslib.run_hs("edge", "--origin", "http://127.0.0.1:1;weight=0")
    assert r.returncode == 2, (r.returncode, r.stderr)


if __name__ == "__main__":
    hslib.run()
