#!/usr/bin/env python3
"""The command line and configuration layering: exit statuses (0 ok, 2 usage
or configuration error, 1 runtime failure), error messages that name the
file:line/variable/flag and the key, defaults < file < environment < flags
as shown by `hyperscale config`, --help of every command."""

import os
import re
import socket
import subprocess

import hslib
from hslib import run_hs, test

COMMANDS = ("up", "static", "config", "version")


def skip_peer():
    if hslib.PEER:
        raise hslib.SkipTest("hyperscale-only")


def parse_num(v):
    """'10s' '500ms' '2m' '16k' '5g' '100' 'true' -> comparable values."""
    v = v.strip().strip('"')
    m = re.match(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$", v)
    if m:
        return ("dur", float(m.group(1)) * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}[m.group(2)])
    m = re.match(r"^(\d+)([kKmMgG]i?[bB]?|[bB])?$", v)
    if m:
        mult = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[(m.group(2) or "")[:1].lower()]
        return ("num", int(m.group(1)) * mult)
    return ("str", v)


def effective(*args, env=None):
    """Runs `hyperscale config ARGS` and parses its key = value output
    (with [section] prefixes, # comments)."""
    p = run_hs("config", *args, env=env)
    assert p.returncode == 0, "hyperscale config %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr)
    out, section = {}, ""
    for line in p.stdout.splitlines():
        line = line.split(" #")[0].strip() if not line.lstrip().startswith("#") else ""
        if not line:
            continue
        m = re.match(r"^\[([A-Za-z0-9_.]+)\]$", line)
        if m:
            section = m.group(1) + "."
            continue
        m = re.match(r"^([A-Za-z0-9_.]+)\s*=\s*(.*)$", line)
        assert m, "unparsable line in `hyperscale config` output: %r" % line
        key = m.group(1) if (not section or m.group(1).startswith(section)) else section + m.group(1)
        out[key] = m.group(2).strip()
    return out, p.stdout


def conf_file(text, name="test.conf"):
    return hslib.write(os.path.join(hslib.tmpdir("hs-conf-"), name), text)


@test
def defaults_shown():
    skip_peer()
    cfg, _ = effective()
    want = {"http.header_timeout": "10s", "http.idle_timeout": "60s", "http.max_header_bytes": "16k",
            "http.max_headers": "100", "static.directory_index": "false", "shutdown.drain_timeout": "10s"}
    for k, v in want.items():
        assert k in cfg, "`hyperscale config` does not show %s" % k
        assert parse_num(cfg[k]) == parse_num(v), "%s = %r, want %r" % (k, cfg[k], v)


@test
def durations_and_sizes():
    skip_peer()
    sets = {"http.header_timeout": "500ms", "http.idle_timeout": "2m", "shutdown.drain_timeout": "1h",
            "http.max_header_bytes": "32k", "http.max_body_bytes": "1g", "static.cache_bytes": "3m"}
    args = []
    for k, v in sets.items():
        args += ["--set", "%s=%s" % (k, v)]
    cfg, _ = effective(*args)
    for k, v in sets.items():
        assert parse_num(cfg[k]) == parse_num(v), "%s=%s shows as %r" % (k, v, cfg[k])


@test
def dump_round_trips():
    skip_peer()
    _, text = effective("--set", "http.header_timeout=7s")
    f = conf_file(text)
    p = run_hs("config", "--check", "--config", f)
    assert p.returncode == 0, "the output of `hyperscale config` is not a valid config file: %s" % p.stderr
    cfg, _ = effective("--config", f)
    assert parse_num(cfg["http.header_timeout"]) == parse_num("7s"), cfg["http.header_timeout"]


@test
def file_unknown_key():
    skip_peer()
    f = conf_file("# comment\nhttp.header_timeout = 2s\nbogus_key = 1\n")
    for cmd in (["config", "--config", f], ["config", "--check", "--config", f],
                ["static", "--root", "/tmp", "--listen", "127.0.0.1:%d" % hslib.free_port(), "--config", f]):
        p = run_hs(*cmd)
        assert p.returncode == 2, "%s with an unknown key exited %d" % (cmd[0], p.returncode)
        assert "%s:3" % f in p.stderr, "message does not name %s:3: %r" % (f, p.stderr)
        assert "bogus_key" in p.stderr and "unknown key" in p.stderr, "message: %r" % p.stderr


