#!/usr/bin/env python3
"""The supervisor: a SIGKILLed worker is logged and replaced within 1 s;
SIGTERM drains (an in-flight download completes, idle connections close,
exit 0 within shutdown.drain_timeout); SIGHUP reloads a valid config (new
generation, new behavior, in-flight responses finish) and keeps the old one
when the new config is invalid (event=reload_failed)."""

import hashlib
import os
import signal
import socket
import threading
import time

import hslib
from hslib import Conn, build_request, test

BIG_MB = 48
_root = []


def root():
    if not _root:
        d = hslib.tmpdir("hs-super-")
        hslib.write(os.path.join(d, "index.html"), "<p>index</p>\n")
        hslib.write(os.path.join(d, "noindex", "x.txt"), "x\n")
        with open(os.path.join(d, "big.bin"), "wb") as f:
            for i in range(BIG_MB * 1024):
                f.write(hashlib.sha512(b"%d" % i).digest() * 16)
        _root.append(d)
    return _root[0]


def skip_peer():
    if hslib.PEER:
        raise hslib.SkipTest("hyperscale-only")


def wait_status(port, path, want, timeout):
    """Polls fresh connections until `path` gets `want`; returns seconds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if hslib.try_get(port, path, timeout=0.5) == want:
            return time.monotonic() - t0
        time.sleep(0.01)
    return None


class SlowDownload:
    """GET /big.bin read at a bounded rate, so it is in flight for a while."""

    def __init__(self, port, conn=None):
        self.c = conn or Conn(port, timeout=10, rcvbuf=65536)
        self.c.send(build_request("GET", "/big.bin"))
        self.h = hashlib.sha256()
        self.got = 0
        head = b""
        while b"\r\n\r\n" not in head:
            self.c._fill(time.monotonic() + 10)
            head = self.c.buf
        i = head.index(b"\r\n\r\n")
        self.head = head[:i].decode("latin-1")
        assert self.head.startswith("HTTP/1.1 200"), self.head[:100]
        self.length = int([ln.split(":", 1)[1] for ln in self.head.split("\r\n")
                           if ln.lower().startswith("content-length:")][0])
        rest = head[i + 4:]
        self.c.buf = b""
        self.h.update(rest)
        self.got = len(rest)

    def read(self, nbytes, rate=None):
        """Reads up to nbytes more (at most `rate` bytes/s)."""
        t0 = time.monotonic()
        start = self.got
        while self.got < self.length and self.got - start < nbytes:
            data = self.c.sock.recv(min(65536, self.length - self.got))
            if not data:
                raise hslib.Closed("download cut at %d of %d bytes" % (self.got, self.length))
            self.h.update(data)
            self.got += len(data)
            if rate:
                ahead = (self.got - start) / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)

    def finish(self, rate=None):
        self.read(self.length, rate)
        want = hslib.sha256_file(os.path.join(root(), "big.bin"))
        return self.got == self.length and self.h.hexdigest() == want


@test
def worker_sigkill_restarted():
    skip_peer()
    s = hslib.start_static(root(), workers=2, admin=True)
    st = hslib.admin_status(s.admin_port)
    worker = st["pid"]
    assert worker != s.pid and hslib.proc_ppid(worker) == s.pid, "status pid %r is not a child of %d" % (worker, s.pid)
    mark = len(s.log())
    os.kill(worker, signal.SIGKILL)
    t0 = time.monotonic()
    dt = wait_status(s.port, "/", 200, 5)
    assert dt is not None, "no 200 within 5 s of killing the worker\n" + s.log_tail()
    assert dt <= 1.0, "service back only %.2f s after the worker was killed" % dt
    m = s.wait_log(r"event=worker_exit[^\n]*", 3, mark)
    assert m, "no event=worker_exit line\n" + s.log_tail()
    assert "signal=9" in m.group(0) or "SIGKILL" in m.group(0), "worker_exit line lacks the reason: %r" % m.group(0)
    assert str(worker) in m.group(0), "worker_exit line does not name pid %d: %r" % (worker, m.group(0))
    assert s.wait_log(r"event=worker_start", 3, mark), "no event=worker_start after the restart\n" + s.log_tail()
    st2 = hslib.admin_status(s.admin_port)
    assert st2["pid"] != worker and hslib.proc_ppid(st2["pid"]) == s.pid, "status after restart: %r" % st2
    assert st2["supervisor_pid"] == s.pid
    # a second crash is handled the same way
    os.kill(st2["pid"], signal.SIGKILL)
    assert wait_status(s.port, "/", 200, 3) is not None, "no service after a second kill"
    assert s.stop() == 0, "exit status after SIGTERM: %s" % s.rc


@test
def worker_crash_loop_does_not_spin():
    """The supervisor outlives its worker and keeps serving after several
    crashes in a row (a restart back-off is fine, a dead service is not)."""
    skip_peer()
    s = hslib.start_static(root(), workers=1, admin=True)
    for i in range(3):
        pid = hslib.admin_status(s.admin_port)["pid"]
        os.kill(pid, signal.SIGKILL)
        assert wait_status(s.port, "/", 200, 5) is not None, "kill #%d: no service within 5 s" % (i + 1)
        assert s.proc.poll() is None, "supervisor died"
        deadline = time.monotonic() + 3
        while hslib.admin_status(s.admin_port)["pid"] == pid and time.monotonic() < deadline:
            time.sleep(0.05)


@test
def sigterm_drains_download():
    skip_peer()
    s = hslib.start_static(root(), workers=2, admin=True, sets=["shutdown.drain_timeout=10s"])
    dl = SlowDownload(s.port)
    dl.read(2 << 20)
    idle = Conn(s.port)
    assert idle.request("GET", "/").status == 200
    t0 = time.monotonic()
    s.signal(signal.SIGTERM)
    # idle keep-alive connections are closed promptly
    assert idle.closed_within(3), "idle keep-alive connection not closed within 3 s of SIGTERM"
    # new connections are refused (listeners closed) while the download runs
    refused = False
    late = "?"
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            probe = Conn(s.port, timeout=0.5)
        except OSError:
            refused = True
            break
        probe.send_quiet(build_request("GET", "/", {"Connection": "close"}))
        try:
            late = "connected and answered %d" % probe.read_response(timeout=0.5).status
        except hslib.Closed as e:
            late = "connected, then %s without an answer" % e
        except (socket.timeout, TimeoutError):
            late = "connected, no answer within 0.5 s (queued in a backlog nobody accepts?)"
        probe.close()
        time.sleep(0.05)
    # the in-flight download completes: ~46 MiB at 16 MiB/s ~ 3 s
    try:
        ok = dl.finish(rate=16 << 20)
    except hslib.Closed as e:
        raise AssertionError("in-flight download cut by SIGTERM: %s" % e)
    assert ok, "download after SIGTERM incomplete or corrupt (%d of %d)" % (dl.got, dl.length)
    rc = s.wait_exit(12 - (time.monotonic() - t0))
    assert rc is not None, "still running 12 s after SIGTERM (drain_timeout=10s)\n" + s.log_tail()
    assert rc == 0, "exit status %s after SIGTERM" % rc
    assert refused, "new connections still accepted 2 s after SIGTERM (last probe: %s)" % late
    dl.c.close()


@test
def sigterm_drain_timeout_bounds_exit():
    """A client that stops reading cannot hold the shutdown past
    shutdown.drain_timeout."""
    skip_peer()
    s = hslib.start_static(root(), workers=1, sets=["shutdown.drain_timeout=1s"])
    dl = SlowDownload(s.port)  # then never read again
    t0 = time.monotonic()
    s.signal(signal.SIGTERM)
    rc = s.wait_exit(6)
    dt = time.monotonic() - t0
    dl.c.close()
    assert rc is not None, "stalled client held the shutdown > 6 s with drain_timeout=1s"
    assert dt <= 3.5, "exit %.2f s after SIGTERM with drain_timeout=1s" % dt


@test
def sighup_reload_applies():
    skip_peer()
    d = hslib.tmpdir("hs-reload-")
    cf = hslib.write(os.path.join(d, "hs.conf"), "static.directory_index = false\n")
    s = hslib.start_static(root(), workers=2, admin=True, config=cf)
    assert hslib.http_get(s.port, "/noindex/").status == 403
    gen0 = hslib.admin_status(s.admin_port)["generation"]
    dl = SlowDownload(s.port)
    dl.read(1 << 20)
    keep = Conn(s.port)
    assert keep.request("GET", "/").status == 200
    mark = len(s.log())
    hslib.write(cf, "static.directory_index = true\n")
    s.signal(signal.SIGHUP)
    dt = wait_status(s.port, "/noindex/", 200, 5)
    assert dt is not None, "directory_index=true not in effect 5 s after SIGHUP\n" + s.log_tail()
    # old and new generation may both accept for a moment; once the old
    # one drains (stops accepting) every new connection gets the new config
    gen1 = wait_new_generation(s, gen0, mark)
    assert gen1 > gen0, "generation %s -> %s after reload" % (gen0, gen1)
    bad = [st for st in (hslib.try_get(s.port, "/noindex/") for _ in range(20)) if st != 200]
    assert not bad, "after the reload completed, new connections still got %s" % bad
    r = hslib.http_get(s.port, "/noindex/")
    assert b"x.txt" in r.body, "listing after reload: %r" % r.body[:200]
    assert s.proc.poll() is None and hslib.admin_status(s.admin_port)["supervisor_pid"] == s.pid
    assert "reload_failed" not in s.log()[mark:], s.log_tail()
    # the download that was in flight finishes on the old generation
    try:
        assert dl.finish(rate=64 << 20), "download across reload corrupt"
    except hslib.Closed as e:
        raise AssertionError("in-flight download cut by the reload: %s" % e)
    # an idle keep-alive connection of the old generation is either still
    # served or closed cleanly, never answered garbage
    try:
        keep.send(build_request("GET", "/"))
        r = keep.read_response(timeout=3)
        assert r.status == 200, "old keep-alive connection after reload: %r" % r
    except (hslib.Closed, OSError):
        pass
    assert s.stop() == 0


@test
def sighup_invalid_config_keeps_serving():
    skip_peer()
    d = hslib.tmpdir("hs-reload-")
    cf = hslib.write(os.path.join(d, "hs.conf"), "static.directory_index = true\n")
    s = hslib.start_static(root(), workers=2, admin=True, config=cf)
    assert hslib.http_get(s.port, "/noindex/").status == 200
    st0 = hslib.admin_status(s.admin_port)
    mark = len(s.log())
    hslib.write(cf, "static.directory_index = false\nbogus_key = 1\n")
    s.signal(signal.SIGHUP)
    m = s.wait_log(r"event=reload_failed[^\n]*", 5, mark)
    assert m, "no event=reload_failed within 5 s of SIGHUP with a bad config\n" + s.log_tail()
    assert "bogus_key" in m.group(0) or "hs.conf" in m.group(0), "reload_failed does not say why: %r" % m.group(0)
    assert s.proc.poll() is None, "supervisor exited on a bad reload"
    for _ in range(10):
        r = hslib.http_get(s.port, "/noindex/")
        assert r.status == 200, "after a failed reload: %d (old config should keep serving)" % r.status
    st1 = hslib.admin_status(s.admin_port)
    assert st1["generation"] == st0["generation"] and st1["pid"] == st0["pid"], \
        "failed reload replaced the worker: %r -> %r" % (st0, st1)
    # a later valid reload still works
    hslib.write(cf, "static.directory_index = false\n")
    s.signal(signal.SIGHUP)
    assert wait_status(s.port, "/noindex/", 403, 5) is not None, "valid reload after a failed one not applied"
    assert s.stop() == 0


@test
def sighup_under_load_drops_nothing():
    """Three reloads while 4 clients open fresh connections back to back and
    2 more use keep-alive: no connection is refused or reset, no request is
    lost ("reload configuration without dropping connections")."""
    skip_peer()
    s = hslib.start_static(root(), workers=2, admin=True)
    gen0 = hslib.admin_status(s.admin_port)["generation"]
    stop = [False]
    stats = {"ok": 0, "fail": []}
    lock = threading.Lock()

    def fresh():
        while not stop[0]:
            try:
                r = hslib.http_get(s.port, "/", timeout=5)
                ok, why = r.status == 200, "status %d" % r.status
            except (OSError, hslib.Closed, AssertionError) as e:
                ok, why = False, "%s: %s" % (type(e).__name__, e)
            with lock:
                if ok:
                    stats["ok"] += 1
                else:
                    stats["fail"].append("fresh: " + why)

    def keepalive():
        c = None
        while not stop[0]:
            try:
                if c is None:
                    c = Conn(s.port, timeout=5)
                c.send(build_request("GET", "/"))
                r = c.read_response()
                with lock:
                    stats["ok"] += 1
                if r.has_token("Connection", "close"):
                    c.close()
                    c = None
            except hslib.Closed:
                # an idle keep-alive connection closed by a draining
                # generation between requests is legal; the client retries
                c.close()
                c = None
            except (OSError, AssertionError) as e:
                with lock:
                    stats["fail"].append("keep-alive: %s: %s" % (type(e).__name__, e))
                c = None
        if c:
            c.close()

    threads = [threading.Thread(target=fresh) for _ in range(4)] + [threading.Thread(target=keepalive) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            time.sleep(0.7)
            s.signal(signal.SIGHUP)
        time.sleep(1.0)
    finally:
        stop[0] = True
        for t in threads:
            t.join(10)
    gen1 = hslib.admin_status(s.admin_port)["generation"]
    assert gen1 >= gen0 + 3, "generation %s -> %s after 3 SIGHUPs" % (gen0, gen1)
    assert stats["ok"] > 100, "only %d requests served" % stats["ok"]
    assert not stats["fail"], "%d of %d requests failed across reloads: %s" % (
        len(stats["fail"]), stats["ok"] + len(stats["fail"]), stats["fail"][:4])


def wait_new_generation(s, gen0, mark, timeout=5):
    """Waits until the old generation has started draining (it no longer
    accepts) and /admin/status shows a newer generation; returns it."""
    deadline = time.monotonic() + timeout
    gen = gen0
    while time.monotonic() < deadline:
        try:
            gen = hslib.admin_status(s.admin_port)["generation"]
        except (OSError, hslib.Closed, AssertionError):
            pass
        if gen > gen0 and s.wait_log(r"event=drain_start", 0, mark):
            break
        time.sleep(0.05)
    return gen


@test
def sighup_same_config_new_generation():
    skip_peer()
    s = hslib.start_static(root(), workers=1, admin=True)
    gen0 = hslib.admin_status(s.admin_port)["generation"]
    mark = len(s.log())
    s.signal(signal.SIGHUP)  # same config: a reload still succeeds
    gen1 = wait_new_generation(s, gen0, mark)
    assert gen1 > gen0, "SIGHUP did not start a new generation\n" + s.log_tail(6)
    gens = {hslib.admin_status(s.admin_port)["generation"] for _ in range(10)}
    assert gens == {gen1}, "after the old generation drained, /admin/status still answered from %s" % sorted(gens)
    assert hslib.try_get(s.port, "/") == 200


@test
def sighup_storm_settles():
    """Ten SIGHUPs 30 ms apart: the supervisor survives, service never
    stops for long, and it settles on exactly one worker (no leaked
    generations)."""
    skip_peer()
    s = hslib.start_static(root(), workers=1, admin=True)
    for _ in range(10):
        s.signal(signal.SIGHUP)
        time.sleep(0.03)
        assert s.proc.poll() is None, "supervisor exited during a SIGHUP storm\n" + s.log_tail()
    assert wait_status(s.port, "/", 200, 5) is not None, "no service after a SIGHUP storm"
    deadline = time.monotonic() + 8
    kids = hslib.children(s.pid)
    while len(kids) != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
        kids = hslib.children(s.pid)
    assert len(kids) == 1, "%d worker processes 8 s after the storm: %s\n%s" % (len(kids), kids, s.log_tail(8))
    assert hslib.admin_status(s.admin_port)["pid"] == kids[0]
    assert s.stop() == 0


@test
def sigterm_during_reload():
    """SIGTERM right after SIGHUP, while two generations exist: exit 0
    promptly and leave no worker behind."""
    skip_peer()
    s = hslib.start_static(root(), workers=1, admin=True, sets=["shutdown.drain_timeout=3s"])
    workers = set(hslib.children(s.pid))
    s.signal(signal.SIGHUP)
    time.sleep(0.05)
    workers |= set(hslib.children(s.pid))
    s.signal(signal.SIGTERM)
    rc = s.wait_exit(6)
    assert rc is not None, "still running 6 s after SIGTERM during a reload\n" + s.log_tail()
    assert rc == 0, "exit %s after SIGTERM during a reload\n%s" % (rc, s.log_tail())
    time.sleep(0.2)
    alive = [w for w in workers if os.path.exists("/proc/%d" % w) and hslib.proc_ppid(w) not in (None, 0)]
    alive = [w for w in alive if open("/proc/%d/cmdline" % w, "rb").read().startswith(hslib.BIN.encode())]
    assert not alive, "workers %s outlived the supervisor" % alive


@test
def supervisor_sigkill_takes_workers_down():
    """If the supervisor itself is killed, its workers must not keep the
    port as orphans that no one supervises (they exit within a few s)."""
    skip_peer()
    s = hslib.start_static(root(), workers=1, admin=True)
    worker = hslib.admin_status(s.admin_port)["pid"]
    os.kill(s.pid, signal.SIGKILL)
    s.wait_exit(3)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and os.path.exists("/proc/%d" % worker):
        try:
            with open("/proc/%d/stat" % worker) as f:
                if f.read().split(") ")[1].startswith("Z"):
                    break
        except OSError:
            break
        time.sleep(0.1)
    orphan = os.path.exists("/proc/%d" % worker) and not open("/proc/%d/stat" % worker).read().split(") ")[1].startswith("Z")
    if orphan:
        os.kill(worker, signal.SIGKILL)
    assert not orphan, "worker %d still running 5 s after its supervisor was SIGKILLed" % worker


if __name__ == "__main__":
    hslib.run()
