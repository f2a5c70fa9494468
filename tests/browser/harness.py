"""Shared by tests/browser_test.py and bench/accuracy: installs the test
tooling (playwright-core from npm) into the build tree, starts the
private Apache, and runs the page in Debian's Chromium (run-test.mjs)."""
import json
import os
import shutil
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "run-test.mjs")
CHROMIUM = os.environ.get("LQOS_CHROMIUM", "/usr/bin/chromium")


def missing_tools():
    """Names of the programs the browser tests need but cannot find."""
    missing = [p for p in ("node", "npm", "curl") if shutil.which(p) is None]
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(CHROMIUM)
    return missing


def ensure_deps(builddir):
    """npm ci playwright-core into BUILDDIR/tests/browser-deps (the
    source tree may be read-only, as in make distcheck). Returns the
    folder to pass as LQOS_BROWSER_DEPS."""
    deps = os.path.join(builddir, "tests", "browser-deps")
    marker = os.path.join(deps, "node_modules", "playwright-core", "package.json")
    lock = os.path.join(HERE, "package-lock.json")
    os.makedirs(deps, exist_ok=True)
    stamp = os.path.join(deps, ".lock-copy")
    fresh = os.path.exists(marker) and os.path.exists(stamp) and \
        open(stamp).read() == open(lock).read()
    if not fresh:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(os.path.join(HERE, name), os.path.join(deps, name))
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=deps, check=True, timeout=600)
        shutil.copyfile(lock, stamp)
    return deps


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_apache(srcdir, builddir, rundir, port, conf_lines=(), listen_addr=None, netns=None, tls=None):
    """Start scripts/private-apache (in `netns` when given) with an
    lqos_test.conf of `conf_lines` plus a database in RUNDIR. `tls` "h2"
    or "http1" serves https (scripts/private-apache TLS=...) with a
    self-signed certificate: pass ignore_cert=True to run_page."""
    os.makedirs(rundir, exist_ok=True)
    with open(os.path.join(rundir, "lqos_test.conf"), "w") as f:
        f.write('database_path="%s/state/isp_telemetry.db"\n' % rundir)
        for line in conf_lines:
            f.write(line + "\n")
    env = dict(os.environ)
    if listen_addr:
        env["LISTEN_ADDR"] = listen_addr
    env["TLS"] = tls or "off"
    cmd = ["sh", os.path.join(srcdir, "scripts", "private-apache"), "start", rundir, str(port),
           builddir, srcdir]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    subprocess.run(cmd, check=True, env=env, timeout=60, stdout=subprocess.DEVNULL)


def stop_apache(srcdir, rundir):
    subprocess.run(["sh", os.path.join(srcdir, "scripts", "private-apache"), "stop", rundir],
                   timeout=30)


def run_page(deps, url, mode="single", viewport="desktop", screenshots=None, netns=None,
             timeout=150, ignore_cert=False):
    """Run one test in Chromium; returns run-test.mjs's JSON object.
    ignore_cert: accept the private server's self-signed certificate
    (Chromium --ignore-certificate-errors; tests only)."""
    cmd = ["node", RUNNER, "--url", url, "--mode", mode, "--viewport", viewport,
           "--timeout", str(timeout)]
    if ignore_cert:
        cmd += ["--ignore-cert", "1"]
    if screenshots:
        cmd += ["--screenshots", screenshots]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    env = dict(os.environ, LQOS_BROWSER_DEPS=deps, LQOS_CHROMIUM=CHROMIUM)
    started = time.monotonic()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout + 90)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return {"failure": "runner printed no result (exit %d): %s" % (p.returncode, p.stderr[-2000:]),
                "consoleErrors": []}
    out = json.loads(lines[-1])
    out["wallSeconds"] = time.monotonic() - started
    return out
