"""Fill in deploy/nginx/'s placeholders for one site, and optionally run nginx in the foreground on the result.

python deploy/render.py --out /etc/nginx/flux-gallery --server 10.0.0.11:8000 --server 10.0.0.12:8000 \\
    --cache-dir /srv/flux-gallery/cache --listen 80 --server-name gallery.example.com
python deploy/render.py --out /tmp/site --server 127.0.0.1:8000 --cache-dir instance/cache --listen 8080 --run
"""

import argparse
import getpass
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "nginx"
PLACEHOLDER = re.compile(r"@[A-Z_]+@")
SITE, STANDALONE = "flux-gallery.conf", "standalone.conf"


def render(out: str | os.PathLike, *, servers: list[str], cache_dir: str | os.PathLike, listen: str = "80",
           server_name: str = "_", accel_prefix: str = "/_cache/", nginx_cache_dir: str | os.PathLike | None = None,
           prefix: str | os.PathLike | None = None, workers: str = "auto") -> Path:
    """Write every file of deploy/nginx/ into `out` with its names filled in; the folder."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    prefix = Path(prefix).resolve() if prefix else out
    values = {
        "UPSTREAM_SERVERS": "\n".join(f"    server {server} max_fails=1 fail_timeout=5s;" for server in servers),
        "LISTEN": listen,
        "SERVER_NAME": server_name,
        "CACHE_DIR": str(Path(cache_dir).resolve()),
        "ACCEL_PREFIX": accel_prefix,
        "NGINX_CACHE_DIR": str(nginx_cache_dir or prefix / "proxy-cache"),
        "CONF_DIR": str(out),
        "PREFIX": str(prefix),
        "WORKERS": workers,
        # Started as root, nginx's workers would run as `nobody` and could not read a private cache folder.
        "USER_LINE": f"user {getpass.getuser()};" if os.geteuid() == 0 else "",
    }
    for template in sorted(TEMPLATES.glob("*.conf")):
        text = PLACEHOLDER.sub(lambda match: values[match[0].strip("@")], template.read_text())
        (out / template.name).write_text(text)
    return out


@contextmanager
def running(conf_dir: str | os.PathLike, port: int, seconds: float = 20.0):
    """nginx in the foreground on a config made by render(prefix=...), answering on `port` of 127.0.0.1."""
    conf_dir = Path(conf_dir)
    prefix = Path(re.search(r"^pid (.*)/nginx\.pid;", (conf_dir / STANDALONE).read_text(), re.M)[1])
    for folder in ("temp", "proxy-cache"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    child = subprocess.Popen([binary, "-p", str(prefix), "-c", str(conf_dir / STANDALONE)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        stop = time.monotonic() + seconds
        while True:
            if child.poll() is not None:
                log = prefix / "error.log"
                raise RuntimeError(f"nginx stopped: {log.read_text() if log.exists() else 'no log'}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > stop:
                    raise RuntimeError("nginx did not start listening") from None
                time.sleep(0.05)
        yield child
    finally:
        os.killpg(child.pid, signal.SIGQUIT)  # a graceful stop: running requests finish
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the filled-in files")
    parser.add_argument("--server", action="append", required=True, help="an app server, host:port (repeat)")
    parser.add_argument("--cache-dir", required=True, help="the app servers' GALLERY_CACHE_DIR, as nginx sees it")
    parser.add_argument("--listen", default="80")
    parser.add_argument("--server-name", default="_")
    parser.add_argument("--accel-prefix", default="/_cache/", help="the app servers' GALLERY_ACCEL_REDIRECT")
    parser.add_argument("--nginx-cache-dir", default="/var/cache/nginx/flux-gallery",
                        help="where nginx keeps public images (its proxy_cache)")
    parser.add_argument("--run", action="store_true", help="run nginx on the result in the foreground (Ctrl-C)")
    options = parser.parse_args()
    out = render(options.out, servers=options.server, cache_dir=options.cache_dir, listen=options.listen,
                 server_name=options.server_name, accel_prefix=options.accel_prefix,
                 nginx_cache_dir=None if options.run else options.nginx_cache_dir)
    print(f"wrote {', '.join(sorted(path.name for path in out.glob('*.conf')))} to {out}")
    if options.run:
        port = int(options.listen.rsplit(":", 1)[-1].split()[0])
        with running(out, port) as child:
            print(f"nginx on port {port}; Ctrl-C stops it")
            try:
                child.wait()
            except KeyboardInterrupt:
                pass


if __name__ == "__main__":
    main()
