"""The `hyperscale objects` commands end to end: put/get (stdin/stdout,
ranges), stat, ls, rm, gc, tier, info, and a clear message for each
failure."""
import os
import subprocess

from objects_util import BIN, Store, check


def main():
    s = Store(drives=4)  # 2+2
    try:
        data = os.urandom(2_500_000)
        s.put_bytes("a/1", data)
        out = s.run("put", "a/2", os.path.join(s.scratch, "in")).stdout.decode()
        check("new_chunks=0" in out, "second put of the same bytes is deduplicated: " + out)
        # stdin -> stdout
        p = subprocess.run([BIN, "objects", "put", "b", "-", "--data", s.data, "--quiet"],
                           input=b"hello world\n", capture_output=True)
        check(p.returncode == 0 and p.stdout == b"", "quiet put from stdin")
        p = subprocess.run([BIN, "objects", "get", "b", "--data", s.data], capture_output=True)
        check(p.stdout == b"hello world\n", "get to stdout")
        # ranges
        _, got = s.get_bytes("a/1", extra=("--range", "1000-1999"))
        check(got == data[1000:2000], "range A-B")
        _, got = s.get_bytes("a/1", extra=("--range", "2499000-"))
        check(got == data[2499000:], "range A-")
        p = s.run("get", "a/1", "-", "--range", "x", check=False)
        check(p.returncode == 2 and b"--range" in p.stderr, "bad range is a usage error")
        # stat / ls
        st = s.run("stat", "a/1").stdout.decode()
        check("size=2500000" in st and "tier=hot" in st, st)
        ls = s.run("ls", "a/").stdout.decode().splitlines()
        check([l.split("\t")[0] for l in ls] == ["a/1", "a/2"], "ls prefix: %r" % ls)
        info = s.run("info").stdout.decode()
        check("drives=4 hot=2+2" in info and "nines" in info, info)
        # tier: warm then back to hot, content unchanged
        s.put_bytes("text", b"compressible line of text\n" * 40000)
        s.run("tier", "text", "warm")
        check("tier=warm" in s.run("stat", "text").stdout.decode(), "moved to warm")
        check(s.get_bytes("text")[1] == b"compressible line of text\n" * 40000, "warm reads back")
        # policy pass: with tiny windows, an object accessed once is
        # predicted far from its next access and goes cold; min age 0
        s.put_bytes("policy", b"policy driven " * 50000)
        knobs = ("--set", "objects.tier_min_age=0s", "--set", "objects.tier_hot_window=1ms",
                 "--set", "objects.tier_warm_window=2ms")
        rep = s.report(s.run("tier", *knobs))
        check(rep["moved"] >= 1, "tier pass moved objects: %s" % rep)
        check("tier=cold" in s.run("stat", "policy").stdout.decode(), "policy put it cold")
        check(s.get_bytes("policy")[1] == b"policy driven " * 50000, "cold reads back")
        # and with wide windows, recently read objects come back hot
        knobs = ("--set", "objects.tier_min_age=0s", "--set", "objects.tier_hot_window=1000h")
        s.run("tier", *knobs)
        check("tier=hot" in s.run("stat", "policy").stdout.decode(), "policy brought it back hot")
        p = s.run("tier", "text", "lukewarm", check=False)
        check(p.returncode == 2, "bad tier name is a usage error")
        # failures name what failed
        p = s.run("get", "missing", check=False)
        check(p.returncode == 1 and b"missing" in p.stderr and b"ENOENT" in p.stderr,
              "missing object: %r" % p.stderr)
        p = s.run("put", "x", "/nonexistent/file", check=False)
        check(p.returncode == 1 and b"/nonexistent/file" in p.stderr, "unreadable input")
        p = subprocess.run([BIN, "objects", "info", "--data", s.data, "--drives", "7"],
                           capture_output=True)
        check(p.returncode == 1 and b"fixed at creation" in p.stderr, "drive count is fixed")
        p = s.run("frobnicate", check=False)
        check(p.returncode == 2 and b"unknown subcommand" in p.stderr, "unknown subcommand")
        # rm + gc reclaim
        before = len(s.fragment_files())
        s.run("rm", "a/1", "a/2", "b", "text", "policy")
        rep = s.report(s.run("gc"))
        check(rep["stripes_freed"] >= 1 and len(s.fragment_files()) < before, "gc reclaimed")
        check(len(s.fragment_files()) == 0, "nothing left: %r" % s.fragment_files())
        check(s.run("ls").stdout == b"", "empty")
        # bench runs and prints both sides
        out = subprocess.run([BIN, "objects", "bench", "ec", "--size", "16"],
                             capture_output=True).stdout.decode()
        check("isal_raw_GBps" in out and "ratio" in out, out)
    finally:
        s.close()
    # --frag-max: a bad value is a usage error that leaves no store behind;
    # a good one is kept by the new store
    f = Store(drives=4)
    try:
        for bad in ("4000", "8k", "65m", "lots"):
            p = f.run("info", "--frag-max", bad, check=False)
            check(p.returncode == 2 and b"--frag-max" in p.stderr, "bad --frag-max %s: %r" % (bad, p.stderr))
        check(not os.path.exists(os.path.join(f.data, "index")), "no store made by a refused --frag-max")
        data = os.urandom(3_000_000)
        with open(os.path.join(f.scratch, "in"), "wb") as fh:
            fh.write(data)
        f.run("put", "big", os.path.join(f.scratch, "in"), "--frag-max", "2m")
        check(f.get_bytes("big")[1] == data, "2 MiB fragments read back")
        sizes = [os.path.getsize(x) for x in f.fragment_files()]
        check(max(sizes) > (1 << 20), "fragments larger than the 1 MiB default: %r" % sizes)
        check(f.report(f.run("fsck"))["errors"] == 0, "fsck clean")
        # an existing store keeps its fragment size: another value is a
        # usage error naming the store's value, the same value is fine
        p = f.run("put", "other", os.path.join(f.scratch, "in"), "--frag-max", "1m", check=False)
        check(p.returncode == 2 and b"--frag-max" in p.stderr and b"frag_max 2m" in p.stderr
              and b"fixed at creation" in p.stderr, "changed --frag-max refused: %r" % p.stderr)
        check(f.run("stat", "other", check=False).returncode == 1, "nothing put by a refused --frag-max")
        # the refusal comes from the store's open, for every command, and
        # names the value to give
        p = f.run("info", "--frag-max", "4m", check=False)
        check(p.returncode == 2 and b"--frag-max 4m: " in p.stderr and b"give 2m" in p.stderr,
              "info with another --frag-max refused: %r" % p.stderr)
        f.run("put", "other", os.path.join(f.scratch, "in"), "--frag-max", "2048k")
        check(f.get_bytes("other")[1] == data, "same --frag-max accepted")
    finally:
        f.close()
    print("ok")


main()
