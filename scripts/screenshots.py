"""Screenshots for the README and docs/features.md: the home page, a gallery in the image-first grid and in
details, the lightbox and a comparison, the team's collections, a collection and the lightbox with its comments,
on desktop, phone and in dark mode.

Starts the built-in emulator and the gallery on free ports of 127.0.0.1, drives Debian's Chromium with
Playwright, and writes docs/<page>-<view>.png. Run it with `make screenshots`.

The pictures depend on fonts, so Chromium sees only the fonts named in FONTS (a fontconfig file of our own
lists just their folders): the same files on every machine, whatever else is installed. Missing ones stop the
script with the Debian package to install.
"""

import argparse
import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from flux_emulator import app as sample  # noqa: E402
from flux_emulator.server import ServerThread  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
VIEWS = {
    "desktop": {"viewport": {"width": 1440, "height": 960}, "color_scheme": "light"},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True, "color_scheme": "light"},
    "dark": {"viewport": {"width": 1440, "height": 960}, "color_scheme": "dark"},
}
# Every family the pages need: Latin, Greek and Arabic prompts (DejaVu), Chinese and Japanese ones (Noto CJK).
FONTS = {"DejaVu Sans": "fonts-dejavu-core", "DejaVu Sans Mono": "fonts-dejavu-core",
         "Noto Sans CJK SC": "fonts-noto-cjk", "Noto Sans CJK JP": "fonts-noto-cjk"}
SANS = ("DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK JP")
MONO = ("DejaVu Sans Mono", *SANS[1:])
ALIASES = {**dict.fromkeys(("system-ui", "Noto Sans", "Roboto", "Arial", "sans-serif", "serif", "sans"), SANS),
           **dict.fromkeys(("ui-monospace", "monospace"), MONO)}
GALLERY = "/tasks/" + ",".join(sample.SAMPLE_GALLERIES["Everything"])
LIGHTBOX = "/tasks/" + ",".join(sample.SAMPLE_GALLERIES["Prompt iterations"]) + f"?image={sample.LIGHTHOUSE_IDS[2]}-0"
COMPARE = ("/tasks/" + ",".join(sample.SAMPLE_GALLERIES["Prompt iterations"]) + "?compare="
           + ",".join(f"{task_id}-0" for task_id in sample.LIGHTHOUSE_IDS[1:4]))
PAGES = {"home": "/", "gallery": GALLERY, "details": GALLERY + "?density=details", "lightbox": LIGHTBOX,
         "compare": COMPARE}
# Every image in view has loaded (lazy ones below the fold do not count).
IMAGES_READY = """() => Array.from(document.images)
  .filter(i => { const r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight && r.width; })
  .every(i => i.complete && i.naturalWidth > 0)"""


def font_config(folder: Path) -> Path:
    """A fontconfig file that offers Chromium only the font files of FONTS; exits naming what to install."""
    fonts, missing = folder / "fonts", set()
    fonts.mkdir()
    for family, package in FONTS.items():
        try:
            files = subprocess.run(["fc-list", "-f", "%{file}\\n", family], check=True, capture_output=True,
                                   text=True).stdout.split()
        except (OSError, subprocess.CalledProcessError):
            files = []
        if not files:
            missing.add(package)
        for file in files:  # links, not folders: a folder would bring its other fonts (DejaVu Serif) along
            link = fonts / Path(file).name
            if not link.exists():
                link.symlink_to(file)
    if missing:
        sys.exit(f"make screenshots needs these fonts: apt-get install {' '.join(sorted(missing))}")
    # The names the stylesheet asks for (system-ui, Noto Sans, sans-serif, monospace…) map to these fonts only.
    entries = f"<dir>{fonts}</dir><cachedir>{folder / 'cache'}</cachedir>"
    for generic, families in ALIASES.items():
        prefer = "".join(f"<family>{family}</family>" for family in families)
        entries += f"<alias binding='same'><family>{generic}</family><prefer>{prefer}</prefer></alias>"
    config = folder / "fonts.conf"
    config.write_text(f'<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>{entries}'
                      "</fontconfig>")
    return config


