"""Static files: linked by the hash of their bytes, compressed, and cached by browsers for good."""

import gzip
import re
from pathlib import Path

import brotli
import pytest
from bs4 import BeautifulSoup

from flux_emulator import app as sample
from gallery.web.assets import Assets

ROOT = Path(__file__).resolve().parents[2]
IMMUTABLE = "public, max-age=31536000, immutable"
PAGES = ["/", f"/tasks/{sample.DONE_ID}", "/nowhere"]


def static_links(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [element.get("href") or element.get("src")
            for element in soup.select("link[href^='/static/'], script[src], img[src^='/static/']")]


@pytest.mark.parametrize("path", PAGES)
def test_pages_link_static_files_by_the_hash_of_their_bytes(client, path):
    links = static_links(client.get(path).get_data(as_text=True))
    names = {re.sub(r"\.[0-9a-f]{12}\.", ".", link.rsplit("/", 1)[1]) for link in links}
    # Every page: the stylesheet, the one read only without the script, the script, the icon; a gallery page
    # adds the scripts of its grid (zoom, compare, selection, picks and comments; Recent and search add pager.js,
    # their windowed list).
    grid = {"zoom.js", "compare.js", "select.js", "team.js"} if path.startswith("/tasks/") else set()
    assert names == {"style.css", "noscript.css", "gallery.js", "favicon.svg"} | grid
    for link in links:
        assert re.fullmatch(r"/static/(style|noscript|gallery|zoom|compare|select|team|collection|pager|favicon)"
                            r"\.[0-9a-f]{12}\.(css|js|svg)", link), link


@pytest.mark.parametrize("name", ["style.css", "gallery.js"])
def test_hashed_static_files_are_immutable_and_compressed(client, name):
    link = next(link for link in static_links(client.get("/").get_data(as_text=True))
                if link.endswith(name.rsplit(".", 1)[1]) and name.split(".")[0] in link)
    original = (ROOT / "static" / name).read_bytes()
    decode = {"br": brotli.decompress, "gzip": gzip.decompress}
    for accept, coding in (("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip")):
        response = client.get(link, headers={"Accept-Encoding": accept})
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.headers["Content-Encoding"] == coding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert len(response.data) < len(original) / 3
        assert decode[coding](response.data) == original
    plain = client.get(link)  # no Accept-Encoding: the bytes as they are
    assert "Content-Encoding" not in plain.headers and plain.data == original
    assert plain.headers["Cache-Control"] == IMMUTABLE
    again = client.get(link, headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304


def test_plain_static_names_still_answer_but_are_revalidated(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200 and "immutable" not in response.headers.get("Cache-Control", "")
    response.close()
    assert client.get("/static/style.000000000000.css").status_code == 404  # bytes no longer served


def test_a_changed_file_gets_a_new_url_and_the_old_one_is_gone(tmp_path):
    (tmp_path / "style.css").write_text("body { color: red; }")
    before = Assets(tmp_path)
    (tmp_path / "style.css").write_text("body { color: blue; }")
    after = Assets(tmp_path)
    old, new = before.hashed_name("style.css"), after.hashed_name("style.css")
    assert re.fullmatch(r"style\.[0-9a-f]{12}\.css", new) and old != new
    assert after.find(new).bodies["identity"] == b"body { color: blue; }"
    assert after.find(old) is None
    assert Assets(tmp_path).hashed_name("style.css") == new  # the same bytes, the same URL, in every worker
    assert after.hashed_name("missing.css") == "missing.css"
