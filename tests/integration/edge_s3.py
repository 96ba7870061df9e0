"""The edge in front of the S3 origin: public objects are served from the
edge's cache (X-Cache: HIT, one origin fetch), revalidated with the
origin's ETag, and signed S3 traffic (PUT, private GETs, listings) passes
through unchanged, signatures intact."""

import hashlib
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hslib import Server, free_port, hs_argv, run, test  # noqa: E402
from s3lib import Origin  # noqa: E402


def fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        r = urllib.request.urlopen(req, timeout=10)
        return r.status, dict(r.getheaders()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def metric(admin_port, name):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin_port, timeout=5).read().decode()
    total = 0
    for line in body.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


@test
def edge_caches_public_s3_objects():
    o = Origin(workers=1).start()
    try:
        edge_port, origin_admin = free_port(), None
        edge = Server(hs_argv("edge", "--origin", o.url, "--listen", "127.0.0.1:%d" % edge_port,
                              "--workers", "1"), port=edge_port, name="edge").start()
        edge_url = "http://127.0.0.1:%d" % edge_port
        # signed S3 calls through the edge: the Host header reaches the
        # origin unchanged, so SigV4 still verifies
        c = o.client(url=edge_url)
        c.create_bucket(Bucket="pub")
        body = os.urandom(200_000)
        c.put_object(Bucket="pub", Key="img.bin", Body=body, CacheControl="public, max-age=60")
        c.put_object(Bucket="pub", Key="private-until-acl", Body=b"p")
        assert c.get_object(Bucket="pub", Key="img.bin")["Body"].read() == body
        assert [x["Key"] for x in c.list_objects_v2(Bucket="pub")["Contents"]] == ["img.bin", "private-until-acl"]
        # anonymous before the bucket is public: 403 from the origin, not cached
        st, h, _ = fetch(edge_url + "/pub/img.bin")
        assert st == 403, (st, h)
        c.put_bucket_acl(Bucket="pub", ACL="public-read")
        st, h1, b1 = fetch(edge_url + "/pub/img.bin")
        assert st == 200 and b1 == body, st
        st, h2, b2 = fetch(edge_url + "/pub/img.bin")
        assert st == 200 and b2 == body and h2.get("X-Cache", "").startswith("HIT"), h2
        assert h2.get("ETag") == '"%s"' % hashlib.md5(body).hexdigest(), h2
        # a range from the cached copy
        st, h3, b3 = fetch(edge_url + "/pub/img.bin", {"Range": "bytes=10-19"})
        assert st == 206 and b3 == body[10:20], (st, h3)
        # conditional from a browser: 304 from the edge
        st, _, _ = fetch(edge_url + "/pub/img.bin", {"If-None-Match": h2["ETag"]})
        assert st == 304, st
        # an overwrite through the edge invalidates the cached copy (unsafe method)
        c.put_object(Bucket="pub", Key="img.bin", Body=b"new", CacheControl="public, max-age=60")
        st, h4, b4 = fetch(edge_url + "/pub/img.bin")
        assert st == 200 and b4 == b"new", (st, b4[:20], h4)
        edge.stop()
    finally:
        o.stop()
        o.cleanup()


if __name__ == "__main__":
    run(per_test_timeout=120)
