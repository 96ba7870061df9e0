"""Shared pieces of the HTTP benches (bench/http-static, bench/idle-conns,
bench/slowloris): starting hyperscale, nginx and h2o on the same root with
comparable settings, on free ports, pinned with taskset, and cleaned up.

Traffic goes to 127.0.0.1 only. Python 3 stdlib only."""

import atexit
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import hslib  # noqa: E402  (free ports, raw client, admin status)

HS_BIN = os.environ.get("HYPERSCALE_BIN") or os.path.join(REPO, "build", "hyperscale")
NGINX = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")
H2O = os.environ.get("H2O_BIN", "/usr/bin/h2o")
SERVER_CPU = os.environ.get("BENCH_SERVER_CPU", "0")
CLIENT_CPU = os.environ.get("BENCH_CLIENT_CPU", "1")

_procs = []


def have_taskset():
    return shutil.which("taskset") is not None and os.cpu_count() and os.cpu_count() >= 2


def pin(cpu, argv):
    return (["taskset", "-c", cpu] + argv) if have_taskset() else argv


def raise_nofile(n=None):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if n is None else min(hard, max(soft, n))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)  # peers drop privileges to nobody/www-data
    atexit.register(shutil.rmtree, d, True)
    return d


class Proc:
    def __init__(self, name, argv, port, admin_port=None, log=None):
        self.name, self.argv, self.port, self.admin_port = name, argv, port, admin_port
        self.log_path = log or tempfile.mkstemp(prefix="bench-%s-" % name, suffix=".log")[1]
        self.p = None

    def start(self):
        self._log = open(self.log_path, "wb")
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        _procs.append(self)
        for port in [self.port] + ([self.admin_port] if self.admin_port else []):
            if not hslib.wait_port(port, 10, self.p):
                tail = open(self.log_path, errors="replace").read()[-2000:]
                self.stop()
                raise SystemExit("%s did not start on port %d: %s\n%s" % (self.name, port, " ".join(self.argv), tail))
        return self

    def check_alive(self):
        """Exits the bench with the server's status and log if it died."""
        if self.p.poll() is not None:
            tail = open(self.log_path, errors="replace").read()[-3000:]
            raise SystemExit("%s exited with status %s during the bench; log %s:\n%s"
                             % (self.name, self.p.returncode, self.log_path, tail))

    def worker_pids(self):
        """The process(es) that serve connections."""
        if self.name == "hyperscale" and self.admin_port:
            return [hslib.admin_status(self.admin_port)["pid"]]
        return hslib.children(self.p.pid) or [self.p.pid]  # nginx workers, or h2o itself

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
        if self in _procs:
            _procs.remove(self)


@atexit.register
def _cleanup():
    for p in list(_procs):
        try:
            p.stop()
        except Exception:
            pass


def start_hyperscale(root, sets=(), workers=1, cpu=SERVER_CPU):
    if not os.path.exists(HS_BIN):
        raise SystemExit("no hyperscale binary at %s (build it, or set HYPERSCALE_BIN)" % HS_BIN)
    port, admin = hslib.free_port(), hslib.free_port()
    argv = [HS_BIN, "static", "--root", root, "--listen", "127.0.0.1:%d" % port, "--workers", str(workers),
            "--admin", "127.0.0.1:%d" % admin, "--log-level", "info"]
    for s in sets:
        argv += ["--set", s]
    return Proc("hyperscale", pin(cpu, argv), port, admin).start()


def start_nginx(root, extra_http="", workers=1, conns=4096, cpu=SERVER_CPU, keepalive_timeout="75s",
                header_timeout="60s"):
    d = tmpdir("bench-nginx-")
    for sub in ("tmp", "logs"):
        os.mkdir(os.path.join(d, sub))
    port = hslib.free_port()
    conf = """
worker_processes %(workers)d;
worker_rlimit_nofile %(nofile)d;
pid %(d)s/nginx.pid;
error_log %(d)s/logs/error.log warn;
events { worker_connections %(conns)d; multi_accept on; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    # tcp_nopush (TCP_CORK) stalls pipelined small responses (~23k vs ~86k
    # req/s at depth 16 on a 1 KiB file) and buys nothing for 1 KiB bodies
    tcp_nopush off;
    tcp_nodelay on;
    server_tokens off;
    open_file_cache max=1000 inactive=60s;
    keepalive_requests 100000000;
    keepalive_timeout %(kat)s;
    client_header_timeout %(hto)s;
    client_body_temp_path %(d)s/tmp/body;
    proxy_temp_path %(d)s/tmp/proxy;
    fastcgi_temp_path %(d)s/tmp/fastcgi;
    uwsgi_temp_path %(d)s/tmp/uwsgi;
    scgi_temp_path %(d)s/tmp/scgi;
    %(extra)s
    server {
        listen 127.0.0.1:%(port)d reuseport backlog=4096;
        root %(root)s;
    }
}
""" % dict(workers=workers, nofile=conns * 2 + 100, d=d, conns=conns, kat=keepalive_timeout,
           hto=header_timeout, extra=extra_http, port=port, root=root)
    cf = os.path.join(d, "nginx.conf")
    with open(cf, "w") as f:
        f.write(conf)
    return Proc("nginx", pin(cpu, [NGINX, "-p", d, "-c", cf, "-g", "daemon off;"]), port).start()


def start_h2o(root, cpu=SERVER_CPU):
    d = tmpdir("bench-h2o-")
    port = hslib.free_port()
    conf = """num-threads: 1
error-log: %(d)s/error.log
http1-request-timeout: 60
listen:
  host: 127.0.0.1
  port: %(port)d
hosts:
  default:
    paths:
      /:
        file.dir: %(root)s
""" % dict(d=d, port=port, root=root)
    cf = os.path.join(d, "h2o.conf")
    with open(cf, "w") as f:
        f.write(conf)
    return Proc("h2o", pin(cpu, [H2O, "-c", cf]), port).start()


def rss(pids):
    return sum(hslib.proc_rss_bytes(p) or 0 for p in pids)


def percentile(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    return sorted_vals[min(len(sorted_vals) - 1, int(len(sorted_vals) * q))]


def connect_many(port, n, batch=256):
    """Opens n TCP connections to 127.0.0.1:port in batches (so the accept
    backlog never overflows); returns the sockets."""
    socks = []
    while len(socks) < n:
        for _ in range(min(batch, n - len(socks))):
            s = socket.socket()
            s.settimeout(10)
            s.connect(("127.0.0.1", port))
            socks.append(s)
        time.sleep(0.005)
    return socks


def cpu_seconds(proc):
    """User + system CPU time so far of a server's whole process tree (all
    threads; nginx's and Varnish's child processes included)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0, [proc.p.pid]
    while todo:
        pid = todo.pop()
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
        todo += hslib.children(pid)
    return total / tick
