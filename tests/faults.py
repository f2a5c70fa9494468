#!/usr/bin/env python3
"""Real faults under the telemetry store (SPEC section 8, "Reliability";
issue 6): nothing acknowledged is lost, nothing is corrupted, every
failure is a 503 that says what to fix, and service resumes by itself
once the fault is gone.

Faults, through the real private Apache unless noted:
  - read-only database: the directory alone (WAL needs no new file, so
    storing goes on), directory and files (0555/0444), and a read-only
    mount of the state directory (root);
  - disk full: a 2 MiB tmpfs as the state directory, filled up (root);
  - the database deleted while submissions are running; replaced by
    garbage, zeros, a corrupted copy, a directory;
  - another writer holding the write lock past the busy timeout;
  - the config file unreadable (mode 000: Apache's user cannot read it),
    binary garbage, a directory: support API 503 (fail closed),
    submissions still graded;
  - lqos-submit run directly as processes, many in parallel, killed with
    SIGKILL at random moments (200 rounds, 20 in the quick profile).
After each: PRAGMA integrity_check is ok and every submission that was
answered 200 with a test_id is still stored.

Not repeated here (tests/webhook_integration.py covers them): the flusher
run as root against the www-data database followed by submissions
through Apache, and a receiver that accepts and never answers.

Prints METRIC faults_injected=, results_lost=, requests_served=,
crashes=, then "RESULT: N passed, M failed, S skipped" (not root: the
read-only mount, disk-full and unreadable-config parts are skips). Exit 1
on failure, 77 without Apache.
"""
import concurrent.futures
import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backend  # noqa: E402
import lqostest as hc  # noqa: E402
from lqostest import check, is_json_error, metric  # noqa: E402

SUBMIT = os.path.join(hc.BUILDDIR, "cgi-bin", "lqos-submit")
RECENT = os.path.join(hc.BUILDDIR, "cgi-bin", "lqos-recent")
SQLITE3 = shutil.which("sqlite3")
GOOD = hc.native_single()

faults = 0
lost = 0


def fault(what):
    global faults
    faults += 1
    print(f"# fault: {what}", flush=True)


def owner_kwargs(path):
    """subprocess arguments to act as the owner of `path` (root only)."""
    st = os.stat(path)
    if hc.IS_ROOT and st.st_uid != 0:
        return {"user": st.st_uid, "group": st.st_gid, "extra_groups": []}
    return {}


