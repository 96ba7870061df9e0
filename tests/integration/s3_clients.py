"""Real S3 command-line clients against `hyperscale origin`: Debian's aws
CLI (cp, sync, ls, rm, a multipart upload of a large file, presign), s3cmd
and rclone. Each client's own integrity checks (MD5/ETag comparisons) run
too."""

import filecmp
import os
import shutil
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hslib import SkipTest, run, test  # noqa: E402
from s3lib import AK, SK, Origin  # noqa: E402

O = None


def origin():
    global O
    if O is None:
        O = Origin().start()
        O.srv.shared = True
    return O


def tree(root, files):
    for name, size in files.items():
        p = os.path.join(root, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(os.urandom(size))


def same_tree(a, b):
    cmp = filecmp.dircmp(a, b)

    def walk(c):
        assert not c.left_only and not c.right_only and not c.diff_files, (
            c.left_only, c.right_only, c.diff_files)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        assert not mismatch and not errors, (mismatch, errors)
        for sub in c.subdirs.values():
            walk(sub)
    walk(cmp)


@test
def awscli_cp_sync_ls_rm_presign():
    o = origin()
    src = os.path.join(o.tmp, "aws-src")
    tree(src, {"a.txt": 10, "dir/b.bin": 200_000, "dir/sub/c.bin": 1, "empty": 0, "sp ace.txt": 5})
    o.aws("s3", "mb", "s3://aws-bucket")
    o.aws("s3", "cp", os.path.join(src, "a.txt"), "s3://aws-bucket/a.txt")
    out = os.path.join(o.tmp, "a.out")
    o.aws("s3", "cp", "s3://aws-bucket/a.txt", out)
    assert open(out, "rb").read() == open(os.path.join(src, "a.txt"), "rb").read()
    o.aws("s3", "sync", src, "s3://aws-bucket/tree")
    ls = o.aws("s3", "ls", "--recursive", "s3://aws-bucket/tree/").stdout
    for k in ("tree/a.txt", "tree/dir/b.bin", "tree/dir/sub/c.bin", "tree/empty", "tree/sp ace.txt"):
        assert k in ls, ls
    back = os.path.join(o.tmp, "aws-back")
    o.aws("s3", "sync", "s3://aws-bucket/tree", back)
    same_tree(src, back)
    # a second sync uploads nothing
    again = o.aws("s3", "sync", src, "s3://aws-bucket/tree").stdout
    assert "upload:" not in again, again
    url = o.aws("s3", "presign", "s3://aws-bucket/a.txt", "--expires-in", "60").stdout.strip()
    assert urllib.request.urlopen(url).read() == open(os.path.join(src, "a.txt"), "rb").read()
    o.aws("s3", "rm", "--recursive", "s3://aws-bucket/tree")
    assert "tree/" not in o.aws("s3", "ls", "--recursive", "s3://aws-bucket/").stdout
    o.aws("s3api", "head-object", "--bucket", "aws-bucket", "--key", "a.txt")
    p = o.aws("s3api", "head-object", "--bucket", "aws-bucket", "--key", "nope", check=False)
    assert p.returncode != 0 and "404" in p.stderr, p.stderr


@test
def awscli_multipart_large_file():
    o = origin()
    big = os.path.join(o.tmp, "big.bin")
    with open(big, "wb") as f:
        for _ in range(40):
            f.write(os.urandom(1 << 20))
    o.aws("s3", "mb", "s3://aws-mpu")
    # 8 MiB parts: five parts plus the rest, uploaded in parallel by the CLI
    cfg = os.path.join(o.cli_env()["HOME"], "awsconfig")
    with open(cfg, "w") as f:
        f.write("[default]\ns3 =\n  multipart_threshold = 8MB\n  multipart_chunksize = 8MB\n")
    o.aws("s3", "cp", big, "s3://aws-mpu/big.bin")
    head = o.aws("s3api", "head-object", "--bucket", "aws-mpu", "--key", "big.bin").stdout
    assert '-5' in head and "41943040" in head, head
    out = os.path.join(o.tmp, "big.out")
    o.aws("s3", "cp", "s3://aws-mpu/big.bin", out)
    assert filecmp.cmp(big, out, shallow=False)
    os.unlink(cfg)


@test
def s3cmd_put_get_ls_del():
    if not shutil.which("s3cmd"):
        raise SkipTest("s3cmd not installed")
    o = origin()
    cfg = os.path.join(o.tmp, "s3cfg")
    with open(cfg, "w") as f:
        f.write("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = 127.0.0.1:%d\n"
                "host_bucket = 127.0.0.1:%d\nuse_https = False\nsignature_v2 = False\n"
                "bucket_location = us-east-1\n" % (AK, SK, o.port, o.port))

    def s3cmd(*a):
        p = subprocess.run(["s3cmd", "-c", cfg, *a], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, "s3cmd %s: %s %s" % (" ".join(a), p.stdout, p.stderr)
        return p.stdout
    src = os.path.join(o.tmp, "s3cmd-src")
    tree(src, {"x.bin": 300_000, "y/z.txt": 7})
    s3cmd("mb", "s3://s3cmd-bucket")
    s3cmd("put", "--recursive", src + "/", "s3://s3cmd-bucket/t/")
    ls = s3cmd("ls", "--recursive", "s3://s3cmd-bucket/")
    assert "t/x.bin" in ls and "t/y/z.txt" in ls, ls
    out = os.path.join(o.tmp, "s3cmd-x")
    s3cmd("get", "s3://s3cmd-bucket/t/x.bin", out)
    assert filecmp.cmp(out, os.path.join(src, "x.bin"), shallow=False)
    s3cmd("del", "--recursive", "--force", "s3://s3cmd-bucket/t/")
    s3cmd("rb", "s3://s3cmd-bucket")


@test
def rclone_copy_check_delete():
    if not shutil.which("rclone"):
        raise SkipTest("rclone not installed")
    o = origin()
    # AWS_* variables of the host (a CA bundle, a profile) must not steer rclone
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(RCLONE_CONFIG_HS_TYPE="s3", RCLONE_CONFIG_HS_PROVIDER="Other",
               RCLONE_CONFIG_HS_ENV_AUTH="false", RCLONE_CONFIG_HS_ACCESS_KEY_ID=AK,
               RCLONE_CONFIG_HS_SECRET_ACCESS_KEY=SK, RCLONE_CONFIG_HS_ENDPOINT=o.url,
               RCLONE_CONFIG_HS_REGION="us-east-1", RCLONE_CONFIG=os.path.join(o.tmp, "rclone.conf"))

    def rc(*a):
        p = subprocess.run(["rclone", *a], capture_output=True, text=True, env=env, timeout=180)
        assert p.returncode == 0, "rclone %s: %s %s" % (" ".join(a), p.stdout, p.stderr)
        return p.stdout
    src = os.path.join(o.tmp, "rclone-src")
    tree(src, {"one.bin": 123_456, "two/three.bin": 6_000_000, "four.txt": 0})
    rc("mkdir", "hs:rclone-bucket")
    rc("copy", src, "hs:rclone-bucket/data")
    rc("check", src, "hs:rclone-bucket/data")  # compares sizes and MD5 (ETag)
    back = os.path.join(o.tmp, "rclone-back")
    rc("copy", "hs:rclone-bucket/data", back)
    same_tree(src, back)
    rc("delete", "hs:rclone-bucket/data")
    assert rc("ls", "hs:rclone-bucket") == ""


@test
def up_first_start_makes_credentials():
    """`hyperscale up` with no credentials in the environment makes a pair,
    prints it, keeps it in DATA/credentials (0600), and serves S3 with it;
    the second start reuses it."""
    import re
    import stat
    import tempfile
    from hslib import Server, free_port, hs_argv
    tmp = tempfile.mkdtemp(prefix="hs-up-")
    data = os.path.join(tmp, "data")
    port, admin = free_port(), free_port()
    argv = hs_argv("up", "--listen", "127.0.0.1:%d" % port, "--admin", "127.0.0.1:%d" % admin,
                   "--origin-listen", "127.0.0.1:%d" % free_port(), "--data", data, "--workers", "1")
    try:
        for start in (1, 2):
            srv = Server(argv, port=port, name="up").start(timeout=20)
            srv.wait_log(r"event=worker_ready|AWS_SECRET", timeout=15)
            m = re.search(r"AWS_ACCESS_KEY_ID=(\S+)\s+export AWS_SECRET_ACCESS_KEY=(\S+)", srv.log())
            if start == 1:
                assert m, "first start did not print credentials:\n" + srv.log_tail()
                ak, sk = m.group(1), m.group(2)
                st = os.stat(os.path.join(data, "credentials"))
                assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
            else:
                assert not m, "second start printed credentials again"
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HYPERSCALE_"))}
            env.update(AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk, AWS_DEFAULT_REGION="us-east-1",
                       HOME=tmp, AWS_CONFIG_FILE=os.path.join(tmp, "cfg"), AWS_PAGER="")
            url = "http://127.0.0.1:%d" % port
            if start == 1:
                subprocess.run(["/usr/bin/aws", "--endpoint-url", url, "s3", "mb", "s3://upbucket"],
                               check=True, capture_output=True, env=env, timeout=60)
            p = subprocess.run(["/usr/bin/aws", "--endpoint-url", url, "s3", "ls"], capture_output=True,
                               text=True, env=env, timeout=60)
            assert p.returncode == 0 and "upbucket" in p.stdout, (p.stdout, p.stderr)
            if start == 1:
                # through the edge: a public object is a cache hit the second time
                src = os.path.join(tmp, "pub.txt")
                with open(src, "w") as f:
                    f.write("public bytes")
                for a in (["s3api", "put-bucket-acl", "--bucket", "upbucket", "--acl", "public-read"],
                          ["s3", "cp", src, "s3://upbucket/pub.txt", "--cache-control", "max-age=60"]):
                    subprocess.run(["/usr/bin/aws", "--endpoint-url", url, *a], check=True,
                                   capture_output=True, env=env, timeout=60)
                import urllib.request
                for i in range(2):
                    r = urllib.request.urlopen(url + "/upbucket/pub.txt", timeout=10)
                    assert r.read() == b"public bytes"
                assert r.headers.get("X-Cache", "").startswith("HIT"), dict(r.headers)
            srv.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        run(per_test_timeout=300)
    finally:
        if O:
            O.cleanup()
