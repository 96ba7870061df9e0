"""The S3 API through boto3 (Debian's python3-boto3): every call the origin
implements, its error cases, SigV4 (headers, presigned URLs, bad and
skewed signatures) and bad input, against one `hyperscale origin`."""

import hashlib
import http.client
import os
import socket
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hslib import free_port, http_get, run, test, try_get  # noqa: E402
from s3lib import AK, SK, Origin, expect_error  # noqa: E402

O = None


def origin():
    global O
    if O is None:
        O = Origin().start()
        O.srv.shared = True
    return O


def s3():
    return origin().client()


def raw(method, path, body=None, headers=None):
    """An unsigned request; returns (status, headers, body)."""
    c = http.client.HTTPConnection("127.0.0.1", origin().port, timeout=10)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


@test
def buckets_create_list_head_delete():
    c = s3()
    c.create_bucket(Bucket="b-basic")
    names = [b["Name"] for b in c.list_buckets()["Buckets"]]
    assert "b-basic" in names, names
    c.head_bucket(Bucket="b-basic")
    loc = c.get_bucket_location(Bucket="b-basic")
    assert loc.get("LocationConstraint") in (None, "", "us-east-1"), loc
    expect_error("BucketAlreadyOwnedByYou", c.create_bucket, Bucket="b-basic")
    c.put_object(Bucket="b-basic", Key="k", Body=b"x")
    expect_error("BucketNotEmpty", c.delete_bucket, Bucket="b-basic")
    c.delete_object(Bucket="b-basic", Key="k")
    c.delete_bucket(Bucket="b-basic")
    expect_error("NoSuchBucket", c.delete_bucket, Bucket="b-basic")
    expect_error("404", c.head_bucket, Bucket="b-basic")
    for bad in ("UPPER", "a", "x" * 64, "-lead", "trail-", "a..b", "192.168.1.1"):
        expect_error("InvalidBucketName", c.create_bucket, Bucket=bad)


@test
def object_put_get_head_metadata():
    c = s3()
    c.create_bucket(Bucket="b-obj")
    body = os.urandom(300_000)
    r = c.put_object(Bucket="b-obj", Key="dir/file.bin", Body=body, ContentType="application/x-test",
                     CacheControl="max-age=60", ContentDisposition="attachment", ContentEncoding="identity",
                     ContentLanguage="en", Metadata={"color": "blue", "Mixed-Case": "v"})
    assert r["ETag"] == '"%s"' % hashlib.md5(body).hexdigest(), r["ETag"]
    g = c.get_object(Bucket="b-obj", Key="dir/file.bin")
    assert g["Body"].read() == body
    assert g["ContentType"] == "application/x-test"
    assert g["CacheControl"] == "private, max-age=60", g["CacheControl"]  # not public-read
    assert g["ContentDisposition"] == "attachment"
    assert g["ContentLanguage"] == "en"
    assert g["Metadata"] == {"color": "blue", "mixed-case": "v"}, g["Metadata"]
    assert g["ContentLength"] == len(body)
    h = c.head_object(Bucket="b-obj", Key="dir/file.bin")
    assert h["ContentLength"] == len(body) and h["ETag"] == r["ETag"]
    assert h["AcceptRanges"] == "bytes"
    expect_error("NoSuchKey", c.get_object, Bucket="b-obj", Key="missing")
    expect_error("404", c.head_object, Bucket="b-obj", Key="missing")
    expect_error("NoSuchBucket", c.get_object, Bucket="no-such-bucket", Key="k")
    # overwrite, then small object (L2 path) and empty object
    c.put_object(Bucket="b-obj", Key="dir/file.bin", Body=b"new")
    assert c.get_object(Bucket="b-obj", Key="dir/file.bin")["Body"].read() == b"new"
    c.put_object(Bucket="b-obj", Key="empty", Body=b"")
    g = c.get_object(Bucket="b-obj", Key="empty")
    assert g["Body"].read() == b"" and g["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


@test
def object_keys_with_odd_characters():
    c = s3()
    c.create_bucket(Bucket="b-keys")
    keys = ["a b", "plus+sign", "tilde~", "eq=amp&", "unicode-é-日本", "q?mark", "hash#", "pct%20",
            "dir//double", "./dot", "trailing/", "x" * 1024]
    for k in keys:
        c.put_object(Bucket="b-keys", Key=k, Body=k.encode())
    for k in keys:
        assert c.get_object(Bucket="b-keys", Key=k)["Body"].read() == k.encode(), k
    listed = [o["Key"] for o in c.list_objects_v2(Bucket="b-keys")["Contents"]]
    assert sorted(listed) == sorted(keys), listed
    expect_error("KeyTooLongError", c.put_object, Bucket="b-keys", Key="y" * 1025, Body=b"")


@test
def ranges_and_conditionals():
    c = s3()
    c.create_bucket(Bucket="b-range")
    body = os.urandom(1_000_000)
    etag = c.put_object(Bucket="b-range", Key="r", Body=body)["ETag"]
    g = c.get_object(Bucket="b-range", Key="r", Range="bytes=100-199")
    assert g["Body"].read() == body[100:200] and g["ContentRange"] == "bytes 100-199/1000000"
    assert c.get_object(Bucket="b-range", Key="r", Range="bytes=-10")["Body"].read() == body[-10:]
    assert c.get_object(Bucket="b-range", Key="r", Range="bytes=999990-")["Body"].read() == body[-10:]
    expect_error("InvalidRange", c.get_object, Bucket="b-range", Key="r", Range="bytes=2000000-")
    assert c.get_object(Bucket="b-range", Key="r", IfMatch=etag)["ContentLength"] == len(body)
    expect_error("PreconditionFailed", c.get_object, Bucket="b-range", Key="r", IfMatch='"nope"')
    expect_error("304", c.get_object, Bucket="b-range", Key="r", IfNoneMatch=etag)
    past = time.time() - 3600
    future = time.time() + 3600
    import datetime
    ts = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc)  # noqa: E731
    expect_error("304", c.get_object, Bucket="b-range", Key="r", IfModifiedSince=ts(future))
    assert c.get_object(Bucket="b-range", Key="r", IfModifiedSince=ts(past))["ContentLength"] == len(body)
    expect_error("PreconditionFailed", c.get_object, Bucket="b-range", Key="r", IfUnmodifiedSince=ts(past))
    # small objects answer from L2: same rules
    small_etag = c.put_object(Bucket="b-range", Key="s", Body=b"0123456789")["ETag"]
    c.get_object(Bucket="b-range", Key="s")["Body"].read()
    assert c.get_object(Bucket="b-range", Key="s", Range="bytes=2-4")["Body"].read() == b"234"
    expect_error("304", c.get_object, Bucket="b-range", Key="s", IfNoneMatch=small_etag)


