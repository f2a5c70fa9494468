"""The store a Python test suite runs against: SQLite (the default) or
PostgreSQL, chosen by LQOS_TEST_BACKEND=sqlite|pg, so that every suite's
assertions are written once and run on either back end.

    import backend
    why = backend.start()              # None, or why this back end cannot run here (SKIP)
    text = backend.conf_text(text)     # a config text: database_url added on pg
    backend.rows(db_path, "SELECT state FROM webhook_outbox WHERE event_id = ?", (tid,))
    backend.stop()                     # (also at exit)

A suite keeps naming its store by an SQLite path (database_path): on
PostgreSQL each path gets a fresh database of its own on a private server
(tests/pgserver.py: initdb as an unprivileged user into a temporary folder,
its own socket folder and a free loopback port, stopped by its pid), and
conf_text() writes that database's URL as database_url beside the path.
The query helpers take SQL written once (`?` placeholders, the dialects'
common subset) and answer the same Python values on both back ends.

Checks that only mean something on SQLite (the file itself: corruption,
permissions, WAL, locks) call sqlite_only(name, reason) first: on
PostgreSQL that prints "SKIP: name: SQLite only: reason".
"""
import atexit
import contextlib
import hashlib
import json
import os
import re
import sqlite3
import subprocess

KIND = (os.environ.get("LQOS_TEST_BACKEND") or "sqlite").strip().lower()
if KIND in ("postgres", "postgresql"):
    KIND = "pg"
IS_PG = KIND == "pg"
NAME = {"sqlite": "SQLite", "pg": "PostgreSQL"}.get(KIND, KIND)

_server = None      # pgserver.PgServer we started
_started = False
_made = {}          # database name -> lqos role's URL


def _clean_env():
    """psql must not pick up a PGHOST, PGPASSWORD... of the caller's."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def start(base=None):
    """Start the chosen back end: None when it runs, else the reason it
    cannot run here (the suite then skips with it). SQLite needs nothing."""
    global _server, _started
    if KIND not in ("sqlite", "pg"):
        raise ValueError("LQOS_TEST_BACKEND must be sqlite or pg, not %r" % KIND)
    if not IS_PG or _started:
        return None
    import pgserver
    why = pgserver.missing()
    if why:
        return why
    _server = pgserver.PgServer(base)
    atexit.register(stop)
    try:
        why = _server.start()
    except Exception:
        stop()
        raise
    if why:
        return why
    _started = True
    print("# back end: PostgreSQL on %s (port %d, pid %d)" % (_server.sock, _server.port, _server.pid),
          flush=True)
    return None


def stop():
    """Stop the private PostgreSQL (by its pid) and remove its folder."""
    global _server, _started
    if _server is not None:
        _server.stop()
        _server = None
    _started = False
    _made.clear()


def server():
    """The pgserver.PgServer this suite started (None on SQLite)."""
    return _server


def sqlite_only(name, reason):
    """True on SQLite. On PostgreSQL: prints "SKIP: name: SQLite only:
    reason" (one skipped check) and answers False."""
    if not IS_PG:
        return True
    import lqostest
    lqostest.skip_check(name, "SQLite only: " + reason)
    return False


# ------------------------------------------------------------------ naming


def db_name(db_path):
    """The PostgreSQL twin of an SQLite file: one database per path."""
    return "lqos_" + hashlib.sha1(os.path.abspath(db_path).encode()).hexdigest()[:16]


def _admin(db="postgres"):
    """The superuser's connection string (the tests read and change rows
    as the superuser; the programs under test connect as lqos)."""
    return _server.super_conninfo(db)


def _psql(conninfo, sql):
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo],
                       input=sql, capture_output=True, text=True, timeout=120, env=_clean_env())
    if p.returncode != 0:
        raise RuntimeError("psql failed: %s\n%s" % (sql[:400], p.stderr.strip()))
    return p.stdout


def url_for(db_path):
    """The database_url of db_path's database (made on first use, owned
    by the lqos role the programs connect as)."""
    if not IS_PG:
        return None
    if not _started:
        raise RuntimeError("backend.start() was not called")
    name = db_name(db_path)
    if name in _made:
        return _made[name]
    exists = _psql(_admin(), "SELECT 1 FROM pg_database WHERE datname = '%s'" % name).strip()
    if exists != "1":
        _psql(_admin(), 'CREATE DATABASE "%s" OWNER lqos' % name)
    url = _server.url(name)
    _made[name] = url
    return url


def conf_lines(db_path):
    """The configuration lines that put a store at db_path."""
    lines = ['database_path="%s"' % db_path]
    if IS_PG:
        lines.append('database_url="%s"' % url_for(db_path))
    return lines


