"""Helpers for the edge's end-to-end tests (Python 3 stdlib only).

- Origin: a scriptable HTTP/1.1 origin in a thread. Each path's answer
  (status, headers, body, delay) is set by the test, or computed by a
  function of the request; every request is counted and recorded per path.
- start_edge(): `hyperscale edge` in front of an Origin on free ports.
- get(): one request through a fresh connection to the edge.
"""

import collections
import http.server
import socket
import socketserver
import threading
import time

import hslib


class Answer:
    def __init__(self, status=200, headers=None, body=b"", delay=0.0, chunked=False,
                 chunk_delay=0.0):
        self.status = status
        self.chunk_delay = chunk_delay  # pause between 1000-byte chunks (chunked only)
        self.headers = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        self.body = body.encode() if isinstance(body, str) else body
        self.delay = delay
        self.chunked = chunked


class Seen:
    """One request as the origin received it."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers  # [(name, value)]
        self.body = body

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _serve(self):
        origin = self.server.origin
        length = int(self.headers.get("Content-Length") or 0)
        body = b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
        elif length:
            body = self.rfile.read(length)
        seen = Seen(self.command, self.path, list(self.headers.items()), body)
        with origin.lock:
            origin.counts[self.path] += 1
            origin.seen[self.path].append(seen)
            route = origin.routes.get(self.path)
        if route is None:
            ans = Answer(404, {"Content-Type": "text/plain"}, b"no route\n")
        elif callable(route):
            ans = route(seen)
        else:
            ans = route
        if ans.delay:
            time.sleep(ans.delay)
        self.send_response_only(ans.status)
        names = [k.lower() for k, _ in ans.headers]
        if "date" not in names:
            self.send_header("Date", self.date_time_string())
        for k, v in ans.headers:
            self.send_header(k, v)
        no_body = self.command == "HEAD" or ans.status in (204, 304) or ans.status < 200
        if ans.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif "content-length" not in names and ans.status not in (204, 304):
            self.send_header("Content-Length", str(len(ans.body)))
        self.end_headers()
        if no_body:
            return
        if ans.chunked:
            for i in range(0, len(ans.body), 1000):
                part = ans.body[i:i + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                if ans.chunk_delay:
                    self.wfile.flush()
                    time.sleep(ans.chunk_delay)
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(ans.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


class Origin:
    def __init__(self):
        self.routes = {}
        self.counts = collections.Counter()
        self.seen = collections.defaultdict(list)
        self.lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.origin = self
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def set(self, path, status=200, headers=None, body=b"", delay=0.0, chunked=False,
            chunk_delay=0.0):
        """Sets the answer for path (with its query), or a function
        f(Seen) -> Answer when `status` is callable."""
        with self.lock:
            self.routes[path] = status if callable(status) else Answer(
                status, headers, body, delay, chunked, chunk_delay)

    def count(self, path):
        with self.lock:
            return self.counts[path]

    def last(self, path):
        with self.lock:
            return self.seen[path][-1] if self.seen[path] else None

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def start_edge(origin, workers=1, sets=(), admin=False, name="edge"):
    port = hslib.free_port()
    admin_port = hslib.free_port() if admin else None
    argv = hslib.hs_argv("edge", "--origin", origin.url, "--listen", "127.0.0.1:%d" % port,
                         "--workers", workers)
    if admin:
        argv += ["--admin", "127.0.0.1:%d" % admin_port]
    for s in sets:
        argv += ["--set", s]
    srv = hslib.Server(argv, port=port, ports=[admin_port] if admin_port else [], name=name)
    srv.admin_port = admin_port
    srv.start()
    return srv


def get(edge, path, headers=None, method="GET", body=b"", timeout=5.0):
    h = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    h.append(("Connection", "close"))
    with hslib.Conn(edge.port, timeout=timeout) as c:
        return c.request(method, path, h, body=body)


def xcache(r):
    return r.header("X-Cache")


def wait_until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


class ManyGets:
    """n connections, each with one GET sent (Connection: close), read with
    one selector: pump(until, deadline) reads until until(done) holds (done:
    the connections the server closed) or the deadline passes; raw(s) is what
    connection s got so far."""

    def __init__(self, port, path, n, headers=""):
        import selectors
        self.sel = selectors.DefaultSelector()
        self.socks, self.bufs = [], {}
        req = ("GET %s HTTP/1.1\r\nHost: localhost\r\n%sConnection: close\r\n\r\n"
               % (path, headers)).encode()
        try:
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                self.socks.append(s)
                s.sendall(req)
                s.setblocking(False)
                self.bufs[s] = bytearray()
                self.sel.register(s, selectors.EVENT_READ)
        except BaseException:
            self.close()
            raise
        self.done = set()

    def pump(self, until, deadline):
        while not until(self.done) and time.monotonic() < deadline:
            for key, _ in self.sel.select(timeout=0.5):
                s = key.fileobj
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    self.bufs[s] += data
                else:
                    self.sel.unregister(s)
                    self.done.add(s)
        return self.done

    def raw(self, s):
        return bytes(self.bufs[s])

    def close(self):
        for s in self.socks:
            s.close()
        self.sel.close()


def concurrent_gets(port, path, n, timeout=20.0, headers=""):
    """Opens n connections, sends one GET on each, then reads every answer
    (Connection: close) with one selector. Returns a list of raw responses
    (bytes), None for a connection that did not finish in time."""
    m = ManyGets(port, path, n, headers)
    try:
        done = m.pump(lambda d: len(d) == n, time.monotonic() + timeout)
        return [m.raw(s) if s in done else None for s in m.socks]
    finally:
        m.close()


def parse_raw(raw):
    """(status, headers dict lower-case, body) of a complete close-delimited
    exchange, de-chunking if needed."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        hdrs[k.strip().lower().decode()] = v.strip().decode("latin-1")
    if "chunked" in hdrs.get("transfer-encoding", ""):
        out, rest = [], body
        while rest:
            line, _, rest = rest.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                break
            out.append(rest[:size])
            rest = rest[size + 2:]
        body = b"".join(out)
    return status, hdrs, body
