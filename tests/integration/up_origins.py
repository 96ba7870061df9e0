"""`hyperscale up --origins N`: N supervised origin processes behind the
edge's balancer. A killed origin is restarted and re-enters the pool while
clients see no error; writes through one origin are seen through every
other; SIGTERM leaves no process behind."""

import http.client
import json
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hslib import Server, children, free_port, hs_argv, run, test  # noqa: E402
from s3lib import AK, SK, Origin  # noqa: E402

N = 3


def free_run(n):
    """A base port with n free consecutive ports after it."""
    for _ in range(50):
        base = free_port()
        ok = True
        for p in range(base, base + n):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok and base + n <= 65535:
            return base
    raise AssertionError("no %d consecutive free ports" % n)


class Up:
    def __init__(self, n=N):
        self.port, self.admin = free_port(), free_port()
        self.base = free_run(n)
        self.n = n
        self.data = os.path.join(tempfile.mkdtemp(prefix="hs-upn-"), "data")
        env = {"HYPERSCALE_ACCESS_KEY": AK, "HYPERSCALE_SECRET_KEY": SK, "HYPERSCALE_LOG_LEVEL": "info"}
        self.srv = Server(hs_argv("up", "--origins", n, "--listen", "127.0.0.1:%d" % self.port,
                                  "--origin-listen", "127.0.0.1:%d" % self.base,
                                  "--admin", "127.0.0.1:%d" % self.admin, "--data", self.data,
                                  "--workers", "1"),
                          port=self.port, ports=[self.admin] + [self.base + i for i in range(n)],
                          env=env, name="up-origins").start(timeout=20)
        self.url = "http://127.0.0.1:%d" % self.port

    def client(self):
        # Origin only lends its client factory: same credentials, the edge's URL
        o = Origin.__new__(Origin)
        o.url = self.url
        return o.client()

    def origin_supervisor(self, i):
        ms = re.findall(r"up_tree_start what=origin index=%d pid=(\d+)" % i, self.srv.log())
        assert ms, self.srv.log_tail()
        return int(ms[-1])

    def balance(self):
        body = urllib.request.urlopen("http://127.0.0.1:%d/admin/balance" % self.admin, timeout=5).read()
        return {b["name"]: b for b in json.loads(body)["backends"]}


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        for k in children(todo.pop()):
            out.append(k)
            todo.append(k)
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class GetLoop(threading.Thread):
    """Anonymous GETs of the public objects through the edge, each checked."""

    def __init__(self, port, keys, bodies):
        super().__init__(daemon=True)
        self.port, self.keys, self.bodies = port, keys, bodies
        self.ok, self.errors, self.stop = 0, [], False

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        i = 0
        while not self.stop:
            k = self.keys[i % len(self.keys)]
            i += 1
            try:
                conn.request("GET", "/pub/" + k)
                r = conn.getresponse()
                b = r.read()
                if r.status != 200 or b != self.bodies[k]:
                    self.errors.append((k, r.status, b[:200]))
                else:
                    self.ok += 1
            except (OSError, http.client.HTTPException) as e:
                self.errors.append((k, type(e).__name__, str(e)))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.close()