@test
def listing_v1_v2_versions():
    c = s3()
    c.create_bucket(Bucket="b-list")
    keys = ["a/1", "a/2", "a/b/3", "b/1", "c", "d/x/y"] + ["m/%04d" % i for i in range(25)]
    for k in keys:
        c.put_object(Bucket="b-list", Key=k, Body=b"v")
    r = c.list_objects_v2(Bucket="b-list", Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "b/", "d/", "m/"], r
    assert [o["Key"] for o in r["Contents"]] == ["c"]
    r = c.list_objects_v2(Bucket="b-list", Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/b/"]
    got, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = c.list_objects_v2(Bucket="b-list", Prefix="m/", MaxKeys=7, **kw)
        got += [o["Key"] for o in r["Contents"]]
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    assert got == ["m/%04d" % i for i in range(25)], got
    r = c.list_objects_v2(Bucket="b-list", StartAfter="m/0020")
    assert [o["Key"] for o in r["Contents"]] == ["m/%04d" % i for i in range(21, 25)]
    p = c.get_paginator("list_objects")
    v1 = [o["Key"] for page in p.paginate(Bucket="b-list", PaginationConfig={"PageSize": 4})
          for o in page.get("Contents", [])]
    assert v1 == sorted(keys), v1
    r = c.list_objects(Bucket="b-list", Marker="m/0023")
    assert [o["Key"] for o in r["Contents"]] == ["m/0024"]
    r = c.list_objects_v2(Bucket="b-list", Prefix="a b", EncodingType="url")
    assert r["KeyCount"] == 0
    v = c.list_object_versions(Bucket="b-list", Prefix="a/")
    assert [x["Key"] for x in v["Versions"]] == ["a/1", "a/2", "a/b/3"]
    assert all(x["VersionId"] == "null" and x["IsLatest"] for x in v["Versions"])
    expect_error("NoSuchBucket", c.list_objects_v2, Bucket="no-such-bucket")
    r = c.list_objects_v2(Bucket="b-list", MaxKeys=0)
    assert r["KeyCount"] == 0


@test
def delete_objects_and_copy():
    c = s3()
    c.create_bucket(Bucket="b-del")
    for i in range(5):
        c.put_object(Bucket="b-del", Key="k%d" % i, Body=b"%d" % i)
    r = c.delete_objects(Bucket="b-del", Delete={"Objects": [{"Key": "k%d" % i} for i in range(3)] +
                                                 [{"Key": "absent"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["absent", "k0", "k1", "k2"], r
    left = [o["Key"] for o in c.list_objects_v2(Bucket="b-del")["Contents"]]
    assert left == ["k3", "k4"], left
    c.delete_object(Bucket="b-del", Key="absent")  # 204 for a missing key
    body = os.urandom(3_000_000)
    c.put_object(Bucket="b-del", Key="src", Body=body, ContentType="text/x-src", Metadata={"a": "1"})
    r = c.copy_object(Bucket="b-del", Key="dst", CopySource={"Bucket": "b-del", "Key": "src"})
    assert r["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    g = c.get_object(Bucket="b-del", Key="dst")
    assert g["Body"].read() == body and g["ContentType"] == "text/x-src" and g["Metadata"] == {"a": "1"}
    c.copy_object(Bucket="b-del", Key="dst2", CopySource="b-del/src", MetadataDirective="REPLACE",
                  ContentType="text/new", Metadata={"b": "2"})
    h = c.head_object(Bucket="b-del", Key="dst2")
    assert h["ContentType"] == "text/new" and h["Metadata"] == {"b": "2"}
    expect_error("NoSuchKey", c.copy_object, Bucket="b-del", Key="x", CopySource="b-del/missing")
    expect_error("InvalidRequest", c.copy_object, Bucket="b-del", Key="src", CopySource="b-del/src")
    expect_error("PreconditionFailed", c.copy_object, Bucket="b-del", Key="y", CopySource="b-del/src",
                 CopySourceIfMatch='"other"')
    acl = c.get_object_acl(Bucket="b-del", Key="src")
    assert acl["Grants"][0]["Permission"] == "FULL_CONTROL"


@test
def multipart_upload():
    c = s3()
    c.create_bucket(Bucket="b-mpu")
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024), os.urandom(1234)]
    up = c.create_multipart_upload(Bucket="b-mpu", Key="big", ContentType="video/x-test",
                                   Metadata={"m": "1"})
    uid = up["UploadId"]
    etags = []
    for i, p in enumerate(parts, 1):
        etags.append(c.upload_part(Bucket="b-mpu", Key="big", UploadId=uid, PartNumber=i, Body=p)["ETag"])
    lp = c.list_parts(Bucket="b-mpu", Key="big", UploadId=uid)
    assert [p["PartNumber"] for p in lp["Parts"]] == [1, 2, 3]
    ups = c.list_multipart_uploads(Bucket="b-mpu")
    assert [u["UploadId"] for u in ups["Uploads"]] == [uid]
    expect_error("InvalidPartOrder", c.complete_multipart_upload, Bucket="b-mpu", Key="big", UploadId=uid,
                 MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": etags[1]},
                                            {"PartNumber": 1, "ETag": etags[0]}]})
    expect_error("InvalidPart", c.complete_multipart_upload, Bucket="b-mpu", Key="big", UploadId=uid,
                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
    r = c.complete_multipart_upload(Bucket="b-mpu", Key="big", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": i, "ETag": e} for i, e in enumerate(etags, 1)]})
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert r["ETag"] == '"%s-3"' % hashlib.md5(md5s).hexdigest(), r["ETag"]
    whole = b"".join(parts)
    g = c.get_object(Bucket="b-mpu", Key="big")
    assert g["Body"].read() == whole and g["ContentType"] == "video/x-test" and g["Metadata"] == {"m": "1"}
    rg = c.get_object(Bucket="b-mpu", Key="big", Range="bytes=5242000-5243000")["Body"].read()
    assert rg == whole[5242000:5243001]
    p2 = c.get_object(Bucket="b-mpu", Key="big", PartNumber=2)
    assert p2["Body"].read() == parts[1] and p2["PartsCount"] == 3
    expect_error("NoSuchUpload", c.upload_part, Bucket="b-mpu", Key="big", UploadId=uid, PartNumber=1, Body=b"x")
    # too-small part, abort, UploadPartCopy
    up = c.create_multipart_upload(Bucket="b-mpu", Key="small")
    e1 = c.upload_part(Bucket="b-mpu", Key="small", UploadId=up["UploadId"], PartNumber=1, Body=b"a")["ETag"]
    e2 = c.upload_part(Bucket="b-mpu", Key="small", UploadId=up["UploadId"], PartNumber=2, Body=b"b")["ETag"]
    expect_error("EntityTooSmall", c.complete_multipart_upload, Bucket="b-mpu", Key="small",
                 UploadId=up["UploadId"], MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                                                      {"PartNumber": 2, "ETag": e2}]})
    c.abort_multipart_upload(Bucket="b-mpu", Key="small", UploadId=up["UploadId"])
    expect_error("NoSuchUpload", c.list_parts, Bucket="b-mpu", Key="small", UploadId=up["UploadId"])
    up = c.create_multipart_upload(Bucket="b-mpu", Key="copied")
    cp = c.upload_part_copy(Bucket="b-mpu", Key="copied", UploadId=up["UploadId"], PartNumber=1,
                            CopySource="b-mpu/big", CopySourceRange="bytes=0-5242879")
    e2 = c.upload_part(Bucket="b-mpu", Key="copied", UploadId=up["UploadId"], PartNumber=2, Body=b"tail")["ETag"]
    c.complete_multipart_upload(Bucket="b-mpu", Key="copied", UploadId=up["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": cp["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": e2}]})
    assert c.get_object(Bucket="b-mpu", Key="copied")["Body"].read() == parts[0] + b"tail"


@test
def presigned_urls_and_public_buckets():
    c = s3()
    c.create_bucket(Bucket="b-pre")
    c.put_object(Bucket="b-pre", Key="p", Body=b"presigned body", CacheControl="max-age=5")
    url = c.generate_presigned_url("get_object", Params={"Bucket": "b-pre", "Key": "p"}, ExpiresIn=60)
    assert urllib.request.urlopen(url).read() == b"presigned body"
    put_url = c.generate_presigned_url("put_object", Params={"Bucket": "b-pre", "Key": "q"}, ExpiresIn=60)
    req = urllib.request.Request(put_url, data=b"via presigned put", method="PUT")
    urllib.request.urlopen(req).read()
    assert c.get_object(Bucket="b-pre", Key="q")["Body"].read() == b"via presigned put"
    i = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    bad = url[:i] + ("1" if url[i] == "0" else "0") + url[i + 1:]
    st, _, body = raw("GET", bad[len(origin().url):])
    assert st == 403 and b"SignatureDoesNotMatch" in body, (st, body)
    st, _, body = raw("GET", "/b-pre/p")
    assert st == 403 and b"AccessDenied" in body, (st, body)
    c.put_bucket_acl(Bucket="b-pre", ACL="public-read")
    st, h, body = raw("GET", "/b-pre/p")
    assert st == 200 and body == b"presigned body" and h.get("Cache-Control") == "max-age=5", (st, h)
    st, _, body = raw("PUT", "/b-pre/anon", body=b"x")
    assert st == 403, st  # public-read never means anonymous writes
    grants = c.get_bucket_acl(Bucket="b-pre")["Grants"]
    assert any(g["Permission"] == "READ" for g in grants), grants
    c.put_bucket_acl(Bucket="b-pre", ACL="private")
    st, _, _ = raw("GET", "/b-pre/p")
    assert st == 403


def signed_raw(method, path, body=b"", headers=None, host=None):
    """A request signed by botocore for http://HOST:PORT<path>, sent to the
    origin's loopback address (so BUCKET.localhost needs no resolver)."""
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    host = host or "127.0.0.1"
    url = "http://%s:%d%s" % (host, origin().port, path)
    req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=headers or {})
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(AK, SK), "s3", "us-east-1").add_auth(req)
    h = dict(req.headers)
    h["Host"] = "%s:%d" % (host, origin().port)
    return raw(method, path, body=body, headers=h)


