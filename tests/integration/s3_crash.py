"""kill -9 the whole origin (supervisor and worker, as a power cut would)
while several clients PUT objects and run multipart uploads, restart it on
the same data, and check: every PUT that got a 200 reads back
byte-identical, every visible object is exactly one of the bodies a client
sent for that key (never a torn or mixed one), and uploads that were not
completed stay invisible. Looped with different kill moments."""

import hashlib
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hslib import children, run, test  # noqa: E402
from s3lib import Origin  # noqa: E402


info = {}
mismatched = []


def writer(o, wid, stop, acked, sent, rng):
    c = o.client()
    n = 0
    while not stop.is_set():
        key = "w%d/k%d" % (wid, rng.randrange(6))
        try:
            if rng.random() < 0.15:
                parts = [os.urandom(5 << 20), os.urandom(rng.randrange(1, 300_000))]
                body = b"".join(parts)
                sent.setdefault(key, []).append(hashlib.md5(body).hexdigest())
                up = c.create_multipart_upload(Bucket="crash", Key=key)["UploadId"]
                etags = [c.upload_part(Bucket="crash", Key=key, UploadId=up, PartNumber=i + 1,
                                       Body=p)["ETag"] for i, p in enumerate(parts)]
                c.complete_multipart_upload(Bucket="crash", Key=key, UploadId=up, MultipartUpload={
                    "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
            else:
                body = os.urandom(rng.choice([0, 100, 40_000, 700_000, 3_000_000]))
                sent.setdefault(key, []).append(hashlib.md5(body).hexdigest())
                r = c.put_object(Bucket="crash", Key=key, Body=body)
                if r["ETag"] != '"%s"' % hashlib.md5(body).hexdigest():
                    mismatched.append((key, r["ETag"], hashlib.md5(body).hexdigest(), len(body),
                                       r["ResponseMetadata"]["RequestId"], r["ResponseMetadata"].get("RetryAttempts")))
                    continue
                info[key] = (r["ResponseMetadata"]["RequestId"], o.port)
            acked[key] = len(sent[key]) - 1  # index of the newest acknowledged body
            n += 1
        except Exception:
            if stop.is_set():
                return
            time.sleep(0.05)


def kill_all(o):
    pids = [o.srv.pid] + children(o.srv.pid)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    o.srv.proc.wait()


@test
def kill9_during_put_and_multipart_load():
    rng = random.Random(int(os.environ.get("HS_CRASH_SEED", "11")))
    iters = int(os.environ.get("HS_S3_CRASH_ITERS", "4"))
    o = Origin(workers=2).start()
    data = o.data
    o.client().create_bucket(Bucket="crash")
    acked, sent = {}, {}
    try:
        for it in range(iters):
            stop = threading.Event()
            ts = [threading.Thread(target=writer, args=(o, w, stop, acked, sent, random.Random(rng.random())))
                  for w in range(4)]
            for t in ts:
                t.start()
            time.sleep(rng.uniform(0.8, 3.0))
            kill_all(o)
            stop.set()
            for t in ts:
                t.join(60)
            # a PUT in flight when the server died is neither acked nor
            # refused: it may or may not be visible, but never torn
            o = Origin(workers=2, data=data).start()
            c = o.client()
            seen = {}
            for page in c.get_paginator("list_objects_v2").paginate(Bucket="crash"):
                for obj in page.get("Contents", []):
                    body = c.get_object(Bucket="crash", Key=obj["Key"])["Body"].read()
                    seen[obj["Key"]] = hashlib.md5(body).hexdigest()
                    etag = obj["ETag"].strip('"')
                    assert "-" in etag or etag == seen[obj["Key"]], "iteration %d: %s ETag %s but body md5 %s" % (
                        it, obj["Key"], etag, seen[obj["Key"]])
                    assert len(body) == obj["Size"], obj
            for key, md5 in seen.items():
                assert md5 in sent.get(key, ()), "iteration %d: %s holds bytes no client sent" % (it, key)
            # the newest ack of a key is visible, or a body sent after it
            # (in flight at the kill: it may have committed)
            for key, i in acked.items():
                assert key in seen, "iteration %d: acknowledged %s is gone" % (it, key)
                assert seen[key] in sent[key][i:], "iteration %d: %s went back to an older body (sent %s acked %d seen %s info %s port %d)" % (it, key, sent[key], i, seen[key], info.get(key), o.port)
            ups = c.list_multipart_uploads(Bucket="crash").get("Uploads", [])
            for u in ups:  # interrupted uploads: never objects, abortable
                c.abort_multipart_upload(Bucket="crash", Key=u["Key"], UploadId=u["UploadId"])
            acked.clear()
            for key, md5 in seen.items():
                sent[key] = [md5]
        assert not mismatched, "PUT answers with another body's ETag: %s" % mismatched[:3]
    finally:
        o.stop()
        o.cleanup()


if __name__ == "__main__":
    run(per_test_timeout=600)
