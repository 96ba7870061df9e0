"""Shared helpers for hyperscale's end-to-end tests (Python 3 stdlib only).

- Server: start a process (hyperscale, or nginx as a stand-in) on free ports,
  wait until it accepts connections, stop it with SIGTERM (SIGKILL after 10 s),
  always clean up (context manager + atexit).
- Conn: a raw client socket with a read buffer; reads complete HTTP/1.1
  responses (Content-Length, chunked, read-until-close, HEAD/1xx/204/304),
  pipelined responses, and tells whether the peer closed the connection.
  Every socket operation has a bounded timeout, so no test can hang.
- A tiny runner: @test functions, `ok`/`FAIL name: reason` per test, exit
  status 1 if any failed. After each test the server logs are scanned: a
  worker crash (signal other than the tests' own SIGKILL/SIGTERM), an
  assertion or a sanitizer report fails the test even if the supervisor
  restarted the worker and every client check passed.
- Run one script's tests by name: `python3 http_static.py get_file mime_types`.

HS_PEER=nginx makes start_static() run nginx with an equivalent
configuration instead of hyperscale: the harness and the tests themselves can
then be checked against a known server (tests that only hyperscale can pass
are expected to fail there; tests that need hyperscale-only features skip).
"""

import atexit
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("HYPERSCALE_BIN") or os.path.join(REPO, "build", "hyperscale")
PEER = os.environ.get("HS_PEER", "")  # "" (hyperscale) or "nginx"
NGINX = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

DEFAULT_TIMEOUT = 5.0


class SkipTest(Exception):
    pass


class Closed(Exception):
    """The peer closed the connection (EOF or reset) before a full message."""


# --------------------------------------------------------------------------
# processes


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


_live = []
_all_servers = []  # every Server, for the log scan after each test
_scanned = {}

# Crashes and sanitizer reports in a server's log fail the test that was
# running even when the supervisor restarted the worker and the client side
# looked fine. SIGKILL/SIGTERM exits are the tests' own doing.
CRASH_RX = re.compile(r"ERROR: \w+Sanitizer|SUMMARY: \w+Sanitizer|runtime error:|malloc\(\): |free\(\): "
                      r"|double free|corrupted (size|double-linked)|Assertion [^\n]* failed"
                      r"|event=worker_exit[^\n]*signal=(?!9\b|15\b)\d+")


def scan_logs():
    """Returns crash/sanitizer lines that appeared in any server log since
    the last call."""
    found = []
    for srv in _all_servers:
        text = srv.log()
        start = _scanned.get(id(srv), 0)
        for m in CRASH_RX.finditer(text, start):
            a = text.rfind("\n", 0, m.start()) + 1
            b = text.find("\n", m.end())
            found.append("%s: %s" % (srv.name, text[a:b if b >= 0 else None][:300]))
        _scanned[id(srv)] = len(text)
    return found


def _cleanup_all():
    for srv in list(_live):
        try:
            srv.stop()
        except Exception:
            pass


atexit.register(_cleanup_all)