def post(url: str, body: dict, method: str = "POST") -> dict:
    """A write to the JSON API as a script makes it (no cookie: no CSRF token; the name in "by")."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:  # noqa: S310 (the local server this script started)
        text = response.read()
    return json.loads(text) if text else {}


def make_collection(base: str) -> str:
    """A collection of the lighthouse iterations, with a pick and a short exchange of comments: its path."""
    made = post(f"{base}/api/collections", {
        "title": "Lighthouse: which version ships", "by": "Ana",
        "description": "Four takes on the same prompt. Star the one you would ship; say why in the comments.",
        "items": list(sample.LIGHTHOUSE_IDS)})
    chosen = f"{sample.LIGHTHOUSE_IDS[2]}-0"
    for name in ("Ana", "Bo"):
        post(f"{base}/api/picks/{chosen}", {"by": name}, method="PUT")
    for name, text in (("Bo", "The storm clouds read better at thumbnail size."),
                       ("Ana", "Agreed. Notes on the palette: https://example.com/lighthouse-notes")):
        post(f"{base}/api/images/{chosen}/comments", {"body": text, "by": name})
    return "/c/" + made["slug"]


def make_more_collections(base: str) -> None:
    """Two more collections (made before the lighthouse one, so it is listed first), for /collections."""
    post(f"{base}/api/collections", {
        "title": "Shapes for the landing page", "by": "Bo",
        "description": "Every aspect ratio we may need, from banner to portrait.",
        "items": list(sample.SAMPLE_GALLERIES["Sizes and shapes"])})
    post(f"{base}/api/collections", {"title": "Hills at every hour", "by": "Chen",
                                     "items": list(sample.SAMPLE_GALLERIES["Everything"][3:6])})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNG files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as cache:
        fonts = font_config(Path(cache))
        emulator = sample.EmulatorServer(app=sample.create_emulator({"PENDING_SECONDS": 600.0})).start()
        try:
            # The emulator serves its images from 127.0.0.1; one browser loads many pages in a few seconds.
            app = create_app({"ACEDATACLOUD_API_BASE_URL": emulator.url,
                              "ACEDATACLOUD_API_TOKEN": emulator.app.config["TOKEN"],
                              "EMULATOR": "off", "CACHE_DIR": cache, "ALLOW_PRIVATE_IMAGE_HOSTS": True,
                              # Kept tasks of this run only: a kept record names this run's emulator port.
                              "DATABASE_URL": f"sqlite:///{Path(cache) / 'gallery.db'}",
                              "RATE_LIMIT": 0, "IMAGE_RATE_LIMIT": 0})
            # Say "sample data" and link the sample galleries, as `make run` does with no token.
            app.extensions["gallery"] = dataclasses.replace(app.extensions["gallery"], sample_data=True)
            with ServerThread(app) as server, sync_playwright() as playwright:
                make_more_collections(server.url)
                collection = make_collection(server.url)
                pages = {**PAGES, "collections": "/collections", "collection": collection,
                         "comments": f"{collection}?image={sample.LIGHTHOUSE_IDS[2]}-0"}
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                     env={**os.environ, "FONTCONFIG_FILE": str(fonts)})
                for view, options in VIEWS.items():
                    context = browser.new_context(**options)
                    page = context.new_page()
                    for name, path in pages.items():
                        page.goto(server.url + path)
                        if name in ("lightbox", "comments"):
                            page.wait_for_selector("#lightbox[open]")
                        if name == "comments":
                            page.wait_for_selector("#comments-list .comment")
                        if name == "compare":  # the originals in place of the thumbnails, zoomed in a little
                            page.wait_for_function("""() => Array.from(document.querySelectorAll('.compare__image'))
                              .every(i => i.getAttribute('src') === i.dataset.full && i.complete)""", timeout=20_000)
                            page.locator(".compare__view").first.focus()
                            page.keyboard.press("+")
                            # The focus ring the key press left is not part of the view being shown.
                            page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
                        page.wait_for_function(IMAGES_READY, timeout=20_000)
                        page.wait_for_timeout(300)  # let the arrival animations settle
                        if name == "details":  # the next pages are drawn in the image grid again
                            page.context.clear_cookies()
                        target = args.out / f"{name}-{view}.png"
                        page.screenshot(path=str(target))
                        print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
                    context.close()
                browser.close()
        finally:
            emulator.stop()


if __name__ == "__main__":
    main()