@test
def virtual_host_style():
    st, _, body = signed_raw("PUT", "/", host="b-vhost.localhost")
    assert st == 200, (st, body)
    st, _, body = signed_raw("PUT", "/dir/v", b"vhost", host="b-vhost.localhost")
    assert st == 200, (st, body)
    assert s3().get_object(Bucket="b-vhost", Key="dir/v")["Body"].read() == b"vhost"
    st, _, body = signed_raw("GET", "/dir/v", host="b-vhost.localhost")
    assert st == 200 and body == b"vhost", (st, body)
    st, _, body = signed_raw("GET", "/?list-type=2", host="b-vhost.localhost")
    assert st == 200 and b"<Key>dir/v</Key>" in body, (st, body)


@test
def auth_errors():
    o = origin()
    bad = o.client(sk="wrong-secret-key-wrong-secret-key-00000")
    expect_error("SignatureDoesNotMatch", bad.list_buckets)
    unknown = o.client(ak="UNKNOWNKEY0000000000")
    expect_error("InvalidAccessKeyId", unknown.list_buckets)
    st, _, body = raw("GET", "/", headers={"Authorization": "AWS4-HMAC-SHA256 garbage"})
    assert st in (400, 403) and b"<Code>" in body, (st, body)
    # a request signed for 20 minutes ago
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    import datetime
    creds = botocore.credentials.Credentials(AK, SK)
    req = botocore.awsrequest.AWSRequest(method="GET", url=o.url + "/")
    signer = botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1")
    orig = datetime.datetime
    try:
        datetime.datetime = type("D", (orig,), {
            "utcnow": staticmethod(lambda: orig.utcnow() - datetime.timedelta(minutes=20))})
        signer.add_auth(req)
    finally:
        datetime.datetime = orig
    st, _, body = raw("GET", "/", headers=dict(req.headers))
    assert st == 403 and b"RequestTimeTooSkewed" in body, (st, body)