@test
def file_unknown_key_in_section():
    skip_peer()
    f = conf_file("[http]\nheader_timeout = 2s\n\n[http]\nheader_timeuot = 3s\n")
    p = run_hs("config", "--config", f)
    assert p.returncode == 2, p.returncode
    assert "%s:5" % f in p.stderr and "header_timeuot" in p.stderr, "message: %r" % p.stderr


@test
def file_invalid_value():
    skip_peer()
    for line, key in (("http.header_timeout = banana", "http.header_timeout"),
                      ("http.max_headers = -5x", "http.max_headers"),
                      ("static.directory_index = maybe", "static.directory_index"),
                      ("http.max_header_bytes = 16q", "http.max_header_bytes")):
        f = conf_file("workers = 1\n%s\n" % line)
        p = run_hs("config", "--config", f)
        assert p.returncode == 2, "%r exited %d" % (line, p.returncode)
        assert "%s:2" % f in p.stderr and key in p.stderr and "invalid value" in p.stderr, \
            "%r: message %r" % (line, p.stderr)


@test
def file_sections_and_quotes():
    skip_peer()
    f = conf_file("# top\n[http]\nheader_timeout = 3s   # trailing comment\n"
                  "[static]\ndirectory_index = true\n[log]\nlevel = \"warn\"\n")
    cfg, _ = effective("--config", f)
    assert parse_num(cfg["http.header_timeout"]) == parse_num("3s"), cfg["http.header_timeout"]
    assert cfg["static.directory_index"] == "true", cfg["static.directory_index"]
    assert cfg["log.level"].strip('"') == "warn", cfg["log.level"]


@test
def missing_config_file():
    skip_peer()
    p = run_hs("config", "--config", "/nonexistent/hs.conf")
    assert p.returncode == 2, "missing config file exited %d" % p.returncode
    assert "/nonexistent/hs.conf" in p.stderr, p.stderr


@test
def env_unknown_variable():
    skip_peer()
    p = run_hs("config", env={"HYPERSCALE_BOGUS": "1"})
    assert p.returncode == 2, "HYPERSCALE_BOGUS=1 exited %d" % p.returncode
    assert "environment HYPERSCALE_BOGUS" in p.stderr, "message %r" % p.stderr
    p = run_hs("static", "--root", "/tmp", "--listen", "127.0.0.1:%d" % hslib.free_port(),
               env={"HYPERSCALE_BOGUS": "1"})
    assert p.returncode == 2 and "HYPERSCALE_BOGUS" in p.stderr, (p.returncode, p.stderr)


@test
def env_invalid_value():
    skip_peer()
    p = run_hs("config", env={"HYPERSCALE_HTTP_HEADER_TIMEOUT": "soon"})
    assert p.returncode == 2, p.returncode
    assert "environment HYPERSCALE_HTTP_HEADER_TIMEOUT" in p.stderr and "invalid value" in p.stderr, p.stderr


@test
def env_config_names_file():
    skip_peer()
    f = conf_file("http.idle_timeout = 42s\n")
    cfg, _ = effective(env={"HYPERSCALE_CONFIG": f})
    assert parse_num(cfg["http.idle_timeout"]) == parse_num("42s"), "HYPERSCALE_CONFIG ignored: %r" % cfg["http.idle_timeout"]


@test
def layering_flags_env_file():
    skip_peer()
    f = conf_file("http.idle_timeout = 11s\nhttp.header_timeout = 12s\nhttp.body_timeout = 13s\nworkers = 3\n")
    env = {"HYPERSCALE_HTTP_HEADER_TIMEOUT": "22s", "HYPERSCALE_HTTP_BODY_TIMEOUT": "23s", "HYPERSCALE_WORKERS": "4"}
    cfg, _ = effective("--config", f, "--set", "http.body_timeout=33s", "--log-level", "error", env=env)
    got = {k: parse_num(cfg[k]) for k in ("http.idle_timeout", "http.header_timeout", "http.body_timeout")}
    want = {k: parse_num(v) for k, v in (("http.idle_timeout", "11s"), ("http.header_timeout", "22s"),
                                          ("http.body_timeout", "33s"))}
    assert got == want, "file < env < flag broken: got %s want %s" % (got, want)
    assert cfg["workers"] == "4", "env HYPERSCALE_WORKERS=4 over file workers=3: %r" % cfg["workers"]
    assert cfg["log.level"].strip('"') == "error", "--log-level error: %r" % cfg["log.level"]
    # the last --set wins
    cfg, _ = effective("--set", "http.max_headers=7", "--set", "http.max_headers=8")
    assert cfg["http.max_headers"] == "8", cfg["http.max_headers"]