def wait_port(port, timeout=10.0, proc=None):
    """Waits until 127.0.0.1:port accepts a connection. Returns True/False."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
            s.close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


class Server:
    """A child process with stderr captured to a temp log file."""

    def __init__(self, argv, port=None, ports=(), env=None, cwd=None, name="server"):
        self.argv = [str(a) for a in argv]
        self.port = port
        self.wait_ports = [p for p in ([port] + list(ports)) if p]
        self.env = env
        self.cwd = cwd
        self.name = name
        self.proc = None
        self.rc = None
        _all_servers.append(self)
        fd, self.log_path = tempfile.mkstemp(prefix="hs-%s-" % name, suffix=".log")
        os.close(fd)
        self._log = None

    def start(self, wait=True, timeout=10.0):
        self._log = open(self.log_path, "wb")
        # a developer's HYPERSCALE_* variables must not leak into a test
        env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERSCALE_")}
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env, cwd=self.cwd)
        _live.append(self)
        if wait:
            for p in self.wait_ports:
                if not wait_port(p, timeout, self.proc):
                    rc = self.proc.poll()
                    self.stop()
                    raise AssertionError("%s did not accept on port %d within %.0fs (rc=%s): %s\nlog tail:\n%s"
                                         % (self.name, p, timeout, rc, " ".join(self.argv), self.log_tail()))
        return self

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=30):
        return "\n".join(self.log().splitlines()[-n:])

    def wait_log(self, pattern, timeout=5.0, start=0):
        """Waits until regex `pattern` matches the log (from char offset
        start); returns the match or None."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log(), start)
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.05)

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.rc

    def stop(self, timeout=10.0):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit status."""
        if self.proc is None:
            return None
        kids = children(self.proc.pid) if self.proc.poll() is None else []
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.rc = self.proc.wait(timeout=5)
        else:
            self.rc = self.proc.returncode
        for k in kids:  # workers our process tree started must not outlive it
            try:
                with open("/proc/%d/cmdline" % k, "rb") as f:
                    if f.read().split(b"\0")[0] == self.argv[0].encode():
                        os.kill(k, signal.SIGKILL)
            except OSError:
                pass
        if self._log:
            self._log.close()
            self._log = None
        if self in _live:
            _live.remove(self)
        return self.rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def hs_argv(*args):
    if not os.path.exists(BIN):
        raise AssertionError("hyperscale binary not found at %s (set HYPERSCALE_BIN)" % BIN)
    return [BIN] + [str(a) for a in args]


def run_hs(*args, env=None, timeout=10.0, clear_env=False):
    """Runs a short hyperscale command; returns CompletedProcess (text)."""
    e = {} if clear_env else {k: v for k, v in os.environ.items() if not k.startswith("HYPERSCALE_")}
    if clear_env:
        e["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    if env:
        e.update(env)
    return subprocess.run(hs_argv(*args), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, env=e, timeout=timeout)


def start_static(root, workers=1, admin=False, sets=(), env=None, config=None, extra=(),
                 name="static", wait=True):
    """Starts `hyperscale static` (or nginx under HS_PEER=nginx) serving root.
    Returns a Server with .port and .admin_port (or None), started and
    accepting unless wait=False (started, not waited for) or wait=None (not
    started)."""
    port = free_port()
    admin_port = free_port() if admin else None
    if PEER == "nginx":
        if admin:
            raise SkipTest("admin endpoint is hyperscale-only")
        srv = _nginx_static(root, port, dict(s.split("=", 1) for s in sets), workers, name)
    else:
        argv = hs_argv("static", "--root", root, "--listen", "127.0.0.1:%d" % port,
                       "--workers", workers)
        if admin:
            argv += ["--admin", "127.0.0.1:%d" % admin_port]
        if config:
            argv += ["--config", config]
        for s in sets:
            argv += ["--set", s]
        argv += list(extra)
        srv = Server(argv, port=port, ports=[admin_port] if admin_port else [], env=env, name=name)
    srv.admin_port = admin_port
    srv.root = root
    if wait is not None:
        srv.start(wait=wait)
    return srv


def _nginx_static(root, port, sets, workers, name):
    d = tempfile.mkdtemp(prefix="hs-nginx-")
    atexit.register(shutil.rmtree, d, True)
    for sub in ("tmp", "logs"):
        os.mkdir(os.path.join(d, sub))
    def g(k, default):
        return sets.get(k, default)
    conf = """
