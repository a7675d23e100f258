"""Every kind of page is valid HTML: html-validate (npm, test only) with its standard preset finds no error."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from flux_emulator import app as sample
from support import gallery_app, need

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "node_modules" / ".bin" / "html-validate"

ITERATIONS = sample.LIGHTHOUSE_IDS
PAGES = {
    "home": ("/", 200),
    "home with an error": ("/?ids=not-an-id", 400),
    "gallery": ("/tasks/" + ",".join(sample.SAMPLE_GALLERIES["Everything"]), 200),
    "one-image link": ("/tasks/" + ",".join(ITERATIONS) + f"?image={ITERATIONS[2]}-0", 200),
    "pending gallery": (f"/tasks/{sample.DONE_ID},{sample.PENDING_ID}", 200),
    "details": ("/tasks/" + ",".join(sample.SAMPLE_GALLERIES["Mixed states"]) + "?density=details", 200),
    "compare": ("/tasks/" + ",".join(ITERATIONS) + "?compare=" + ",".join(f"{i}-0" for i in ITERATIONS), 200),
    "compare of two": ("/tasks/" + ",".join(ITERATIONS) + f"?compare={ITERATIONS[0]}-0,{ITERATIONS[3]}-0", 200),
    # After the galleries above, which keep their tasks: Recent and search have something to show.
    "recent": ("/recent", 200),
    "search": ("/search?q=lighthouse", 200),
    "recent compare": (f"/recent?compare={ITERATIONS[1]}-0,{sample.DONE_ID}-0", 200),
    "empty search": ("/search", 200),
    "search that finds nothing": ("/search?q=zeppelin", 200),
    "bad search": ("/search?q=seed:abc", 400),
    "not found": ("/nowhere", 404),
    "bad link": ("/tasks/not-a-task", 400),
}


@pytest.fixture(scope="module")
def validator():
    if not VALIDATOR.exists() or shutil.which("node") is None:
        need(f"HTML validation skipped: {VALIDATOR.relative_to(ROOT)} or node is missing (make test runs npm ci)")
    return VALIDATOR


def problems(validator: Path, files: list[Path], tmp_path: Path) -> list[str]:
    """html-validate's errors and warnings for `files`, one line each, under the repository's .htmlvalidate.json."""
    report = tmp_path / "html-validate.json"  # to a file: a large report on a pipe may be cut short at exit
    run = subprocess.run([str(validator), "--config", str(ROOT / ".htmlvalidate.json"), "--formatter",
                          f"json={report}", *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert report.exists(), run.stderr
    found = [f"{Path(result['filePath']).name}:{message['line']}: {message['ruleId']}: {message['message']}"
             for result in json.loads(report.read_text()) for message in result["messages"]]
    assert run.returncode == (1 if found else 0), run.stderr
    return found


@pytest.mark.slow
def test_every_page_is_valid_html(validator, app, tmp_path, emulator):
    client = app.test_client()
    files = []
    for name, (path, status) in PAGES.items():
        response = client.get(path)
        assert response.status_code == status, name
        files.append(tmp_path / f"{name.replace(' ', '-')}.html")
        files[-1].write_bytes(response.data)
    locked = gallery_app(emulator.url, tmp_path / "locked", ACCESS_KEY="team-secret-42").test_client().get("/")
    assert locked.status_code == 401 and b'type="password"' in locked.data  # the access-key form
    files.append(tmp_path / "access-key.html")
    files[-1].write_bytes(locked.data)
    exported = tmp_path / "export"
    result = app.test_cli_runner().invoke(args=["export", ",".join(sample.SAMPLE_GALLERIES["Mixed states"]),
                                                str(exported)])
    assert result.exit_code == 0, result.output
    files.append(exported / "index.html")
    assert problems(validator, files, tmp_path) == []


def test_the_validator_reports_invalid_html(validator, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html lang="en"><head><title>x</title></head>'
                    '<body><img alt=""><h2></h2></body></html>')
    assert any("img" in line and "src" in line for line in problems(validator, [page], tmp_path))
