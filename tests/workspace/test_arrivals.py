"""Tasks that arrive without anyone pasting IDs: the Flux callback, and `flask import` by ID or time window."""

import time

import pytest
import requests
from acedatacloud import AceDataCloud

from flux_emulator import app as sample
from flux_emulator.app import EmulatorServer
from flux_emulator.server import ServerThread
from gallery.workspace.query import parse_query
from support import TOKEN, emulator_stats, gallery_app

SECRET = "hook-secret-5b1d0c8e"
CATALOGUE = {s.id: s for s in sample.SAMPLES.values()}
FINISHED_SAMPLES = sorted(task_id for task_id, s in CATALOGUE.items() if s.waits is None)


def wait_until(check, timeout=10.0):
    """The first truthy value of `check()`, polled until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.02)
    return result


@pytest.fixture
def hook_app(emulator, tmp_path, database_url):
    """The gallery with a callback secret, asking the Tasks API at once when called back."""
    return gallery_app(emulator.url, tmp_path / "cache", DATABASE_URL=database_url, CALLBACK_SECRET=SECRET,
                       CALLBACK_RETRIES=(0.0, 0.1, 0.3))


def callback(client, task_id, secret=SECRET, **body):
    return client.post(f"/hooks/flux/{secret}", json={"success": True, "task_id": task_id, "trace_id": "t", **body})


def test_without_a_secret_there_is_no_callback_route(emulator, tmp_path):
    app = gallery_app(emulator.url, tmp_path / "cache")
    assert callback(app.test_client(), sample.DONE_ID, secret="anything").status_code == 404


def test_a_wrong_secret_is_a_404_and_fetches_nothing(hook_app, emulator):
    response = callback(hook_app.test_client(), sample.DONE_ID, secret=SECRET[:-1] + "x")
    assert response.status_code == 404
    assert emulator_stats(emulator)["task_calls"] == 0


@pytest.mark.parametrize("body", [b"not json <script>", b"[]", b'{"task_id": "../etc", "success": true}',
                                  b'{"task_id": "d7243f94-3b83-4f3b-950b-9addacb5ffe9"}'])
def test_a_malformed_callback_is_refused_without_echoing_it(hook_app, emulator, body):
    response = hook_app.test_client().post(f"/hooks/flux/{SECRET}", data=body,
                                           content_type="application/json")
    assert response.status_code == 400 and b"<script>" not in response.data and b"../etc" not in response.data
    assert emulator_stats(emulator)["task_calls"] == 0


def test_an_oversized_callback_is_refused(hook_app):
    response = hook_app.test_client().post(f"/hooks/flux/{SECRET}", data=b"{" + b" " * 300_000 + b"}",
                                           content_type="application/json")
    assert response.status_code == 413


def test_a_callback_keeps_the_task_and_a_repeat_changes_nothing(hook_app):
    client = hook_app.test_client()
    kept = hook_app.extensions["gallery"].kept
    assert callback(client, sample.DONE_ID).status_code == 202
    assert callback(client, sample.DONE_ID).status_code == 202
    assert hook_app.extensions["callbacks"].wait_idle(10)
    assert [task.id for task in kept.recent().tasks] == [sample.DONE_ID]
    assert kept.count() == 1


def test_the_emulator_generates_calls_back_and_the_task_shows_up_by_itself(emulator, tmp_path, database_url):
    """The end-to-end path: AceData's SDK generates on the emulator with the gallery's hook as callback_url."""
    requests.post(f"{emulator.url}/_emulator/config", json={"GENERATE_SECONDS": 0.2}, timeout=5)
    app = gallery_app(emulator.url, tmp_path / "cache", DATABASE_URL=database_url, CALLBACK_SECRET=SECRET,
                      CALLBACK_RETRIES=(0.0, 0.2, 0.5, 1.0))
    kept = app.extensions["gallery"].kept
    with ServerThread(app) as gallery, AceDataCloud(api_token=TOKEN, base_url=emulator.url, max_retries=0) as sdk:
        handle = sdk.flux.generate(action="generate", prompt="a copper weathervane on a red barn", size="3:2",
                                   model="flux-dev", callback_url=f"{gallery.url}/hooks/flux/{SECRET}")
        found = wait_until(lambda: kept.search(parse_query("weathervane")).tasks)
    assert [task.id for task in found] == [handle.id]
    assert kept.recent().tasks[0].id == handle.id
    assert found[0].prompt == "a copper weathervane on a red barn" and found[0].size == "3:2"
    # After a restart its gallery costs no upstream call.
    calls = emulator_stats(emulator)["task_calls"]
    again = gallery_app(emulator.url, tmp_path / "other-cache", DATABASE_URL=database_url)
    assert again.test_client().get(f"/api/tasks/{handle.id}").json["tasks"][0]["status"] == "done"
    assert emulator_stats(emulator)["task_calls"] == calls


def run_import(app, *args):
    """`flask import <args>` through Flask's CLI runner."""
    return app.test_cli_runner().invoke(args=["import", *args])