worker_processes %d;
pid %s/nginx.pid;
error_log %s/logs/error.log warn;
events { worker_connections %s; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    server_tokens off;
    client_body_temp_path %s/tmp/body;
    proxy_temp_path %s/tmp/proxy;
    fastcgi_temp_path %s/tmp/fastcgi;
    uwsgi_temp_path %s/tmp/uwsgi;
    scgi_temp_path %s/tmp/scgi;
    client_header_timeout %s;
    client_body_timeout %s;
    keepalive_timeout %s;
    client_max_body_size %s;
    large_client_header_buffers 4 16k;
    server {
        listen 127.0.0.1:%d reuseport;
        root %s;
        autoindex %s;
        disable_symlinks on;
    }
}
""" % (workers, d, d, g("http.max_connections", "4096"), d, d, d, d, d,
       g("http.header_timeout", "10s"), g("http.body_timeout", "30s"),
       g("http.idle_timeout", "60s"), g("http.max_body_bytes", "5g"), port, root,
       "on" if g("static.directory_index", "false") == "true" else "off")
    cf = os.path.join(d, "nginx.conf")
    with open(cf, "w") as f:
        f.write(conf)
    return Server([NGINX, "-p", d, "-c", cf, "-g", "daemon off;"], port=port, name="nginx-" + name)


def admin_status(port):
    r = http_get(port, "/admin/status")
    assert r.status == 200, "GET /admin/status -> %s" % r.status
    return json.loads(r.body.decode())


def proc_ppid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("PPid:"):
                return int(line.split()[1])
    return None


def proc_rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def children(pid):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if proc_ppid(int(p)) == pid:
                    out.append(int(p))
            except OSError:
                pass
    return out


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------
# raw HTTP client


class Response:
    def __init__(self):
        self.version = ""
        self.status = 0
        self.reason = ""
        self.headers = []  # [(name, value)] in order, names as sent
        self.body = b""
        self.raw_head = b""
        self.chunked = False
        self.interim = []  # 1xx responses that came before this one

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has_token(self, name, token):
        for v in self.header_all(name):
            if token.lower() in [t.strip().lower() for t in v.split(",")]:
                return True
        return False

    def __repr__(self):
        return "<%s %d %s, %d body bytes>" % (self.version, self.status, self.reason, len(self.body))


class Conn:
    """A client connection with a receive buffer."""

    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT, rcvbuf=None):
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b""
        self.eof = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def send_quiet(self, data):
        """Sends, ignoring a peer that already closed (EPIPE/ECONNRESET)."""
        try:
            self.send(data)
            return True
        except OSError:
            return False

    def _recv_some(self, deadline):
        """One recv(2) with the time left; raises Closed on EOF/reset and
        socket.timeout past the deadline."""
        if self.eof:
            raise Closed("connection closed by peer")
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(262144)
        except (ConnectionResetError, BrokenPipeError):
            self.eof = True
            raise Closed("connection reset by peer")
        if not data:
            self.eof = True
            raise Closed("connection closed by peer")
        return data

    def _fill(self, deadline):
        """Reads more bytes into buf."""
        self.buf += self._recv_some(deadline)

    def _read_line(self, deadline, limit=1 << 20):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            if len(self.buf) > limit:
                raise AssertionError("line longer than %d bytes" % limit)
            self._fill(deadline)

    def _read_exact(self, n, deadline):
        if len(self.buf) < n:  # gather in a list: large bodies stay linear
            parts, have = [self.buf], len(self.buf)
            self.buf = b""
            try:
                while have < n:
                    data = self._recv_some(deadline)
                    parts.append(data)
                    have += len(data)
            finally:
                self.buf = b"".join(parts)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self, method="GET", timeout=None, keep_interim=False):
        """Reads one final response (1xx interim responses are collected in
        .interim unless keep_interim, which returns them). Raises Closed if
        the connection closes before a complete response."""
        deadline = time.monotonic() + (timeout or self.timeout)
        interim = []
        while True:
            r = self._read_one(method, deadline)
            if 100 <= r.status < 200 and not keep_interim:
                interim.append(r)
                continue
            r.interim = interim
            return r

    def _read_one(self, method, deadline):
        r = Response()
        # head
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            try:
                self._fill(deadline)
            except Closed:
                if self.buf:
                    raise Closed("connection closed in a response head: %r" % self.buf[:200])
                raise
        head, self.buf = self.buf[:i], self.buf[i + 4:]
        r.raw_head = head
        lines = head.split(b"\r\n")
        m = re.match(rb"^(HTTP/\d\.\d) (\d{3}) ?(.*)$", lines[0])
        if not m:
            raise AssertionError("bad status line %r" % lines[0][:200])
        r.version = m.group(1).decode()
        r.status = int(m.group(2))
        r.reason = m.group(3).decode("latin-1")
        for ln in lines[1:]:
            if b":" not in ln:
                raise AssertionError("bad response header line %r" % ln[:200])
            k, v = ln.split(b":", 1)
            r.headers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
        # body
        if method == "HEAD" or 100 <= r.status < 200 or r.status in (204, 304):
            return r
        te = r.header("Transfer-Encoding")
        cl = r.header("Content-Length")
        if te and "chunked" in te.lower():
            r.chunked = True
            body = []
            while True:
                line = self._read_line(deadline)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self._read_line(deadline) != b"":
                        pass
                    break
                body.append(self._read_exact(size, deadline))
                if self._read_exact(2, deadline) != b"\r\n":
                    raise AssertionError("chunk not followed by CRLF")
            r.body = b"".join(body)
        elif cl is not None:
            r.body = self._read_exact(int(cl), deadline)
        else:
            # read until close
            while True:
                try:
                    self._fill(deadline)
                except Closed:
                    break
            r.body, self.buf = self.buf, b""
        return r

    def read_responses(self, n, method="GET", timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        out = []
        for i in range(n):
            out.append(self.read_response(method if isinstance(method, str) else method[i],
                                          timeout=max(0.01, deadline - time.monotonic())))
        return out

    def request(self, method="GET", path="/", headers=None, body=b"", version="HTTP/1.1",
                host="localhost", timeout=None):
        self.send(build_request(method, path, headers, body, version, host))
        return self.read_response(method, timeout=timeout)

    def closed_within(self, timeout=2.0):
        """True if the peer closes (EOF or reset) within timeout; bytes that
        arrive meanwhile stay in self.buf (check self.buf to see them)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except Closed:
            return True
        except (socket.timeout, TimeoutError):
            return False

    def is_open(self, wait=0.2):
        """True if the connection is still open (nothing closes it in `wait`)."""
        return not self.closed_within(wait)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def build_request(method="GET", path="/", headers=None, body=b"", version="HTTP/1.1", host="localhost"):
    lines = ["%s %s %s" % (method, path, version)]
    hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    if host is not None and not any(k.lower() == "host" for k, _ in hdrs):
        lines.append("Host: %s" % host)
    for k, v in hdrs:
        lines.append("%s: %s" % (k, v))
    if isinstance(body, str):
        body = body.encode()
    if body and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in hdrs):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def http_get(port, path="/", headers=None, method="GET", timeout=DEFAULT_TIMEOUT, version="HTTP/1.1"):
    """One request on a fresh connection (Connection: close)."""
    h = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    if not any(k.lower() == "connection" for k, _ in h):
        h.append(("Connection", "close"))
    with Conn(port, timeout=timeout) as c:
        return c.request(method, path, h, version=version)


