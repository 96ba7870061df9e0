"""Helpers for the S3 origin's end-to-end tests: start `hyperscale origin`
on a free port with a fresh data directory and known credentials, and make
real clients (boto3 from Debian's python3-boto3, /usr/bin/aws, s3cmd,
rclone) talk to it."""

import os
import shutil
import subprocess
import tempfile

from hslib import Server, free_port, hs_argv

AK = "HSTESTACCESSKEY00001"
SK = "hstestsecretkey/0000000000000000000000+x"
REGION = "us-east-1"


class Origin:
    """A running `hyperscale origin` (shared by a script's tests)."""

    def __init__(self, workers=2, extra=(), data=None, name="origin"):
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="hs-s3-")
        self.data = data or os.path.join(self.tmp, "data")
        self.url = "http://127.0.0.1:%d" % self.port
        argv = hs_argv("origin", "--listen", "127.0.0.1:%d" % self.port, "--data", self.data,
                       "--workers", workers, *extra)
        env = {"HYPERSCALE_ACCESS_KEY": AK, "HYPERSCALE_SECRET_KEY": SK,
               "HYPERSCALE_OBJECTS_DRIVES": "6", "HYPERSCALE_LOG_LEVEL": os.environ.get("HS_S3_LOG_LEVEL", "info")}
        self.srv = Server(argv, port=self.port, env=env, name=name)

    def start(self):
        self.srv.start(timeout=20)
        return self

    def stop(self):
        self.srv.stop()

    def client(self, **kw):
        import boto3
        from botocore.config import Config
        cfg = Config(signature_version="s3v4", retries={"max_attempts": 1},
                     s3={"addressing_style": kw.pop("addressing", "path")})
        return boto3.client("s3", endpoint_url=kw.pop("url", self.url), aws_access_key_id=kw.pop("ak", AK),
                            aws_secret_access_key=kw.pop("sk", SK), region_name=REGION, config=cfg, **kw)

    def cli_env(self):
        home = os.path.join(self.tmp, "home")
        os.makedirs(home, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HYPERSCALE_"))}
        env.update({"AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK, "AWS_DEFAULT_REGION": REGION,
                    "HOME": home, "AWS_CONFIG_FILE": os.path.join(home, "awsconfig"),
                    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "awscreds"),
                    "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": ""})
        return env

    def aws(self, *args, check=True, timeout=120):
        """Runs Debian's aws CLI (/usr/bin/aws) against the origin."""
        p = subprocess.run(["/usr/bin/aws", "--endpoint-url", self.url, *args], capture_output=True,
                           text=True, env=self.cli_env(), timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("aws %s failed (%d): %s %s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def error_code(exc):
    """The S3 error code of a botocore ClientError."""
    return exc.response.get("Error", {}).get("Code")


def expect_error(code, fn, *a, **kw):
    from botocore.exceptions import ClientError
    try:
        fn(*a, **kw)
    except ClientError as e:
        got = error_code(e)
        assert got == code, "expected %s, got %s (%s)" % (code, got, e)
        return e
    raise AssertionError("expected S3 error %s, call succeeded" % code)