def sqlite_cli(db, sql, timeout=60):
    """The sqlite3 shell on `db` as the file's owner (root would leave
    root-owned -wal/-shm files the web server cannot open)."""
    p = subprocess.run([SQLITE3, "-batch", db, sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout, **owner_kwargs(db))
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def integrity(db):
    if backend.IS_PG:
        return backend.integrity(db)
    rc, out, err = sqlite_cli(db, "PRAGMA integrity_check;")
    return out if rc == 0 else f"rc {rc}: {err}"


def stored_ids(db):
    if backend.IS_PG:
        return {r[0] for r in backend.rows(db, "SELECT test_id FROM test_results")}
    rc, out, err = sqlite_cli(db, "SELECT test_id FROM test_results;")
    if rc != 0:
        raise RuntimeError(f"reading {db}: {err}")
    return set(out.split()) if out else set()


def check_nothing_lost(name, db, acked):
    """Every acknowledged test_id is in `db`; counts the missing ones."""
    global lost
    ids = stored_ids(db)
    missing = sorted(set(acked) - ids)
    lost += len(missing)
    check(f"{name}: all {len(acked)} acknowledged results stored", not missing, missing[:5])
    check(f"{name}: integrity_check ok", integrity(db) == "ok", integrity(db))


def unique_body(tag):
    return json.dumps(hc.native_single(server_name=tag[:128])).encode()


class Store:
    """One database behind the private Apache: submit, remember what was
    acknowledged."""

    def __init__(self, server, db, **keys):
        self.s = server
        self.db = db
        self.keys = dict(max_tests_per_ip_per_hour="0", max_stored_tests="100000", **keys)
        self.acked = []
        self.apply()

    def apply(self):
        self.s.set_conf(self.db, **self.keys)

    def submit(self, tag="x"):
        r = self.s.request("POST", "/api/telemetry", body=unique_body(tag),
                           headers={"Content-Type": "application/json"})
        if r.status == 200 and isinstance(r.json, dict) and r.json.get("test_id"):
            self.acked.append(r.json["test_id"])
        return r


def is_503_graded(r, words):
    """503, JSON, Retry-After, the grades, and a message with one of `words`."""
    err = (r.json or {}).get("error", "") if isinstance(r.json, dict) else ""
    return (is_json_error(r, 503) and (r.header("Retry-After") or "").isdigit()
            and isinstance(r.json.get("grades"), dict) and r.json["grades"].get("overall")
            and any(w in err for w in words)), repr(r)


# ------------------------------------------------------------------ read-only


def scenario_read_only(s, base):
    st = Store(s, os.path.join(s.state, "ro", "ro.db"))
    for i in range(3):
        check("read-only: submissions before", st.submit(f"ro-{i}").status == 200)
    d = os.path.dirname(st.db)
    files = [os.path.join(d, f) for f in os.listdir(d)]
    # The directory alone: a WAL database needs no new file, so storing
    # goes on (and must not be refused or corrupted).
    fault("state directory chmod 0555")
    os.chmod(d, 0o555)
    try:
        r = st.submit("ro-dir-only")
        check("read-only directory alone: existing WAL database still stores", r.status == 200, repr(r))
    finally:
        os.chmod(d, 0o755)
    fault("state directory 0555 and database files 0444")
    os.chmod(d, 0o555)
    for f in files:
        os.chmod(f, 0o444)
    try:
        for i in range(3):
            r = st.submit(f"ro-files-{i}")
            ok, detail = is_503_graded(r, ("cannot be written",))
            check("read-only files: submit 503 with grades, Retry-After and 'cannot be written'", ok, detail)
            check("read-only files: message names the database", st.db in (r.json or {}).get("error", ""),
                  repr(r))
        r = s.get("/api/telemetry/recent?limit=5")
        check("read-only files: recent still answers (200) or 503 JSON",
              r.status == 200 or is_json_error(r, 503), repr(r))
    finally:
        for f in files:
            os.chmod(f, 0o644)
        os.chmod(d, 0o755)
    r = st.submit("ro-recovered")
    check("read-only files: stores again once writable", r.status == 200, repr(r))

    if not hc.IS_ROOT:
        hc.skip_check("read-only mount", "needs root (mount --bind, remount ro)")
    else:
        fault("state directory remounted read-only")
        subprocess.run(["mount", "--bind", d, d], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", d], check=True)
            for i in range(3):
                r = st.submit(f"ro-mount-{i}")
                ok, detail = is_503_graded(r, ("read-only",))
                check("read-only mount: submit 503 naming the read-only file system", ok, detail)
            r = s.get("/api/telemetry/stats")
            check("read-only mount: stats 200 or 503 JSON", r.status == 200 or is_json_error(r, 503), repr(r))
        finally:
            umount(d)
        r = st.submit("ro-mount-recovered")
        check("read-only mount: stores again after remount", r.status == 200, repr(r))
    check_nothing_lost("read-only", st.db, st.acked)


def umount(path):
    for _ in range(50):
        p = subprocess.run(["umount", path], stderr=subprocess.PIPE, text=True)
        if p.returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "-l", path])


# ------------------------------------------------------------------ disk full


