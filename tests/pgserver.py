"""A private PostgreSQL (and PgBouncer) for the tests: initdb into a
temporary folder as an unprivileged user (nobody when run as root),
listening on a socket folder of its own and a free loopback port, stopped
by its pid. Password authentication (scram-sha-256) everywhere, so the
programs under test read the password from a passfile as in production.

    pg = PgServer(base); why = pg.start()   # why: None or the SKIP reason
    url = pg.new_database("suite")          # a fresh database, its URL
    pg.stop()
"""
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import lqostest as hc

PASSWORD = "lqos-test-secret"
SUPER_PASSWORD = "lqos-super-secret"


def pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for d in dirs:
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "postgres"), os.X_OK):
            return d
    return None


def missing():
    """None when PostgreSQL can run here, else why not (for SKIP)."""
    if pg_bindir() is None:
        return "PostgreSQL server binaries not installed (apt-get install postgresql)"
    if shutil.which("psql") is None:
        return "psql not installed (apt-get install postgresql-client)"
    return None


def _as_user(cmd, user):
    if os.getuid() == 0:
        return ["runuser", "-u", user, "--"] + cmd
    return cmd


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class PgServer:
    def __init__(self, base=None):
        self.user = "nobody" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        self.dir = tempfile.mkdtemp(prefix="lqos-pg-", dir=base)
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.port = None
        self.pid = None
        self.bouncer_pid = None
        self.bouncer_port = None
        self.bin = pg_bindir()
        # Passfiles: ours (root/the test) for the superuser; the web
        # server user's for the lqos role (mode 0600, owned by it).
        self.super_pass = os.path.join(self.dir, "super.pgpass")
        self.passfile = os.path.join(self.dir, "lqos.pgpass")
        self.log = os.path.join(self.dir, "postgres.log")

    def _chown(self, path, user):
        if os.getuid() == 0:
            pw = pwd.getpwnam(user)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _write_passfile(self, path, line, owner):
        with open(path, "w") as f:
            f.write(line + "\n")
        os.chmod(path, 0o600)
        self._chown(path, owner)

    def start(self):
        why = missing()
        if why:
            return why
        os.makedirs(self.sock, exist_ok=True)
        os.makedirs(self.data, exist_ok=True)
        os.chmod(self.sock, 0o755)
        os.chmod(self.data, 0o700)
        self._chown(self.sock, self.user)
        self._chown(self.data, self.user)
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(SUPER_PASSWORD + "\n")
        self._chown(pwfile, self.user)
        p = subprocess.run(_as_user([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres",
                                     "--auth=scram-sha-256", "--pwfile", pwfile, "-E", "UTF8",
                                     "--locale=C"], self.user),
                           capture_output=True, text=True, timeout=180)
        os.unlink(pwfile)
        if p.returncode != 0:
            raise RuntimeError("initdb failed: " + p.stdout + p.stderr)
        self._write_passfile(self.super_pass, "*:*:*:postgres:" + SUPER_PASSWORD, "root" if os.getuid() == 0 else self.user)
        www = "www-data" if os.getuid() == 0 else self.user
        self._write_passfile(self.passfile, "*:*:*:lqos:" + PASSWORD, www)
        self.port = hc.free_port()
        self._launch()
        self.psql("postgres", "CREATE ROLE lqos LOGIN PASSWORD '%s'" % PASSWORD)
        return None

    def _launch(self):
        logf = open(self.log, "a")
        subprocess.Popen(_as_user([os.path.join(self.bin, "postgres"), "-D", self.data, "-k", self.sock,
                                   "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                                   "-c", "max_connections=200", "-c", "shared_buffers=32MB"], self.user),
                         stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()
        pidfile = os.path.join(self.data, "postmaster.pid")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if os.path.exists(pidfile):
                try:
                    with open(pidfile) as f:
                        lines = f.read().splitlines()
                    if len(lines) >= 8 and "ready" in lines[7]:
                        self.pid = int(lines[0])
                        return
                except (OSError, ValueError):
                    pass
            time.sleep(0.1)
        raise RuntimeError("postgres did not start: " + open(self.log).read()[-2000:])

    def stop_server(self):
        """Fast shutdown of the postmaster by its pid (SIGINT); waits."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 60
        while _pid_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pid = None

    def restart_server(self):
        self._launch()

    def stop(self):
        if self.bouncer_pid is not None:
            try:
                os.kill(self.bouncer_pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 20
            while _pid_alive(self.bouncer_pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.bouncer_pid = None
        self.stop_server()
        if not os.environ.get("LQOS_KEEP_RUNDIR"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def super_conninfo(self, db="postgres"):
        return "host=%s port=%d user=postgres dbname=%s passfile=%s" % (self.sock, self.port, db, self.super_pass)

    def psql(self, db, sql, check=True):
        """Run `sql` as the superuser in database `db`; stdout (unaligned,
        tuples only, fields separated by |)."""
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.super_conninfo(db)],
                           input=sql, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise RuntimeError("psql failed: %s\n%s" % (sql[:300], p.stderr))
        return p.stdout

    def new_database(self, name):
        """A fresh database owned by lqos; its keyword URL (socket)."""
        self.psql("postgres", 'DROP DATABASE IF EXISTS "%s"; CREATE DATABASE "%s" OWNER lqos;' % (name, name))
        return self.url(name)

    def url(self, name, passfile=None):
        return "host=%s port=%d dbname=%s user=lqos passfile=%s" % (self.sock, self.port, name,
                                                                    passfile or self.passfile)

    def uri_tcp(self, name, port=None, passfile=None):
        return "postgresql://lqos@127.0.0.1:%d/%s?passfile=%s" % (port or self.port, name, passfile or self.passfile)

    def start_bouncer(self):
        """PgBouncer in transaction pooling mode in front of this server;
        None, or why it cannot run (SKIP)."""
        exe = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
        if exe is None:
            return "pgbouncer not installed (apt-get install pgbouncer)"
        bdir = os.path.join(self.dir, "bouncer")
        os.makedirs(bdir, exist_ok=True)
        self._chown(bdir, self.user)
        self.bouncer_port = hc.free_port()
        users = os.path.join(bdir, "userlist.txt")
        with open(users, "w") as f:
            f.write('"lqos" "%s"\n' % PASSWORD)
        os.chmod(users, 0o600)
        self._chown(users, self.user)
        ini = os.path.join(bdir, "pgbouncer.ini")
        with open(ini, "w") as f:
            f.write("[databases]\n* = host=127.0.0.1 port=%d\n\n[pgbouncer]\n" % self.port)
            f.write("listen_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n" % self.bouncer_port)
            f.write("auth_type = scram-sha-256\nauth_file = %s\npool_mode = transaction\n" % users)
            f.write("max_client_conn = 400\ndefault_pool_size = 10\n")
            f.write("logfile = %s/pgbouncer.log\npidfile = %s/pgbouncer.pid\n" % (bdir, bdir))
        self._chown(ini, self.user)
        subprocess.Popen(_as_user([exe, ini], self.user), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, start_new_session=True)
        pidfile = os.path.join(bdir, "pgbouncer.pid")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with open(pidfile) as f:
                    self.bouncer_pid = int(f.read().strip())
                import socket
                with socket.create_connection(("127.0.0.1", self.bouncer_port), timeout=1):
                    return None
            except (OSError, ValueError):
                time.sleep(0.1)
        raise RuntimeError("pgbouncer did not start")