@test
def bad_input_is_answered_and_service_continues():
    c = s3()
    c.create_bucket(Bucket="b-bad")
    # malformed XML bodies
    from botocore.exceptions import ClientError
    st, _, body = raw("POST", "/b-bad?delete", body=b"<Delete><Object><Key>x</Key></Object>")
    assert st == 403  # unsigned: auth comes first
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    creds = botocore.credentials.Credentials(AK, SK)

    def signed(method, path, body=b"", headers=None):
        req = botocore.awsrequest.AWSRequest(method=method, url=origin().url + path, data=body,
                                             headers=headers or {})
        botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
        return raw(method, path, body=body, headers=dict(req.headers))

    for doc in (b"<Delete><Object><Key>x</Key></Object>", b"not xml",
                b'<!DOCTYPE d [<!ENTITY e "x">]><Delete><Object><Key>&e;</Key></Object></Delete>',
                b"<Delete></Delete>"):
        st, h, body = signed("POST", "/b-bad?delete", doc)
        assert st == 400 and b"MalformedXML" in body, (doc, st, body)
        assert h.get("x-amz-request-id"), h
    st, _, body = signed("PUT", "/b-bad/k", b"abc", {"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="})
    assert st == 400 and b"BadDigest" in body, (st, body)
    st, _, body = signed("PUT", "/b-bad/k", b"abc", {"x-amz-storage-class": "NOPE"})
    assert st == 400 and b"InvalidStorageClass" in body, (st, body)
    st, _, body = signed("GET", "/b-bad?cors")
    assert st == 501 and b"NotImplemented" in body, (st, body)
    st, _, body = signed("PUT", "/b-bad/meta", b"x", {"x-amz-meta-big": "v" * 3000})
    assert st == 400 and b"MetadataTooLarge" in body, (st, body)
    # a body whose SHA-256 differs from the signed x-amz-content-sha256
    req = botocore.awsrequest.AWSRequest(method="PUT", url=origin().url + "/b-bad/sha", data=b"signed")
    botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    hdr = dict(req.headers)
    st, _, body = raw("PUT", "/b-bad/sha", body=b"SIGNED", headers=hdr)
    assert st in (400, 403) and (b"XAmzContentSHA256Mismatch" in body or b"SignatureDoesNotMatch" in body), (st, body)
    expect_error("NoSuchKey", c.get_object, Bucket="b-bad", Key="sha")
    # a truncated upload: nothing becomes visible
    s = socket.create_connection(("127.0.0.1", origin().port))
    req = botocore.awsrequest.AWSRequest(method="PUT", url=origin().url + "/b-bad/cut", data=b"x" * 100000,
                                         headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    head = "PUT /b-bad/cut HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv for kv in req.headers.items())
    head += "Content-Length: 100000\r\n\r\n"
    s.sendall(head.encode() + b"x" * 5000)
    s.close()
    time.sleep(0.3)
    expect_error("NoSuchKey", c.get_object, Bucket="b-bad", Key="cut")
    # and the server still serves
    c.put_object(Bucket="b-bad", Key="after", Body=b"fine")
    assert c.get_object(Bucket="b-bad", Key="after")["Body"].read() == b"fine"
    del ClientError


@test
def clients_that_leave_mid_answer():
    """Readers that hang up in the middle of a large object, a cached small
    one and a listing, and writers that vanish mid-body: the server frees
    everything (the ASan build checks) and keeps serving."""
    c = s3()
    c.create_bucket(Bucket="b-leave")
    c.put_bucket_acl(Bucket="b-leave", ACL="public-read")
    big = os.urandom(3_000_000)
    c.put_object(Bucket="b-leave", Key="big", Body=big)
    c.put_object(Bucket="b-leave", Key="small", Body=b"s" * 5000)
    for path, n in (("/b-leave/big", 1000), ("/b-leave/big", 0), ("/b-leave/small", 10)) * 5:
        s = socket.create_connection(("127.0.0.1", origin().port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        if n:
            s.recv(n)
        s.close()
    for i in range(5):
        s = socket.create_connection(("127.0.0.1", origin().port))
        s.sendall(b"PUT /b-leave/gone HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000\r\n"
                  b"Authorization: AWS4-HMAC-SHA256 Credential=x\r\n\r\n" + b"z" * 100000)
        s.close()
    time.sleep(0.3)
    assert c.get_object(Bucket="b-leave", Key="big")["Body"].read() == big
    st, _, body = raw("GET", "/b-leave/small")
    assert st == 200 and body == b"s" * 5000


@test
def bucket_default_cache_control_and_headers_for_caches():
    c = s3()
    c.create_bucket(Bucket="b-cc")

    def add_cc(request, **kw):
        request.headers["x-hyperscale-cache-control"] = "public, max-age=300"
    c.meta.events.register("before-sign.s3.PutBucketAcl", add_cc)
    c.put_bucket_acl(Bucket="b-cc", ACL="public-read")
    c.put_object(Bucket="b-cc", Key="dflt", Body=b"d")
    c.put_object(Bucket="b-cc", Key="own", Body=b"o", CacheControl="no-cache")
    st, h, _ = raw("GET", "/b-cc/dflt")
    assert st == 200 and h.get("Cache-Control") == "public, max-age=300", h
    assert h.get("ETag") and h.get("Last-Modified") and h.get("Accept-Ranges") == "bytes", h
    st, h2, _ = raw("GET", "/b-cc/dflt", headers={"If-None-Match": h["ETag"]})
    assert st == 304, st
    st, h, _ = raw("GET", "/b-cc/own")
    assert h.get("Cache-Control") == "no-cache", h


def key_cache_counts(port):
    """(hits, misses) of the SigV4 signing-key cache from /metrics."""
    text = http_get(port, "/metrics").body.decode()
    got = {}
    for line in text.splitlines():
        for what in ("hits", "misses"):
            name = "hs_origin_sigv4_key_cache_%s_total" % what
            if line.startswith(name + " ") or line.startswith(name + "{"):
                got[what] = got.get(what, 0) + float(line.rsplit(" ", 1)[1])
    assert set(got) == {"hits", "misses"}, "key cache counters missing from /metrics"
    return got["hits"], got["misses"]


@test
def sigv4_key_cache_metrics():
    aport = free_port()
    o = Origin(workers=1, extra=("--admin", "127.0.0.1:%d" % aport), name="origin-admin").start()
    try:
        for _ in range(200):  # the admin listener may come up just after the S3 one
            if try_get(aport, "/metrics") == 200:
                break
            time.sleep(0.05)
        assert key_cache_counts(aport) == (0, 0), "exported at 0 before any signed request"
        c = o.client()
        c.create_bucket(Bucket="b-keycache")
        c.put_object(Bucket="b-keycache", Key="k", Body=b"cached key")
        h0, m0 = key_cache_counts(aport)
        assert m0 >= 1, "the first signed request derives its key"
        for _ in range(20):
            assert c.get_object(Bucket="b-keycache", Key="k")["Body"].read() == b"cached key"
        h1, m1 = key_cache_counts(aport)
        # one lookup per signed GET; 20 GETs on fewer threads than that
        # must find a key some thread derived before
        assert (h1 + m1) - (h0 + m0) >= 20, (h0, m0, h1, m1)
        assert h1 > h0, (h0, m0, h1, m1)
    finally:
        o.stop()
        o.cleanup()


if __name__ == "__main__":
    try:
        run(per_test_timeout=120)
    finally:
        if O:
            O.cleanup()