def fill(path):
    """Write zeros to `path` until the file system is full."""
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    return
                chunk = chunk[:len(chunk) // 2]


def scenario_disk_full(s, base):
    if not hc.IS_ROOT:
        hc.skip_check("disk full", "needs root (a 2 MiB tmpfs)")
        return
    mnt = os.path.join(s.rundir, "full")
    os.makedirs(mnt, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", mnt], check=True)
    try:
        ids = hc.www_data_ids()
        if ids:
            os.chown(mnt, *ids)
        st = Store(s, os.path.join(mnt, "full.db"))
        for i in range(5):
            check("disk full: submissions before", st.submit(f"full-{i}").status == 200)
        filler = os.path.join(mnt, "filler")
        fault("state file system filled (2 MiB tmpfs)")
        fill(filler)
        refused = 0
        statuses = []
        for i in range(12):
            r = st.submit(f"full-during-{i}")
            statuses.append(r.status)
            if r.status == 503:
                refused += 1
                ok, detail = is_503_graded(r, ("disk full",))
                check("disk full: 503 with grades and 'disk full'", ok, detail)
        check("disk full: every submission 200 (space left in the WAL) or 503", set(statuses) <= {200, 503},
              statuses)
        check("disk full: the fault was felt (some 503)", refused > 0, statuses)
        r = s.get("/api/telemetry/stats")
        check("disk full: stats still answers", r.status == 200 and r.json
              and r.json.get("total_tests_stored") == len(st.acked), repr(r))
        check("disk full: integrity_check ok while full", integrity(st.db) == "ok", integrity(st.db))
        # A new database on the full disk cannot even be created.
        fresh = Store(s, os.path.join(mnt, "fresh", "new.db"))
        fault("new database on a full disk")
        r = fresh.submit("fresh")
        ok, detail = is_503_graded(r, ("disk full", "No space"))
        check("disk full: new database 503 naming the full disk", ok, detail)
        os.unlink(filler)
        r = fresh.submit("fresh-after")
        check("disk full: new database created once space is free", r.status == 200, repr(r))
        st.apply()
        for i in range(3):
            r = st.submit(f"full-after-{i}")
            check("disk full: stores again after freeing space", r.status == 200, repr(r))
        check_nothing_lost("disk full", st.db, st.acked)
        check_nothing_lost("disk full (new database)", fresh.db, fresh.acked)
    finally:
        umount(mnt)


# ------------------------------------------------------------------ deleted, garbage


def submitting(s, prefix, faults):
    """Four clients submit through the private Apache while `faults()`
    runs; returns [(start time, Response or exception)] of every request."""
    stop = threading.Event()
    log = []
    lock = threading.Lock()

    def worker(w):
        i = 0
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                r = s.request("POST", "/api/telemetry", body=unique_body(f"{prefix}-{w}-{i}"),
                              headers={"Content-Type": "application/json"})
            except Exception as e:  # recorded and judged below
                r = e
            with lock:
                log.append((t0, r))
            i += 1

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    try:
        faults()
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    return log


def scenario_deleted_while_serving(s, base):
    d = os.path.join(s.state, "del")
    st = Store(s, os.path.join(d, "del.db"))
    check("deleted: first submission", st.submit("del-0").status == 200)
    deleted_at = [None]

    def faults():
        time.sleep(1.0)
        fault("database, -wal and -shm deleted while 4 clients submit")
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(st.db + suffix)
            except FileNotFoundError:
                pass
        deleted_at[0] = time.monotonic()
        time.sleep(1.5)
        fault("whole database directory deleted while 4 clients submit")
        shutil.rmtree(d, ignore_errors=True)
        deleted_at.append(time.monotonic())
        time.sleep(1.5)

    log = submitting(s, "del", faults)
    errors = [r for _, r in log if not isinstance(r, hc.Response)]
    check("deleted: no connection errors", not errors, errors[:3])
    bad = [r for _, r in log if isinstance(r, hc.Response) and r.status not in (200, 503)]
    check("deleted: every answer 200 or 503", not bad, bad[:3])
    # A request caught between the removal of the directory and the
    # creation of its file may get a 503; every one sent after the last
    # deletion is stored in the recreated file.
    five = [r for _, r in log if isinstance(r, hc.Response) and r.status == 503]
    check("deleted: any 503 is the JSON error with grades", all(is_503_graded(r, ("",))[0] for r in five),
          five[:3])
    late = [r for t0, r in log if isinstance(r, hc.Response) and t0 > deleted_at[-1] and r.status != 200]
    check("deleted: every submission after the last deletion answered 200", not late, late[:3])
    after = [r.json["test_id"] for t0, r in log
             if isinstance(r, hc.Response) and r.status == 200 and t0 > deleted_at[-1]]
    check("deleted: submissions after the deletion acknowledged", len(after) > 0, len(log))
    check("deleted: database recreated", os.path.isfile(st.db))
    check_nothing_lost("deleted (results sent after the last deletion)", st.db, after)
    print(f"# deleted while serving: {len(log)} submissions, {len(after)} after the last deletion, "
          f"{len(five)} answered 503 during a deletion", flush=True)


def scenario_pg_stopped_while_serving(s, base):
    """PostgreSQL's equivalent of the deleted database: the server stopped
    (fast shutdown) and started again while 4 clients submit."""
    st = Store(s, os.path.join(s.state, "pgstop", "pgstop.db"))
    check("stopped: first submission", st.submit("stop-0").status == 200)
    back_at = [None]

    def faults():
        time.sleep(1.0)
        fault("PostgreSQL stopped for 1.5 s while 4 clients submit")
        with backend.unavailable(st.db):
            time.sleep(1.5)
        back_at[0] = time.monotonic()
        time.sleep(1.5)

    log = submitting(s, "stop", faults)
    errors = [r for _, r in log if not isinstance(r, hc.Response)]
    check("stopped: no connection errors", not errors, errors[:3])
    bad = [r for _, r in log if isinstance(r, hc.Response) and r.status not in (200, 503)]
    check("stopped: every answer 200 or 503", not bad, bad[:3])
    five = [r for _, r in log if isinstance(r, hc.Response) and r.status == 503]
    check("stopped: submissions while the server was down answered 503", len(five) > 0, len(log))
    check("stopped: every 503 is the JSON error with grades and Retry-After",
          all(is_503_graded(r, ("",))[0] for r in five), five[:3])
    late = [r for t0, r in log if isinstance(r, hc.Response) and t0 > back_at[0] and r.status != 200]
    check("stopped: every submission after the restart answered 200 (service resumes by itself)",
          not late, late[:3])
    acked = [r.json["test_id"] for _, r in log if isinstance(r, hc.Response) and r.status == 200]
    check_nothing_lost("stopped (every result answered 200)", st.db, acked + st.acked)
    print(f"# stopped while serving: {len(log)} submissions, {len(five)} answered 503", flush=True)


def overwrite(path, data):
    """Replace the contents in place (keeps the owner, as an operator's
    mistake or a bad restore would)."""
    with open(path, "r+b" if os.path.exists(path) else "wb") as f:
        f.write(data)
        f.truncate()


def scenario_garbage(s, base):
    d = os.path.join(s.state, "garbage")
    st = Store(s, os.path.join(d, "g.db"))
    for i in range(20):
        st.submit(f"g-{i}")
    check("garbage: 20 stored first", len(st.acked) == 20)
    rc, _, err = sqlite_cli(st.db, "PRAGMA wal_checkpoint(TRUNCATE);")
    check("garbage: checkpoint", rc == 0, err)
    with open(st.db, "rb") as f:
        good = f.read()
    rnd = random.Random(6)
    variants = [
        ("random bytes", bytes(rnd.getrandbits(8) for _ in range(20000)), True),
        ("zeros", b"\0" * 8192, True),
        ("text", b"this is not a database\n" * 100, True),
        ("a valid header over random pages", good[:100] + bytes(rnd.getrandbits(8) for _ in range(len(good) - 100)),
         False),
        ("the first half of the database", good[:len(good) // 2], False),
    ]
    for name, data, must_fail in variants:
        fault(f"database replaced by {name}")
        for suffix in ("-wal", "-shm"):
            try:
                os.unlink(st.db + suffix)
            except FileNotFoundError:
                pass
        overwrite(st.db, data)
        off = s.log_size()
        r = st.submit("g-bad")
        if must_fail:
            ok, detail = is_503_graded(r, ("damaged or not a database",))
            check(f"garbage ({name}): submit 503 naming the problem", ok, detail)
            for p in ("/api/telemetry/stats", "/api/telemetry/recent"):
                rr = s.get(p)
                check(f"garbage ({name}): {p} 503 naming the problem", is_json_error(rr, 503)
                      and "damaged or not a database" in rr.json["error"], repr(rr))
            check(f"garbage ({name}): logged", "damaged or not a database" in s.log_since(off),
                  s.log_since(off)[-500:])
        else:
            # SQLite may or may not reach a damaged page: 200 or 503, never a crash.
            check(f"garbage ({name}): submit 200 or 503 JSON", r.status == 200 or is_503_graded(r, ("",))[0],
                  repr(r))
            for p in ("/api/telemetry/stats", "/api/telemetry/recent?limit=1000"):
                rr = s.get(p)
                check(f"garbage ({name}): {p} 200 or 503 JSON", rr.status == 200 or is_json_error(rr, 503),
                      repr(rr))
        check(f"garbage ({name}): no crash", not s.crashes(off), s.crashes(off)[:3])
    # The operator moves the bad file away: the next request starts afresh.
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(st.db + suffix)
        except FileNotFoundError:
            pass
    st.acked = []
    r = st.submit("g-new")
    check("garbage: a new database after the bad one is removed", r.status == 200, repr(r))
    check_nothing_lost("garbage (new database)", st.db, st.acked)
    # A directory where the database should be.
    fault("a directory in place of the database file")
    dir_db = Store(s, os.path.join(d, "isdir.db"))
    os.makedirs(dir_db.db, exist_ok=True)
    r = dir_db.submit("isdir")
    ok, detail = is_503_graded(r, ("isdir.db",))
    check("directory as database: 503 naming the path", ok, detail)
    check_error_json = is_json_error(s.get("/api/telemetry/stats"), 503)
    check("directory as database: stats 503", check_error_json)


def scenario_lock_held(s, base):
    """Another writer (a backup script, an operator's sqlite3 session)
    holds the write lock longer than the 10 s busy timeout."""
    st = Store(s, os.path.join(s.state, "lock", "lock.db"))
    check("lock: first submission", st.submit("lock-0").status == 200)
    fault("write lock held by another process past the busy timeout")
    # Python's sqlite3 as the file's owner (the sqlite3 shell buffers its
    # output on a pipe): take the lock, say so, hold it until told.
    holder = ("import sqlite3, sys\n"
              "con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n"
              "con.execute('BEGIN IMMEDIATE')\n"
              "print('locked', flush=True)\n"
              "sys.stdin.readline()\n"
              "con.execute('ROLLBACK')\n"
              "con.close()\n")
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    p = subprocess.Popen([py, "-u", "-c", holder, st.db], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, **owner_kwargs(st.db))
    try:
        line = p.stdout.readline().strip()
        check("lock: taken", line == "locked", line)
        t0 = time.monotonic()
        r = st.submit("lock-1")
        secs = time.monotonic() - t0
        ok, detail = is_503_graded(r, ("busy",))
        check("lock: submit waits the busy timeout, then 503 'busy' with grades", ok, detail)
        check("lock: waited about the busy timeout (8-20 s), not for ever", 8 <= secs <= 20, f"{secs:.1f} s")
        r = s.get("/api/telemetry/stats")
        check("lock: readers are not blocked (WAL)", r.status == 200, repr(r))
    finally:
        try:
            p.stdin.write("done\n")
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    r = st.submit("lock-2")
    check("lock: stores again once released", r.status == 200, repr(r))
    check_nothing_lost("lock", st.db, st.acked)


# ------------------------------------------------------------------ config


def scenario_config(s, base):
    st = Store(s, os.path.join(s.state, "cfg", "cfg.db"), telemetry_api_key="cfg-key")
    check("config: first submission", st.submit("cfg-0").status == 200)
    good = open(s.conf).read()
    auth = {"Authorization": "Bearer cfg-key"}

    def broken(name, words):
        r = s.get("/api/telemetry/stats", auth)
        check(f"config {name}: support API fails closed (503 JSON)", is_json_error(r, 503), repr(r))
        err = (r.json or {}).get("error", "") if isinstance(r.json, dict) else ""
        check(f"config {name}: 503 names the file and the problem",
              s.conf in err and any(w in err for w in words), err)
        r = s.get("/api/telemetry/recent")
        check(f"config {name}: recent without key also 503, not 200", is_json_error(r, 503), repr(r))
        r = st.submit(f"cfg-{name}")
        ok, detail = is_503_graded(r, ("configuration",))
        check(f"config {name}: submission still graded (503 with grades)", ok, detail)

    fault("config file mode 000")
    os.chmod(s.conf, 0o000)
    try:
        if hc.IS_ROOT or os.access(s.conf, os.R_OK) is False:
            broken("unreadable", ("ermission",))
        else:
            hc.skip_check("config unreadable", "a config file of mode 000 is still readable here")
    finally:
        os.chmod(s.conf, 0o644)
    check("config: readable again → support API 200", s.get("/api/telemetry/stats", auth).status == 200)

    fault("config file replaced by binary garbage")
    s.write_conf(good + 'sponsor_name="\x01\x02\xff\xfe\n\x00\x00"\nmax_stored_tests=="x\n')
    broken("binary garbage", (":",))
    fault("config path is a directory")
    os.replace(s.conf, s.conf + ".bak")
    os.makedirs(s.conf)
    try:
        broken("directory", ("not a regular file", "directory"))
    finally:
        os.rmdir(s.conf)
        os.replace(s.conf + ".bak", s.conf)
    s.write_conf(good)
    r = s.get("/api/telemetry/stats", auth)
    check("config: repaired → support API 200", r.status == 200, repr(r))
    r = st.submit("cfg-after")
    check("config: repaired → stores again", r.status == 200, repr(r))
    check_nothing_lost("config", st.db, st.acked)


# ------------------------------------------------------------------ SIGKILL


def cgi_env(conf, extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LIBREQOS_", "LQOS_TEST_CONF", "HTTP_", "REMOTE_", "CONTENT_"))}
    env.update({"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "LQOS_TEST_CONF": conf})
    env.update(extra)
    return env


def parse_cgi(out):
    sep = out.find(b"\r\n\r\n")
    if sep < 0:
        return 0, None
    head, body = out[:sep].decode("latin-1"), out[sep + 4:]
    status = 200
    for line in head.split("\r\n"):
        if line.lower().startswith("status:"):
            try:
                status = int(line.split(":", 1)[1].split()[0])
            except (IndexError, ValueError):
                return 0, None
    try:
        doc = json.loads(body.decode("utf-8"))
    except ValueError:
        return status, None
    return status, doc


def scenario_sigkill(base):
    """lqos-submit (and lqos-recent) as plain processes, several at once,
    a random subset killed with SIGKILL at random moments."""
    d = os.path.join(base, "kill")
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "lqos_test.conf")
    db = os.path.join(d, "state", "kill.db")
    with open(conf, "w") as f:
        f.write(backend.conf_text(f'database_path="{db}"\nmax_tests_per_ip_per_hour="0"\n'
                                  'max_stored_tests="1000000"\n'))
    rounds = 20 if hc.QUICK else 200
    writers, readers = 6, 1
    rnd = random.Random(int(os.environ.get("LQOS_FAULT_SEED", "6")))
    # How long one submission takes here (the first one creates the
    # database), to aim the kills inside a process's life.
    acked = []
    times = []
    for i in range(4):
        env0 = cgi_env(conf, {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json",
                              "REMOTE_ADDR": "192.0.2.1"})
        body0 = unique_body(f"kill-warmup-{i}")
        env0["CONTENT_LENGTH"] = str(len(body0))
        t0 = time.monotonic()
        p = subprocess.run([SUBMIT], input=body0, env=env0, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        times.append(time.monotonic() - t0)
        st0, doc0 = parse_cgi(p.stdout)
        check("sigkill: warm-up submission", st0 == 200 and doc0 and doc0.get("test_id"), p.stdout[:300])
        if doc0 and doc0.get("test_id"):
            acked.append(doc0["test_id"])
    one = max(0.001, sorted(times[1:])[1])
    print(f"# sigkill: one submission takes {one * 1000:.1f} ms here", flush=True)
    # Kills are aimed at a random moment within `window` of a spawn; the
    # window adapts so that about half the aimed kills land before the
    # process is done (the machine may be busy or idle).
    window = one
    killed = launched = survivors_bad = 0
    stderr_crashes = []
    t_start = time.monotonic()
    for rd in range(rounds):
        procs = []
        plan = []
        for j in range(writers + readers):
            if j < writers:
                body = unique_body(f"kill-{rd}-{j}")
                env = cgi_env(conf, {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json",
                                     "CONTENT_LENGTH": str(len(body)),
                                     "REMOTE_ADDR": f"198.51.{rd % 250}.{j + 1}"})
                prog = SUBMIT
            else:
                body = b""
                env = cgi_env(conf, {"REQUEST_METHOD": "GET", "QUERY_STRING": "limit=20",
                                     "REMOTE_ADDR": "127.0.0.1"})
                prog = RECENT
            spawned = time.monotonic()
            pr = subprocess.Popen([prog], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env)
            # The body and the answer fit in the pipe buffers: no process
            # ever blocks on them, so the kill lands wherever it lands.
            pr.stdin.write(body)
            pr.stdin.close()
            procs.append((pr, j < writers))
            launched += 1
            # Half of them get a SIGKILL at a random moment of their life
            # (send_signal is a no-op once the process has been reaped).
            if rnd.random() < 0.5:
                delay = max(0.0, spawned + rnd.uniform(0, window) - time.monotonic())
                timer = threading.Timer(delay, pr.send_signal, (signal.SIGKILL,))
                timer.start()
                plan.append(timer)
        for timer in plan:
            timer.join(timeout=10)
        killed_before = killed
        for pr, is_writer in procs:
            try:
                pr.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pr.kill()
                pr.wait()
            out = pr.stdout.read()
            err = pr.stderr.read().decode("utf-8", "replace")
            pr.stdout.close()
            pr.stderr.close()
            was_killed = pr.returncode == -signal.SIGKILL
            killed += was_killed
            status, doc = parse_cgi(out)
            if is_writer and status == 200 and isinstance(doc, dict) and doc.get("test_id"):
                acked.append(doc["test_id"])
            if not was_killed and status != 200:
                survivors_bad += 1
                if survivors_bad <= 3:
                    print(f"# survivor answered {status}: {out[:300]!r} {err[:300]}", flush=True)
            if hc.CRASH_RE.search(err) or (pr.returncode is not None and pr.returncode < 0 and not was_killed):
                stderr_crashes.append((pr.returncode, err[:300]))
        if plan:
            hit = (killed - killed_before) / len(plan)
            if hit < 0.4:
                window = max(0.0005, window * 0.8)
            elif hit > 0.8:
                window = min(0.5, window * 1.25)
    secs = time.monotonic() - t_start
    global faults
    faults += killed
    print(f"# sigkill: {rounds} rounds, {launched} processes, {killed} killed with SIGKILL, "
          f"{len(acked)} acknowledged, {secs:.1f} s", flush=True)
    print(f"# sigkill: kill window at the end {window * 1000:.1f} ms", flush=True)
    check("sigkill: kills happened (about one in four processes)", killed >= launched // 8, killed)
    check("sigkill: every process that was not killed answered 200", survivors_bad == 0, survivors_bad)
    check("sigkill: no crash (only our SIGKILLs)", not stderr_crashes, stderr_crashes[:3])
    check_nothing_lost("sigkill", db, acked)
    n = len(stored_ids(db))
    print(f"# sigkill: {n - len(acked)} killed after their commit (stored, not acknowledged)", flush=True)
    check("sigkill: no more rows than submissions started", len(acked) <= n <= launched + 1, (len(acked), n))
    # A lock left by a killed writer must not hold up the next one.
    t0 = time.monotonic()
    body = unique_body("kill-after")
    env = cgi_env(conf, {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json",
                         "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "192.0.2.2"})
    p = subprocess.run([SUBMIT], input=body, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    status, doc = parse_cgi(p.stdout)
    check("sigkill: the next submission is stored at once", status == 200 and time.monotonic() - t0 < 3,
          f"{status} after {time.monotonic() - t0:.1f} s")


def main():
    missing = hc.apache_missing()
    if missing:
        return hc.skip(f"missing {missing}")
    if not SQLITE3 and not backend.IS_PG:
        return hc.skip("missing the sqlite3 shell")
    why = backend.start()
    if why:
        return hc.skip(f"{backend.NAME} back end: {why}")
    if not os.path.isfile(SUBMIT):
        check(f"{SUBMIT} built", False)
        return 1
    if not hc.IS_ROOT:
        print("# not root: the read-only mount and disk-full (tmpfs) parts are skipped", flush=True)
    t_start = time.monotonic()
    base = tempfile.mkdtemp(prefix="lqos-faults-", dir="/tmp")
    os.chmod(base, 0o755)
    server = hc.PrivateApache(base)
    try:
        server.start()
        scenarios = [scenario_read_only, scenario_disk_full, scenario_deleted_while_serving, scenario_garbage,
                     scenario_lock_held, scenario_config]
        if backend.IS_PG:
            # Faults of the SQLite file itself; PostgreSQL's own (stopped,
            # restarted, unreachable, wrong password) are the scenario
            # below and tests/pg_integration.py's.
            for sc in scenarios[:5]:
                backend.sqlite_only(sc.__name__, "a fault of the SQLite file (permissions, space, "
                                    "deletion, corruption, its write lock)")
            scenarios = [scenario_pg_stopped_while_serving, scenario_config]
        for sc in scenarios:
            t0 = time.monotonic()
            off = server.log_size()
            try:
                sc(server, base)
            except Exception as e:
                import traceback
                check(f"{sc.__name__} ran", False, f"{e}\n{traceback.format_exc()}")
            check(f"{sc.__name__}: no crash in Apache's error log", not server.crashes(off),
                  server.crashes(off)[:3])
            print(f"# {sc.__name__}: {time.monotonic() - t0:.1f} s", flush=True)
        crashes = server.crashes()
    finally:
        server.stop()
    t0 = time.monotonic()
    scenario_sigkill(base)
    print(f"# scenario_sigkill: {time.monotonic() - t0:.1f} s", flush=True)
    metric("faults_injected", faults)
    metric("results_lost", lost)
    metric("requests_served", server.served)
    metric("crashes", len(crashes))
    print(f"# total {time.monotonic() - t_start:.1f} s", flush=True)
    backend.stop()
    hc.remove_unless_failed(base)
    return 0


if __name__ == "__main__":
    hc.main_wrapper(main)
