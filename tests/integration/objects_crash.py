"""kill -9 writers (and gc) at random moments, in a loop: after each kill
the store opens consistent (fsck clean), every acknowledged object reads
back intact, and gc reclaims what the killed writers left."""
import os
import random
import signal
import subprocess
import sys
import time

from objects_util import BIN, Store, check


def main():
    rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
    iters = int(os.environ.get("HS_CRASH_ITERS", "40"))
    s = Store(drives=6)
    acked = {}
    try:
        src = os.path.join(s.scratch, "src")
        with open(src, "wb") as f:
            f.write(os.urandom(24_000_000))
        srcdata = open(src, "rb").read()
        # several writer processes at once on one store (flock + LMDB across
        # processes), overlapping content so their dedup races
        procs = []
        for k in range(4):
            start = k * 1_000_000
            piece = os.path.join(s.scratch, "par%d" % k)
            with open(piece, "wb") as f:
                f.write(srcdata[start:start + 6_000_000])
            procs.append((k, start, subprocess.Popen(
                [BIN, "objects", "put", "par%d" % k, piece, "--data", s.data, "--drives", "6"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
        for k, start, p in procs:
            _, err = p.communicate()
            check(p.returncode == 0, "parallel put %d: %s" % (k, err.decode()))
            acked["par%d" % k] = srcdata[start:start + 6_000_000]
        for n, data in acked.items():
            check(s.get_bytes(n)[1] == data, "parallel put %s intact" % n)
        check(s.run("fsck", "--verify").returncode == 0, "fsck clean after parallel puts")

        killed = 0
        acks = 0
        for it in range(iters):
            size = rng.choice([10_000, 300_000, 3_000_000, 12_000_000])
            start = rng.randrange(0, len(srcdata) - size)
            piece = os.path.join(s.scratch, "piece%d" % it)
            with open(piece, "wb") as f:
                f.write(srcdata[start:start + size])
            name = "o%03d" % rng.randrange(12)  # names repeat: overwrites
            cmd = [BIN, "objects", "put", name, piece, "--data", s.data, "--drives", "6"]
            if it % 7 == 6 and acked:  # sometimes kill a tier move instead
                victim = rng.choice(sorted(acked))
                cmd = [BIN, "objects", "tier", victim, rng.choice(["warm", "cold", "hot"]),
                       "--data", s.data]
            elif it % 5 == 4:  # sometimes kill a delete + gc instead
                victim = rng.choice(sorted(acked)) if acked else name
                s.run("rm", victim, check=False)
                acked.pop(victim, None)
                cmd = [BIN, "objects", "gc", "--data", s.data]
            if cmd[2] == "put":
                # stream the object through stdin and kill at a random
                # point: mid-stream, or after the end (during the commit)
                cmd[4] = "-"
                p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
                data = srcdata[start:start + size]
                # every fourth put is left to finish, so acknowledged puts
                # are checked however slow the machine is
                kill_at = rng.uniform(0.0, 2.0) * len(data) if it % 4 != 3 else float("inf")
                step = max(len(data) // 8, 1)
                sent = 0
                try:
                    while sent < len(data) and sent < kill_at:
                        p.stdin.write(data[sent:sent + step])
                        p.stdin.flush()
                        sent += step
                    if sent >= len(data):
                        p.stdin.close()
                        if kill_at == float("inf"):
                            p.wait()
                        else:
                            time.sleep(rng.uniform(0.0, 0.4))
                except BrokenPipeError:
                    pass
            else:
                p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                time.sleep(rng.uniform(0.0, 0.05))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                killed += 1
            p.wait()
            out = p.stdout.read().decode()
            if cmd[2] == "put":
                if p.returncode == 0:
                    acked[name] = srcdata[start:start + size]   # acknowledged
                    acks += 1
                elif name in acked:
                    # a killed overwrite: old or new content, never a mix
                    _, got = s.get_bytes(name, check=False)
                    check(got in (acked[name], srcdata[start:start + size]),
                          "killed overwrite of %s left old or new bytes" % name)
                    acked[name] = got
            os.unlink(piece)
            # the store opens consistent after every kill
            p2 = s.run("fsck", check=False)
            check(p2.returncode == 0, "iteration %d: fsck clean after kill:\n%s%s" %
                  (it, p2.stdout.decode(), p2.stderr.decode()))
            for n, data in acked.items():
                _, got = s.get_bytes(n)
                check(got == data, "iteration %d: acknowledged %s intact" % (it, n))
        print("iterations", iters, "killed", killed, "acknowledged puts", acks,
              "live objects", len(acked))
        check(killed >= iters // 4, "the loop really killed writers")
        check(acks >= iters // 5, "some writers finished (and were checked)")
        rep = s.report(s.run("gc"))
        print("gc:", rep)
        rep = s.report(s.run("fsck", "--verify"))
        check(rep["orphans"] == 0 and rep["frags_corrupt"] == 0, "no orphans after gc: %s" % rep)
        for n, data in acked.items():
            check(s.get_bytes(n)[1] == data, "final: %s intact" % n)
        # every fragment file left belongs to a live stripe
        check(len(s.fragment_files()) == rep["stripes"] * 6, "no leaked files")
        print("ok")
    finally:
        s.close()


main()
