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

# With no API token, every worker shows the emulator's sample data. Start the one emulator here, in the master,
# before the workers fork, so they all find it on its fixed port instead of each starting their own.
_emulator = None


def on_starting(server) -> None:
    """Start the shared emulator when the app will want one (no token, emulator not turned off)."""
    global _emulator
    from dotenv import load_dotenv

    from flux_emulator.app import fault_arg
    from gallery import sample_data

    load_dotenv(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".env"))
    token = os.environ.get("ACEDATACLOUD_API_TOKEN", "").strip()
    port = int(os.environ.get("GALLERY_EMULATOR_PORT", 5001))
    if token or os.environ.get("GALLERY_EMULATOR", "auto") != "auto" or not port:
        return
    faults = {"FAULT": fault_arg(os.environ.get("GALLERY_EMULATOR_FAULT")),
              "IMAGE_FAULT": fault_arg(os.environ.get("GALLERY_EMULATOR_IMAGE_FAULT"))}
    _emulator = sample_data.spawn(port, faults)


def on_exit(server) -> None:
    """Stop the emulator this master started."""
    if _emulator is not None:
        _emulator.terminate()
        _emulator.wait(10)
