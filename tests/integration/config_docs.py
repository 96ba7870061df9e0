"""The generated parts of the docs match the binary: the key table in
docs/configuration.md and deploy/hyperscale.conf (regenerate both with
scripts/gen-docs.sh), and the example file is a valid configuration."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("HYPERSCALE_BIN", os.path.join(ROOT, "build", "hyperscale"))


def run(*args):
    # Only the defaults: an operator's HYPERSCALE_* variables must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERSCALE_")}
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30, env=env)


def main():
    failed = 0
    table = run("config", "--markdown")
    doc = open(os.path.join(ROOT, "docs", "configuration.md")).read()
    begin = doc.index("<!-- BEGIN generated")
    start = doc.index("\n", begin) + 1
    end = doc.index("<!-- END generated")
    if table.returncode != 0 or doc[start:end] != table.stdout:
        print("FAIL docs_table: docs/configuration.md key table is stale; run scripts/gen-docs.sh")
        failed += 1
    else:
        print("ok   docs_table")
    conf = os.path.join(ROOT, "deploy", "hyperscale.conf")
    check = run("config", "--check", "--config", conf)
    dump = run("config")
    if check.returncode != 0:
        print("FAIL example_conf: deploy/hyperscale.conf does not parse: " + check.stderr.strip())
        failed += 1
    elif open(conf).read() != dump.stdout:
        print("FAIL example_conf: deploy/hyperscale.conf is stale; run scripts/gen-docs.sh")
        failed += 1
    else:
        print("ok   example_conf")
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
