"""gunicorn settings for `make serve`; every value can be overridden with GUNICORN_* style flags or env."""

import multiprocessing
import os

bind = os.environ.get("GALLERY_BIND", "127.0.0.1:8000")
# One process per core: thumbnailing is CPU work, and Pillow releases the GIL while it decodes and resizes,
# so a few threads per process keep the cores busy while other requests wait on the network.
workers = int(os.environ.get("GALLERY_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GALLERY_THREADS", 4))
# Inside gunicorn's limit: a page spends at most GALLERY_API_DEADLINE (15 s) on the Tasks API.
timeout = 30
graceful_timeout = 20
# Galleries are one GET with IDs in the path: refuse anything longer than 100 IDs could need.
limit_request_line = 8190
accesslog = "-"
wsgi_app = "app:create_app()"