def try_get(port, path="/", timeout=1.0):
    """GET on a fresh connection; returns the status, or None on any error."""
    try:
        return http_get(port, path, timeout=timeout).status
    except (OSError, Closed, AssertionError, ValueError):
        return None


HTTP_DATE_RX = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")


def check_common_headers(r, server=None):
    """Every response: Date (IMF-fixdate), Server, and a framing header."""
    d = r.header("Date")
    assert d and HTTP_DATE_RX.match(d), "Date header missing or not IMF-fixdate: %r" % d
    if server is None:
        server = None if PEER else "hyperscale"
    if server:
        assert r.header("Server") == server, "Server header %r, want %r" % (r.header("Server"), server)


REASONS = {
    200: "OK", 206: "Partial Content", 301: "Moved Permanently", 304: "Not Modified",
    400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 411: "Length Required", 412: "Precondition Failed",
    413: "Content Too Large", 414: "URI Too Long", 416: "Range Not Satisfiable",
    417: "Expectation Failed", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
# RFC 9110 renamed two; the RFC 7231 names are accepted too.
REASON_ALIASES = {413: ("Payload Too Large", "Request Entity Too Large"),
                  416: ("Requested Range Not Satisfiable",)}


def reason_ok(status, reason):
    return reason == REASONS.get(status) or reason in REASON_ALIASES.get(status, ())


def check_error_response(r, status):
    """Error responses: the status, its standard reason, text/plain, and a
    body starting with 'CODE REASON' (type/body checked on hyperscale only)."""
    assert r.status == status, "status %d %s, want %d" % (r.status, r.reason, status)
    if PEER:
        return
    assert reason_ok(status, r.reason), "reason %r for %d, want %r" % (r.reason, status, REASONS.get(status))
    ct = (r.header("Content-Type") or "").split(";")[0].strip()
    assert ct == "text/plain", "error Content-Type %r, want text/plain" % r.header("Content-Type")
    assert r.body.startswith(("%d" % status).encode()), \
        "error body %r does not start with '%d'" % (r.body[:80], status)
    assert r.body[4:].startswith(r.reason.encode()), \
        "error body %r does not start with '%d %s'" % (r.body[:80], status, r.reason)
    check_common_headers(r)
    assert r.chunked or r.header("Content-Length") == str(len(r.body)), \
        "error response framing: Content-Length %r for a %d-byte body" % (r.header("Content-Length"), len(r.body))


# --------------------------------------------------------------------------
# runner

_tests = []


_shared = {}


def shared(key, factory):
    """A server kept across the tests of a script (started on first use by
    factory(); restarted if it died)."""
    srv = _shared.get(key)
    if srv is None or srv.proc is None or srv.proc.poll() is not None:
        srv = factory()
        srv.shared = True
        _shared[key] = srv
    return srv


def test(fn):
    _tests.append(fn)
    return fn


class _Alarm(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Alarm("test exceeded its time limit")


def run(per_test_timeout=90):
    """Runs every @test of the calling script (or those named in argv);
    prints ok/FAIL/skip per test and exits 1 if any failed."""
    only = set(sys.argv[1:])
    failed = 0
    signal.signal(signal.SIGALRM, _on_alarm)
    mode = " (peer: %s)" % PEER if PEER else ""
    t_all = time.monotonic()
    for fn in _tests:
        if only and fn.__name__ not in only:
            continue
        t0 = time.monotonic()
        signal.alarm(per_test_timeout)
        try:
            fn()
            status, why = "ok", ""
        except SkipTest as e:
            status, why = "skip", str(e)
        except AssertionError as e:
            status, why = "FAIL", str(e) or traceback.format_exc(limit=3)
        except BaseException as e:  # noqa: B902 -- report any error as a failure
            if isinstance(e, KeyboardInterrupt):
                raise
            status, why = "FAIL", "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc(limit=4))
        finally:
            signal.alarm(0)
            for srv in list(_live):  # servers a test started die with it
                if not getattr(srv, "shared", False):
                    srv.stop()
        crashes = scan_logs()
        if crashes and status != "FAIL":
            status, why = "FAIL", "server log reports a crash or sanitizer error:\n" + "\n".join(crashes[:5])
        elif crashes:
            why += "\nserver log:\n" + "\n".join(crashes[:5])
        dt = time.monotonic() - t0
        if status == "FAIL":
            failed += 1
        line = "%-4s %s%s (%.2fs)" % (status, fn.__name__, mode, dt)
        if why:
            line += ": " + why.strip().replace("\n", "\n       ")
        print(line, flush=True)
    for srv in list(_live):  # shared servers: stop, then look at their logs
        srv.stop()
    crashes = scan_logs()
    if crashes:
        failed += 1
        print("FAIL server-logs%s: crash or sanitizer error in a shared server:\n       %s"
              % (mode, "\n       ".join(crashes[:5])), flush=True)
    print("%d failed, %.1fs" % (failed, time.monotonic() - t_all), flush=True)
    if failed:
        print("server logs kept: " + " ".join(srv.log_path for srv in _all_servers), flush=True)
    else:
        for srv in _all_servers:
            try:
                os.unlink(srv.log_path)
            except OSError:
                pass
    sys.exit(1 if failed else 0)


def tmpdir(prefix="hs-test-"):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)  # readable by a peer's unprivileged worker (nginx)
    atexit.register(shutil.rmtree, d, True)
    return d


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path