@test
def flag_errors():
    skip_peer()
    p = run_hs("config", "--set", "no_such.key=1")
    assert p.returncode == 2 and "no_such.key" in p.stderr, (p.returncode, p.stderr)
    p = run_hs("config", "--set", "http.header_timeout=abc")
    assert p.returncode == 2 and "http.header_timeout" in p.stderr, (p.returncode, p.stderr)
    p = run_hs("config", "--set", "novalue")
    assert p.returncode == 2, p.returncode


@test
def check_flag():
    skip_peer()
    good = conf_file("http.header_timeout = 2s\n")
    p = run_hs("config", "--check", "--config", good)
    assert p.returncode == 0, "config --check on a valid file: %d %s" % (p.returncode, p.stderr)
    bad = conf_file("http.header_timeout = 2 s s\n")
    p = run_hs("config", "--check", "--config", bad)
    assert p.returncode == 2, "config --check on an invalid file: %d" % p.returncode


@test
def help_everywhere():
    skip_peer()
    for args in [("--help",), ("help",)] + [(c, "--help") for c in COMMANDS] + [("help", c) for c in COMMANDS]:
        p = run_hs(*args)
        assert p.returncode == 0, "%s exited %d" % (" ".join(args), p.returncode)
        assert "usage" in p.stdout.lower(), "%s printed no usage on stdout: %r" % (" ".join(args), p.stdout[:200])
    p = run_hs("static", "--help")
    for opt in ("--root", "--listen", "--workers", "--admin", "--config", "--set", "--log-level"):
        assert opt in p.stdout, "static --help does not list %s" % opt


@test
def usage_errors_exit_2():
    skip_peer()
    for args in [(), ("frobnicate",), ("static", "--nope"), ("up", "--bogus-flag", "x"), ("version", "--set", "x=1"),
                 ("static", "--listen"), ("help", "frobnicate")]:
        p = run_hs(*args)
        assert p.returncode == 2, "`hyperscale %s` exited %d, want 2" % (" ".join(args), p.returncode)
        assert p.stderr.strip(), "`hyperscale %s`: nothing on stderr" % " ".join(args)


@test
def static_without_root():
    skip_peer()
    p = run_hs("static", "--listen", "127.0.0.1:%d" % hslib.free_port())
    assert p.returncode == 2, "static without --root exited %d" % p.returncode
    assert "root" in p.stderr, p.stderr


@test
def version():
    skip_peer()
    p = run_hs("version")
    assert p.returncode == 0 and re.search(r"\d+\.\d+\.\d+", p.stdout), (p.returncode, p.stdout)
    assert run_hs("--version").stdout == p.stdout


@test
def bind_failure_exit_1():
    skip_peer()
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        p = run_hs("static", "--root", "/tmp", "--listen", "127.0.0.1:%d" % port, "--workers", "1", timeout=15)
    except subprocess.TimeoutExpired:
        raise AssertionError("static on a port in use did not exit within 15 s")
    finally:
        holder.close()
    assert p.returncode == 1, "bind failure exited %d, want 1: %s" % (p.returncode, p.stderr[-300:])
    assert "127.0.0.1:%d" % port in p.stderr, "message does not name the address: %r" % p.stderr[-300:]
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    aport = holder.getsockname()[1]
    try:
        p = run_hs("static", "--root", "/tmp", "--listen", "127.0.0.1:%d" % hslib.free_port(),
                   "--admin", "127.0.0.1:%d" % aport, timeout=15)
    finally:
        holder.close()
    assert p.returncode == 1 and "127.0.0.1:%d" % aport in p.stderr, \
        "admin bind failure: exit %d %r" % (p.returncode, p.stderr[-300:])


@test
def log_lines_are_logfmt():
    skip_peer()
    d = hslib.tmpdir("hs-log-")
    s = hslib.start_static(d, admin=True)
    hslib.http_get(s.port, "/")
    s.stop()
    lines = [ln for ln in s.log().splitlines() if ln.strip()]
    assert lines, "no log lines on stderr"
    pair = r'[a-z_.]+=(?:"(?:[^"\\]|\\.)*"|[^\s"]*)'
    rx = re.compile(r"^ts=\S+ level=(debug|info|warn|error) pid=\d+ role=\S+ event=\S+(?: %s)*$" % pair)
    bad = [ln for ln in lines if not rx.match(ln)]
    assert not bad, "lines not in logfmt (ts level pid role event ...): %r" % bad[:3]
    assert s.rc == 0, "exit status %s after SIGTERM" % s.rc


if __name__ == "__main__":
    hslib.run()
