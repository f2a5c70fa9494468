#!/usr/bin/env python3
"""networkQuality / RPM server (issue 9): GET /.well-known/nq over https
with HTTP/2 against a private Apache (TLS=h2, a self-signed certificate
made by openssl for this run), and every URL it names checked against
what draft-ietf-ippm-responsiveness and Apple's networkQuality need:

- the config: 200, application/json, "version": 1, the three URLs under
  both spellings (small_https_download_url / small_download_url, ...),
  all https on the same host and port that was asked, no redirect, not
  cacheable, not compressed;
- small download: 200 and exactly 1 byte; large download: at least 8 GB
  (a byte range near the end answers 206 with the total), bytes arrive;
- upload: any size, over h2 with POST and PUT, chunked and with a length,
  including a declared length over Apache's default 1 GiB limit (no 413);
- none compressed (Accept-Encoding offered), redirected or cacheable;
- public_url in the config replaces the request's host; a bad one is a
  JSON 503.

curl (with HTTP/2) is the client; it is Debian's, with nghttp2."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

SRCDIR = os.environ.get("LQOS_SRCDIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILDDIR = os.environ.get("LQOS_BUILDDIR") or SRCDIR
results = []
TMP = None


def check(name, ok, detail=""):
    results.append(bool(ok))
    print("%s: %s%s" % ("PASS" if ok else "FAIL", name, "" if ok else ": %s" % (detail,)), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def curl(url, *extra, body_limit=None):
    """curl --http2 -k; returns (status, http_version, headers dict of
    lists, body bytes, size_download)."""
    hdr = os.path.join(TMP, "headers")
    out = os.path.join(TMP, "body")
    cmd = ["curl", "-sk", "--http2", "-D", hdr, "-o", out, "-H", "Accept-Encoding: gzip, deflate, br",
           "-w", "%{http_code} %{http_version} %{size_download}", "--max-time", "20"]
    cmd += list(extra) + [url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    parts = p.stdout.split()
    status, version, size = (int(parts[0]), parts[1], int(parts[2])) if len(parts) == 3 else (0, "", 0)
    headers = {}
    if os.path.exists(hdr):
        for line in open(hdr, encoding="latin-1").read().splitlines():
            if ":" in line and not line.startswith("HTTP/"):
                k, v = line.split(":", 1)
                headers.setdefault(k.strip().lower(), []).append(v.strip())
    data = b""
    if os.path.exists(out):
        with open(out, "rb") as f:
            data = f.read(body_limit or -1)
        os.unlink(out)
    return status, version, headers, data, size


def not_transformed(label, headers, status):
    check("%s: not compressed" % label, "content-encoding" not in headers, headers.get("content-encoding"))
    check("%s: not a redirect" % label, not 300 <= status < 400 and "location" not in headers,
          (status, headers.get("location")))
    cc = ",".join(headers.get("cache-control", []))
    check("%s: not cacheable (no-store)" % label, "no-store" in cc, cc)


def declared_length_not_refused(host, port, path):
    """HTTP/1.1 over TLS: announce a 5 GB body, send 8 MB of it. Apache
    checks LimitRequestBody against Content-Length before reading: a
    limit answers 413 at once. No answer within 2 s means still reading."""
    ctx = ssl._create_unverified_context()
    ctx.set_alpn_protocols(["http/1.1"])
    with socket.create_connection((host, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: 5000000000\r\n\r\n" % (path, host, port)).encode())
            chunk = b"\x5a" * 65536
            for _ in range(128):
                s.sendall(chunk)
            s.settimeout(2.0)
            try:
                got = s.recv(200)
            except (socket.timeout, TimeoutError):
                got = b""
            return got


def main():
    global TMP
    for tool in ("curl", "openssl"):
        if shutil.which(tool) is None:
            print("SKIP: %s not found" % tool)
            return 77
    if "HTTP2" not in subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout:
        print("SKIP: this curl has no HTTP/2")
        return 77
    rundir = os.path.join(BUILDDIR, "tests", "nq-run")
    shutil.rmtree(rundir, ignore_errors=True)
    os.makedirs(rundir)
    TMP = os.path.join(rundir, "tmp")
    os.makedirs(TMP)
    conf = os.path.join(rundir, "lqos_test.conf")
    with open(conf, "w") as f:
        f.write('database_path="%s/state/isp_telemetry.db"\n' % rundir)
    port = free_port()
    script = os.path.join(SRCDIR, "scripts", "private-apache")
    subprocess.run(["sh", script, "start", rundir, str(port), BUILDDIR, SRCDIR], check=True,
                   env=dict(os.environ, TLS="h2"), stdout=subprocess.DEVNULL, timeout=60)
    base = "https://127.0.0.1:%d" % port
    try:
        status, version, headers, data, _ = curl(base + "/.well-known/nq")
        check("config: 200 over HTTP/2", status == 200 and version == "2", (status, version))
        ctype = ",".join(headers.get("content-type", []))
        check("config: application/json", ctype.startswith("application/json"), ctype)
        not_transformed("config", headers, status)
        try:
            cfg = json.loads(data)
        except ValueError:
            cfg = {}
        check("config: version 1", cfg.get("version") == 1, cfg)
        urls = cfg.get("urls") or {}
        pairs = (("small_https_download_url", "small_download_url"),
                 ("large_https_download_url", "large_download_url"),
                 ("https_upload_url", "upload_url"))
        check("config: the three URLs under both spellings, the same URL each",
              all(urls.get(a) and urls.get(a) == urls.get(b) for a, b in pairs), urls)
        for key in (a for a, _ in pairs):
            u = urllib.parse.urlsplit(urls.get(key) or "")
            check("config: %s is https on the host asked" % key,
                  u.scheme == "https" and u.netloc == "127.0.0.1:%d" % port, urls.get(key))

        small = urls.get("small_https_download_url", base + "/none")
        status, version, headers, data, size = curl(small)
        check("small download: 200 over HTTP/2, exactly 1 byte",
              status == 200 and version == "2" and size == 1 and len(data) == 1, (status, version, size))
        not_transformed("small download", headers, status)

        large = urls.get("large_https_download_url", base + "/none")
        status, _, headers, data, _ = curl(large, "-r", "8000000000-8000000099")
        total = (headers.get("content-range") or ["/0"])[0].rsplit("/", 1)[-1]
        check("large download: at least 8 GB (a range near 8 GB answers 206 with the total)",
              status == 206 and len(data) == 100 and total.isdigit() and int(total) >= 8 * 10**9,
              (status, len(data), headers.get("content-range")))
        status, version, headers, data, size = curl(large, "--max-time", "2", body_limit=1 << 20)
        check("large download: the whole object streams over HTTP/2 (2 s read)",
              version == "2" and status == 200 and size > 1 << 20, (status, version, size))
        not_transformed("large download", headers, status)
        _, _, _, first, _ = curl(large, "-r", "0-65535")
        _, _, _, later, _ = curl(large, "-r", "%d-%d" % (5 << 30, (5 << 30) + 65535))
        check("large download: incompressible, no repeats (first 64 KiB differ from those at 5 GiB)",
              len(first) == len(later) == 65536 and first != later and len(set(first)) > 250, len(first))

        upload = urls.get("https_upload_url", base + "/none")
        blob = os.path.join(TMP, "upload.bin")
        with open(blob, "wb") as f:
            f.write(os.urandom(1 << 20) * 40)  # 40 MiB
        for method, extra in (("POST", ["--data-binary", "@" + blob]),
                              ("PUT", ["-T", blob]),
                              ("POST chunked", ["-H", "Transfer-Encoding: chunked", "-T", blob, "-X", "POST"])):
            status, version, headers, data, _ = curl(upload, *extra)
            try:
                got = json.loads(data).get("bytes")
            except ValueError:
                got = None
            check("upload (%s over HTTP/2): 200, all 40 MiB read and discarded" % method,
                  status == 200 and version == "2" and got == 40 << 20, (status, version, data[:200]))
            if method == "POST":
                not_transformed("upload", headers, status)
        answer = declared_length_not_refused("127.0.0.1", port, urllib.parse.urlsplit(upload).path)
        check("upload: a declared 5 GB body is read, not refused (no 413)", b" 413 " not in answer[:20] and
              not answer.startswith(b"HTTP/1.1 4"), answer[:60])

        with open(conf, "a") as f:
            f.write('public_url="https://speed.isp.example/"\n')
        status, _, _, data, _ = curl(base + "/.well-known/nq")
        urls = (json.loads(data) if status == 200 else {}).get("urls") or {}
        check("public_url: the URLs are built from it",
              urls.get("large_https_download_url") == "https://speed.isp.example/api/load/download"
              and urls.get("upload_url") == "https://speed.isp.example/api/load/upload", (status, urls))
        with open(conf, "a") as f:
            f.write('public_url="ftp://speed.isp.example"\n')
        status, _, headers, data, _ = curl(base + "/.well-known/nq")
        check("public_url: not http(s) is a JSON 503 naming it",
              status == 503 and b"public_url" in data and json.loads(data).get("success") is False, (status, data))
    finally:
        subprocess.run(["sh", script, "stop", rundir], timeout=30)
        # Nothing left in the build tree (make distcheck's distcleancheck).
        shutil.rmtree(rundir, ignore_errors=True)
    failed = results.count(False)
    print("RESULT: %d passed, %d failed" % (results.count(True), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
