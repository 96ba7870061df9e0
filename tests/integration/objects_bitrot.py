"""Flip random bytes in fragment files: detected (fsck --verify), never
served (every read is byte-identical), repaired (scrub, then a clean
fsck); corruption beyond P fragments of a stripe fails the read."""
import collections
import os
import random
import sys

from objects_util import Store, check, random_objects


def flip(path, rng):
    size = os.path.getsize(path)
    off = rng.randrange(size)
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ (1 << rng.randrange(8))]))
    return off


def by_stripe(files):
    groups = collections.defaultdict(list)
    for f in files:
        groups[os.path.basename(f).split(".")[0]].append(f)
    return groups


def main():
    rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    s = Store(drives=6)
    try:
        objs = random_objects(rng, 8, 4_000_000)
        for name, data in objs.items():
            s.put_bytes(name, data)

        for rnd in range(3):
            groups = by_stripe(s.fragment_files())
            flipped = 0
            for stripe, files in groups.items():
                # up to P = 2 bad fragments per stripe, a few bytes each
                for f in rng.sample(files, rng.randint(0, 2)):
                    for _ in range(rng.randint(1, 3)):
                        flip(f, rng)
                    flipped += 1
            print("round", rnd, "corrupted fragments:", flipped)
            check(flipped > 0, "something was corrupted")
            if rnd == 0:
                p = s.run("fsck", "--verify", check=False)
                rep = s.report(p)
                check(p.returncode == 1, "fsck --verify fails on corruption")
                check(rep["frags_corrupt"] + rep["frags_missing"] >= 1, "fsck detects: %s" % rep)
            if rnd == 1:
                # scrub first: it finds and rewrites everything
                p = s.run("scrub", "--rate", "0")
                rep = s.report(p)
                check(rep["frags_rebuilt"] >= 1, "scrub repaired: %s" % rep)
            for name, data in objs.items():
                _, got = s.get_bytes(name)
                check(got == data, "round %d: %s byte-identical" % (rnd, name))
            s.run("scrub", "--rate", "0")
            p = s.run("fsck", "--verify")
            rep = s.report(p)
            check(rep["frags_corrupt"] == 0 and rep["frags_missing"] == 0,
                  "clean after repair: %s" % rep)

        # the scrubber's rate bound holds: ~N bytes at R bytes/s take >= N/R
        import time
        stored = sum(os.path.getsize(f) for f in s.fragment_files())
        rate = max(stored // 2, 1)  # about two seconds
        t0 = time.monotonic()
        rep = s.report(s.run("scrub", "--rate", str(rate)))
        took = time.monotonic() - t0
        check(took >= 0.8 * rep["bytes_read"] / rate, "scrub honoured --rate (%.2fs, %s)" % (took, rep))

        # beyond P: three fragments of one stripe corrupted -> an error
        groups = by_stripe(s.fragment_files())
        # the largest stripe, its first three data fragments: live bytes
        stripe = max(groups, key=lambda g: os.path.getsize(groups[g][0]))
        for f in sorted(groups[stripe], key=lambda f: f.rsplit(".", 1)[1])[:3]:
            with open(f, "r+b") as fh:
                fh.seek(600)
                fh.write(b"\x00garbage\x00")
        failed = 0
        for name, data in objs.items():
            p, got = s.get_bytes(name, check=False)
            if p.returncode != 0:
                failed += 1
                check(data.startswith(got), "only correct bytes before the error")
            else:
                check(got == data, "unaffected object %s intact" % name)
        check(failed >= 1, "a stripe past repair makes its object fail")
        p = s.run("fsck", "--verify", check=False)
        check(p.returncode == 1 and s.report(p)["stripes_lost"] >= 1, "fsck names the lost stripe")
        print("ok")
    finally:
        s.close()


main()