def test_import_by_ids_keeps_the_finished_ones_and_says_what_it_did(hook_app):
    ids = [sample.DONE_ID, sample.LAKE_ID, sample.PENDING_ID, sample.UNKNOWN_ID, sample.FAILED_ID]
    result = run_import(hook_app, ",".join(ids))
    assert result.exit_code == 0, result.output
    assert "Imported 3 new tasks; 0 kept already, 1 not finished, 1 unknown" in result.output
    again = run_import(hook_app, *ids)
    assert "Imported 0 new tasks; 3 kept already" in again.output


def test_import_reads_ids_from_a_file(hook_app, tmp_path):
    listing = tmp_path / "ids.txt"
    listing.write_text(f"{sample.DONE_ID}\n{sample.LAKE_ID}, {sample.MULTI_ID}\n")
    result = run_import(hook_app, "--file", str(listing))
    assert result.exit_code == 0 and "Imported 3 new tasks" in result.output


def test_import_by_time_window_pages_through_every_task_once(hook_app, emulator):
    days = sorted({time.strftime("%Y-%m-%d", time.gmtime(CATALOGUE[i].created_at)) for i in FINISHED_SAMPLES})
    result = run_import(hook_app, "--since", days[0], "--until", days[-1], "--page-size", "5")
    assert result.exit_code == 0, result.output
    kept = hook_app.extensions["gallery"].kept
    in_window = [i for i in FINISHED_SAMPLES if days[0] <= time.strftime("%Y-%m-%d",
                                                                         time.gmtime(CATALOGUE[i].created_at))]
    assert kept.known(CATALOGUE) == set(in_window)
    assert f"Imported {len(in_window)} new tasks" in result.output
    assert emulator_stats(emulator)["task_calls"] >= 3  # several pages
    again = run_import(hook_app, "--since", days[0], "--until", days[-1], "--page-size", "5")
    assert f"Imported 0 new tasks; {len(in_window)} kept already" in again.output
    assert kept.count() == len(in_window)


@pytest.mark.parametrize(("args", "message"), [
    ((), "Give task IDs"),
    (("--until", "2026-11-01"), "--until goes with --since"),
    (("--since", "2026-11-02", "--until", "2026-11-01"), "before --since"),
    (("not-an-id",), "not a task ID"),
])
def test_import_explains_what_it_needs(hook_app, args, message):
    result = run_import(hook_app, *args)
    assert result.exit_code != 0 and message in result.output


def test_import_survives_a_failing_api_with_a_clear_message(hook_app, emulator):
    requests.post(f"{emulator.url}/_emulator/config", json={"FAULT": "401"}, timeout=5)
    result = run_import(hook_app, sample.DONE_ID)
    assert result.exit_code == 1 and "run the same command again" in result.output


def test_generated_tasks_are_found_by_a_time_window(emulator, tmp_path, database_url):
    with EmulatorServer(config={"TOKEN": TOKEN, "GENERATE_SECONDS": 0.0}) as api:
        for n in range(3):
            requests.post(f"{api.url}/flux/images", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10,
                          json={"prompt": f"kite number {n}", "size": "1:1", "async": True}).raise_for_status()
        app = gallery_app(api.url, tmp_path / "cache", DATABASE_URL=database_url)
        today = time.strftime("%Y-%m-%d", time.gmtime())
        result = run_import(app, "--since", today)
        assert result.exit_code == 0, result.output
        assert {task.prompt for task in app.extensions["gallery"].kept.search(parse_query("kite")).tasks} == {
            "kite number 0", "kite number 1", "kite number 2"}
