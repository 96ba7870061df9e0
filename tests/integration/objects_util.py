"""Helpers shared by the objects_* integration tests: run the real
`hyperscale objects` binary against a temporary data directory."""
import os
import random
import shutil
import subprocess
import sys
import tempfile

BIN = os.environ.get("HYPERSCALE_BIN", "build/hyperscale")


class Store:
    def __init__(self, drives=6):
        self.tmp = tempfile.mkdtemp(prefix="hs-objects-")
        self.data = os.path.join(self.tmp, "data")
        self.drives = drives
        self.scratch = os.path.join(self.tmp, "scratch")
        os.makedirs(self.scratch)

    def run(self, *args, input_path=None, check=True, timeout=300):
        cmd = [BIN, "objects"] + list(args) + ["--data", self.data,
                                               "--drives", str(self.drives)]
        stdin = open(input_path, "rb") if input_path else subprocess.DEVNULL
        try:
            p = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout)
        finally:
            if input_path:
                stdin.close()
        if b"runtime error:" in p.stderr or b"Sanitizer" in p.stderr:
            raise AssertionError("sanitizer report from %s:\n%s" % (" ".join(cmd),
                                                                 p.stderr.decode(errors="replace")))
        if check and p.returncode != 0:
            raise AssertionError("%s -> %d\n%s\n%s" % (" ".join(cmd), p.returncode,
                                                       p.stdout.decode(errors="replace"),
                                                       p.stderr.decode(errors="replace")))
        return p

    def put_bytes(self, name, data):
        path = os.path.join(self.scratch, "in")
        with open(path, "wb") as f:
            f.write(data)
        return self.run("put", name, path)

    def get_bytes(self, name, check=True, extra=()):
        path = os.path.join(self.scratch, "out")
        if os.path.exists(path):
            os.unlink(path)
        p = self.run("get", name, path, *extra, check=check)
        data = open(path, "rb").read() if os.path.exists(path) else b""
        return p, data

    def report(self, p):
        """Parses the key=value report line a maintenance command prints."""
        out = {}
        for tok in p.stdout.decode().split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                if v.isdigit():
                    out[k] = int(v)
        return out

    def drive_dir(self, i):
        return os.path.join(self.data, "objects", "drives", "d%02d" % i)

    def fragment_files(self):
        out = []
        for i in range(self.drives):
            d = self.drive_dir(i)
            if os.path.isdir(d):
                out += [os.path.join(d, f) for f in sorted(os.listdir(d))]
        return out

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def random_objects(rng, count, max_size):
    objs = {}
    base = os.urandom(max_size)
    for i in range(count):
        size = rng.choice([0, 1, 1000, rng.randrange(1, max_size)])
        if i % 3 == 2 and objs:
            # shares most bytes with an earlier object: exercises dedup
            prev = objs[rng.choice(sorted(objs))]
            data = prev[: len(prev) // 2] + os.urandom(rng.randrange(1, 50000)) + prev[len(prev) // 2:]
        else:
            start = rng.randrange(0, max_size - size + 1)
            data = base[start:start + size] if i % 2 else os.urandom(size)
        objs["obj/%03d" % i] = data
    return objs


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)
