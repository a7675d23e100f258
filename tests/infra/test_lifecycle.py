"""The services' background threads end when the services are closed, or when their app is collected."""

import gc
import threading

from flux_emulator import app as sample
from support import gallery_app

GALLERY = f"/tasks/{sample.DONE_ID},{sample.LAKE_ID}"


def busy_app(emulator, tmp_path):
    """An app that has used its thread pools: a two-chunk gallery (BATCH_SIZE=1), then thumbnails made ahead."""
    before = set(threading.enumerate())
    app = gallery_app(emulator.url, tmp_path, BATCH_SIZE=1)
    with app.test_client().get(GALLERY) as page:  # closing the page queues its thumbnails
        assert page.status_code == 200
    app.extensions["gallery"].thumbnailer.wait_idle(30)
    started = [thread for thread in set(threading.enumerate()) - before
               if thread.name.startswith(("tasks-api", "thumbnails"))]
    assert {thread.name.split("_")[0] for thread in started} == {"tasks-api", "thumbnails"}
    return app, started


def test_closing_the_services_ends_their_threads(emulator, tmp_path):
    app, started = busy_app(emulator, tmp_path)
    services = app.extensions["gallery"]
    services.close()
    assert [thread.name for thread in started if thread.is_alive()] == []
    assert services.thumbnailer.prepare(services.tasks.get_many([sample.MULTI_ID])) == 0  # nothing queued now
    services.close()  # twice is fine


def test_an_app_that_is_collected_ends_its_threads(emulator, tmp_path):
    app, started = busy_app(emulator, tmp_path)
    del app
    gc.collect()
    assert [thread.name for thread in started if thread.is_alive()] == []
