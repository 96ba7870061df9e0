"""Remove P drive directories: every object still reads back
byte-identical; heal restores full redundancy (P other drives can then
go); losing P+1 drives fails the read instead of returning wrong bytes."""
import os
import random
import shutil
import sys

import subprocess

from objects_util import BIN, Store, check, random_objects


def main():
    rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
    s = Store(drives=6)  # 4+2
    try:
        objs = random_objects(rng, 9, 3_000_000)
        for name, data in objs.items():
            s.put_bytes(name, data)
        info = s.run("info").stdout.decode()
        check("hot=4+2" in info, "default geometry of 6 drives is 4+2: " + info)

        lost = rng.sample(range(6), 2)
        for i in lost:
            shutil.rmtree(s.drive_dir(i))
        print("removed drives", lost)
        p = s.run("fsck", check=False)
        check(p.returncode == 1 and s.report(p)["frags_missing"] > 0,
              "fsck reports the missing fragments")
        # a rate-bounded scrub (which rebuilds what is missing) runs in the
        # background while every object is read: reads keep working
        stored = sum(os.path.getsize(f) for f in s.fragment_files())
        bg = subprocess.Popen([BIN, "objects", "scrub", "--rate", str(max(stored // 4, 1)),
                               "--data", s.data], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name, data in objs.items():
            _, got = s.get_bytes(name)
            check(got == data, "degraded read of %s is byte-identical" % name)
        check(bg.poll() is None, "the reads overlapped the running scrub")
        out, err = bg.communicate()
        check(bg.returncode == 0, "background scrub: %s %s" % (out, err))

        # put and read while degraded, too
        extra = rng.randbytes(700_000)
        s.put_bytes("degraded/new", extra)
        check(s.get_bytes("degraded/new")[1] == extra, "put while degraded")
        objs["degraded/new"] = extra

        p = s.run("heal")
        rep = s.report(p)
        print("heal:", rep)
        p = s.run("fsck", "--verify")
        rep = s.report(p)
        check(rep["frags_missing"] == 0 and rep["frags_corrupt"] == 0, "fsck clean after heal")

        others = [i for i in range(6) if i not in lost]
        again = rng.sample(others, 2)
        for i in again:
            shutil.rmtree(s.drive_dir(i))
        print("after heal removed drives", again)
        for name, data in objs.items():
            _, got = s.get_bytes(name)
            check(got == data, "redundancy restored: %s survives two more losses" % name)
        s.run("heal")

        # a drive that fails under a running store (its directory replaced by
        # a file): puts still succeed with <= P fragments missing, reads are
        # intact, heal restores the drive once it is back
        broken = s.drive_dir(rng.randrange(6))
        shutil.rmtree(broken)
        open(broken, "w").close()
        more = rng.randbytes(900_000)
        s.put_bytes("degraded/write", more)
        check(s.get_bytes("degraded/write")[1] == more, "degraded write reads back")
        objs["degraded/write"] = more
        os.unlink(broken)
        p = s.run("heal")
        check(s.report(p)["frags_rebuilt"] >= 1, "heal rebuilt the failed drive")
        rep = s.report(s.run("fsck", "--verify"))
        check(rep["frags_missing"] == 0, "clean after the failed drive came back")

        # P+1 = 3 drives gone: data loss must be an error, never wrong bytes
        for i in rng.sample(range(6), 3):
            shutil.rmtree(s.drive_dir(i))
        big = max(objs, key=lambda n: len(objs[n]))
        p, got = s.get_bytes(big, check=False)
        check(p.returncode != 0, "read with P+1 drives lost fails")
        check(objs[big].startswith(got), "bytes written before the failure are correct")
        check(b"input/output error" in p.stderr or b"EIO" in p.stderr, "clear message: %r" % p.stderr)
        print("ok")
    finally:
        s.close()


main()