def conf_text(text):
    """A config text plus database_url (on PostgreSQL) for the
    database_path it names; unchanged on SQLite or when it already has a
    database_url (a test that sets its own)."""
    if not IS_PG or re.search(r"^\s*database_url\s*=", text, re.M):
        return text
    m = re.search(r'^\s*database_path\s*=\s*"([^"]*)"', text, re.M)
    if m is None:
        return text
    return text.rstrip("\n") + '\ndatabase_url="%s"\n' % url_for(m.group(1))


# ------------------------------------------------------------------ queries


def _literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (bytes, bytearray)):
        return "'\\x%s'::bytea" % bytes(v).hex()
    s = str(v)
    if "\0" in s:
        raise ValueError("NUL in an SQL text parameter")
    return "'" + s.replace("'", "''") + "'"


def _bind(sql, params):
    """`?` placeholders (outside quotes) replaced by SQL literals."""
    out, it, quote = [], iter(params), None
    for ch in sql:
        if quote:
            quote = None if ch == quote else quote
            out.append(ch)
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append(_literal(next(it)))
        else:
            out.append(ch)
    return "".join(out)


def _pg_conninfo(db_path):
    url_for(db_path)
    return _admin(db_name(db_path))


def dict_rows(db_path, sql, params=()):
    """The rows of one SELECT as dicts (column name -> value)."""
    if IS_PG:
        wrapped = ("SELECT coalesce(json_agg(row_to_json(q)), '[]'::json) FROM (%s) q"
                   % _bind(sql.strip().rstrip(";"), params))
        out = _psql(_pg_conninfo(db_path), wrapped).strip()
        return [dict(r) for r in json.loads(out, object_pairs_hook=list)]
    con = sqlite3.connect(db_path, timeout=30)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params).fetchall()]
    finally:
        con.close()


def rows(db_path, sql, params=()):
    """The rows of one SELECT as tuples."""
    if IS_PG:
        wrapped = ("SELECT coalesce(json_agg(row_to_json(q)), '[]'::json) FROM (%s) q"
                   % _bind(sql.strip().rstrip(";"), params))
        out = _psql(_pg_conninfo(db_path), wrapped).strip()
        return [tuple(v for _, v in r) for r in json.loads(out, object_pairs_hook=list)]
    con = sqlite3.connect(db_path, timeout=30)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def one(db_path, sql, params=()):
    """The first column of the first row (None when there is none)."""
    r = rows(db_path, sql, params)
    return r[0][0] if r else None


def row(db_path, sql, params=()):
    """The first row as a dict, or None."""
    r = dict_rows(db_path, sql, params)
    return r[0] if r else None


def execute(db_path, sql, params=()):
    """Run one statement that changes rows (committed at once)."""
    if IS_PG:
        _psql(_pg_conninfo(db_path), _bind(sql, params) + ";\n")
        return
    con = sqlite3.connect(db_path, timeout=30)
    try:
        with con:
            con.execute(sql, params)
    finally:
        con.close()


def integrity(db_path):
    """"ok" when the store is consistent: SQLite's PRAGMA integrity_check;
    on PostgreSQL the trigger-kept row count equals the rows stored (what
    retention relies on) and the database answers."""
    if IS_PG:
        r = rows(db_path, "SELECT (SELECT n FROM test_results_count), (SELECT count(*) FROM test_results)")
        return "ok" if r and r[0][0] == r[0][1] else "test_results_count %r != count(*) %r" % tuple(r[0])
    con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=30)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def exists(db_path):
    """Whether the store at db_path has been created (by a program)."""
    if IS_PG:
        return one(db_path, "SELECT count(*) FROM pg_tables WHERE tablename = 'test_results'") == 1
    return os.path.exists(db_path)


def drop(db_path):
    """Throw the store away (the next program to connect makes it anew)."""
    if IS_PG:
        name = db_name(db_path)
        _made.pop(name, None)
        _psql(_admin(), 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(db_path + suffix)
        except FileNotFoundError:
            pass


@contextlib.contextmanager
def unavailable(db_path):
    """The store cannot take a write for the duration of the block: the
    SQLite file read-only (mode 0444; the web server's user is not root);
    PostgreSQL stopped (fast shutdown by its pid), started again after."""
    if IS_PG:
        _server.stop_server()
        try:
            yield
        finally:
            _server.restart_server()
        return
    os.chmod(db_path, 0o444)
    try:
        yield
    finally:
        os.chmod(db_path, 0o644)