@test
def kill_origin_under_load_then_sigterm():
    up = Up()
    c = up.client()
    c.create_bucket(Bucket="pub")
    c.put_bucket_acl(Bucket="pub", ACL="public-read")
    bodies = {}
    for i in range(300):
        k = "obj-%04d" % i
        # mostly uncacheable so most GETs reach an origin; every 10th is cached
        cc = "public, max-age=60" if i % 10 == 0 else "no-store"
        bodies[k] = os.urandom(1000 + 37 * i)
        c.put_object(Bucket="pub", Key=k, Body=bodies[k], CacheControl=cc)
    names = ["127.0.0.1:%d" % (up.base + i) for i in range(N)]
    b = up.balance()
    assert sorted(b) == sorted(names), b
    wait_for(lambda: all(x["healthy"] and not x["ejected"] for x in up.balance().values()), 10,
             "every origin healthy")

    loops = [GetLoop(up.port, list(bodies), bodies) for _ in range(4)]
    for t in loops:
        t.start()
    time.sleep(1.0)
    sup = up.origin_supervisor(1)
    workers = children(sup)
    assert len(workers) == 1, workers
    victim = workers[0]
    before = sum(t.ok for t in loops)
    assert before > 0, [t.errors[:3] for t in loops]
    os.kill(victim, signal.SIGKILL)
    # the origin's own supervisor starts a new worker on the sockets it holds
    new = wait_for(lambda: [p for p in children(sup) if p != victim and alive(p)], 10,
                   "a new origin worker")
    assert new[0] != victim
    time.sleep(1.5)
    # the whole origin tree killed: `up` starts it again
    os.kill(sup, signal.SIGKILL)
    wait_for(lambda: up.origin_supervisor(1) != sup, 10, "origin 1's supervisor restarted")
    time.sleep(1.5)
    for t in loops:
        t.stop = True
    for t in loops:
        t.join(20)
    errors = [e for t in loops for e in t.errors]
    total = sum(t.ok for t in loops)
    assert not errors, "%d errors of %d: %s" % (len(errors), total + len(errors), errors[:5])
    assert total > before, (total, before)
    print("  GETs ok=%d during kills; retries=%s" % (total, json.loads(urllib.request.urlopen(
        "http://127.0.0.1:%d/admin/balance" % up.admin, timeout=5).read())["retries"]), flush=True)

    # back in the pool, healthy, and serving on its own port
    wait_for(lambda: all(x["healthy"] and not x["ejected"] for x in up.balance().values()), 10,
             "every origin healthy again: %s" % up.balance())
    r = urllib.request.urlopen("http://127.0.0.1:%d/pub/obj-0001" % (up.base + 1), timeout=5)
    assert r.status == 200 and r.read() == bodies["obj-0001"]
    r = urllib.request.urlopen("http://127.0.0.1:%d/_hyperscale/health" % (up.base + 1), timeout=5)
    assert r.status == 200

    # SIGTERM: every tree drains and exits, nothing is orphaned
    tree = descendants(up.srv.pid)
    assert len(tree) >= 2 * (N + 1), tree
    up.srv.signal(signal.SIGTERM)
    rc = up.srv.wait_exit(20)
    assert rc == 0, (rc, up.srv.log_tail())
    wait_for(lambda: not [p for p in tree if alive(p)], 10,
             "no process left: %s" % [p for p in tree if alive(p)])


@test
def writes_are_seen_through_every_origin():
    up = Up()
    c = up.client()
    c.create_bucket(Bucket="priv")
    c.create_bucket(Bucket="pubnc")
    c.put_bucket_acl(Bucket="pubnc", ACL="public-read")
    for i in range(30):
        v = b"version-%d-" % i + os.urandom(50 + i)
        c.put_object(Bucket="priv", Key="k", Body=v)
        got = c.get_object(Bucket="priv", Key="k")["Body"].read()
        assert got == v, (i, got[:20], v[:20])
        c.put_object(Bucket="pubnc", Key="k", Body=v, CacheControl="no-cache")
        got = urllib.request.urlopen(up.url + "/pubnc/k", timeout=5).read()
        assert got == v, (i, got[:20], v[:20])
    # every origin answered some of them
    b = up.balance()
    assert all(x["requests"] > 0 for x in b.values()), b
    # SIGHUP reaches every tree: each starts a second worker generation
    up.srv.signal(signal.SIGHUP)
    wait_for(lambda: len(re.findall(r"event=reload generation=2", up.srv.log())) == N + 1, 20,
             "every tree reloaded: %s" % up.srv.log_tail())
    c.put_object(Bucket="priv", Key="after-hup", Body=b"h")
    assert c.get_object(Bucket="priv", Key="after-hup")["Body"].read() == b"h"
    up.srv.stop()


@test
def bad_origins_count_is_refused():
    for bad in ("0", "65", "x"):
        p = Server(hs_argv("up", "--origins", bad, "--listen", "127.0.0.1:%d" % free_port()),
                   name="up-bad").start(wait=False)
        rc = p.wait_exit(10)
        assert rc == 2, (bad, rc, p.log_tail())
        assert "origins" in p.log(), p.log()


if __name__ == "__main__":
    run(per_test_timeout=180)
