#!/usr/bin/env python3
"""lqos-telemetry-check against a good install and deliberately broken ones.

A real private Apache serves the CGIs; the check command is run as an
operator would run it, and its exit status and FAIL lines are asserted."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lqostest import (BUILDDIR as BUILD, IS_ROOT, free_port, start_private_apache,  # noqa: E402
                      stop_private_apache)

CHECK = os.path.join(BUILD, "sbin", "lqos-telemetry-check")

passed = failed = 0


def case(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"FAIL - {name}\n{detail}")


def run_check(conf, *args):
    p = subprocess.run([CHECK, "--config", conf, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def write_conf(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


def main():
    if shutil.which("apache2") is None and not os.path.exists("/usr/sbin/apache2"):
        print("SKIP: apache2 not installed")
        return 77
    tmp = tempfile.mkdtemp(prefix="lqos-check-")
    os.chmod(tmp, 0o755)
    rundir = os.path.join(tmp, "run")
    os.makedirs(rundir)
    conf = os.path.join(rundir, "lqos_test.conf")
    state = os.path.join(rundir, "state")
    key = "check-key-123"
    cron = os.path.join(tmp, "cron-lqos")
    write_conf(cron, "* * * * * www-data true\n")
    base_conf = f'database_path="{state}/isp_telemetry.db"\ntelemetry_api_key="{key}"\n'
    write_conf(conf, base_conf)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    web_user = "www-data" if IS_ROOT else os.environ.get("USER", "root")
    try:
        start_private_apache(rundir, port)
        # The first request creates the database as the web server user.
        subprocess.run(["curl", "-s", "-o", "/dev/null", "-H", f"X-API-Key: {key}",
                        f"{url}/api/telemetry/stats"], timeout=30)

        rc, out = run_check(conf, "--url", url, "--web-user", web_user, "--cron-file", cron)
        case("good install: exit 0", rc == 0, out)
        case("good install: Bearer through Apache reported OK",
             "accepts 'Authorization: Bearer'" in out, out)
        case("good install: integrity ok", "integrity ok" in out, out)
        case("secrets are masked", key not in out, out)

        # Broken config: a syntax error names file and line.
        write_conf(conf, base_conf + 'sponsor_name="unterminated\n')
        rc, out = run_check(conf, "--web-user", web_user)
        case("broken config: exit 1 and FAIL with file:line",
             rc == 1 and "[FAIL] config" in out and f"{conf}:" in out, out)
        write_conf(conf, base_conf)

        # Apache without CGIPassAuth: Bearer refused, X-API-Key accepted.
        snippet = os.path.join(rundir, "lqos-telemetry.conf")
        stop_private_apache(rundir, check=True)
        with open(snippet) as f:
            text = f.read()
        with open(snippet, "w") as f:
            f.write(text.replace("CGIPassAuth On", "CGIPassAuth Off"))
        pid = subprocess.Popen(["/usr/sbin/apache2", "-f", os.path.join(rundir, "httpd.conf"),
                                "-DFOREGROUND"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            rc, out = run_check(conf, "--url", url, "--web-user", web_user, "--cron-file", cron)
            case("no CGIPassAuth: FAIL naming CGIPassAuth", rc == 1 and "CGIPassAuth On" in out, out)
        finally:
            pid.terminate()
            pid.wait(timeout=30)

        # Webhook configured but unreachable, and no cron file.
        dead = free_port()
        write_conf(conf, base_conf + f'webhook_url="http://127.0.0.1:{dead}/hook"\n')
        rc, out = run_check(conf, "--web-user", web_user, "--cron-file", os.path.join(tmp, "nope"))
        case("unreachable webhook: FAIL", rc == 1 and "[FAIL] webhook URL" in out, out)
        case("missing cron file: FAIL", "[FAIL] cron" in out, out)
        case("no secret: WARN", "[WARN] webhook secret" in out, out)
        write_conf(conf, base_conf)

        # Database directory not writable by the web server user.
        other = os.path.join(tmp, "locked")
        os.makedirs(other)
        os.chmod(other, 0o755)
        if IS_ROOT:
            write_conf(conf, f'database_path="{other}/t.db"\n')
            rc, out = run_check(conf, "--web-user", "www-data")
            case("unwritable directory: FAIL with chown advice",
                 rc == 1 and "not writable by www-data" in out and "chown www-data" in out, out)
        # Missing directory.
        write_conf(conf, f'database_path="{tmp}/missing/dir/t.db"\n')
        rc, out = run_check(conf, "--web-user", web_user)
        case("missing directory: FAIL", rc == 1 and "does not exist" in out, out)

        # A damaged database file.
        bad = os.path.join(tmp, "bad")
        os.makedirs(bad)
        with open(os.path.join(bad, "t.db"), "wb") as f:
            f.write(b"SQLite format 3\x00" + b"\xff" * 4000)
        write_conf(conf, f'database_path="{bad}/t.db"\n')
        rc, out = run_check(conf, "--web-user", web_user)
        case("damaged database: FAIL", rc == 1 and "[FAIL] database" in out, out)
    finally:
        stop_private_apache(rundir, quiet=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"RESULT: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
