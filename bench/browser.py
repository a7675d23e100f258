"""The gallery in a real browser: Chromium (Debian's) driven by Playwright against the app under gunicorn.

How soon the first thumbnail and the first screenful are painted (on screen, not merely loaded), for a warm
gallery of 10 tasks, for a Recent of 10,000 kept images, for a gallery of Recent's first page of tasks, for a
collection of those 10,000 images and for a collection of only its first page, against a plain page of
`<img src=original>` for the first 50 of those images (the limit a gallery should stay near); the page's size (DOM
nodes, JS heap); long tasks while scrolling Recent to its end; and layout shift. Every figure is a ratio against a
baseline measured in the same run.

    .venv/bin/python bench/browser.py [--quick] [--out FILE]     # this part alone; bench/bench.py runs it too
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flux_emulator import app as sample  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 860}
KEPT = 10_000  # synthetic tasks in Recent, every one of them in one collection too
GALLERY = 10  # tasks in the warm gallery
PLAIN = 50  # images in the plain grid
SMALL = 24  # images in the small collection: its whole self is the large one's first page
# A 20 Mbps line with 40 ms of latency (a good home or office link), in bytes per second as Chromium takes them.
LINK = {"latency": 40, "downloadThroughput": 20_000_000 / 8, "uploadThroughput": 5_000_000 / 8}

# Collected from before the first byte: when each image loaded and when it was painted, and where it was then;
# layout shifts; long tasks. An image's `load` event says its bytes arrived, not that anyone can see it: a plain
# grid's 2 MB originals arrive early and are decoded and painted a good while later. What a person sees is the
# paint, which Chromium reports (Element Timing) for images marked `elementtiming`: every image is marked here, as
# the parser adds it, which is long before anything is painted.
OBSERVE = """window.bench = {images: [], painted: [], recording: true, shown: new WeakSet(), shifts: 0, longTasks: []};
// Cheap, as it runs while the page is parsed: the parser adds elements empty, one by one, so only an element that
// came with children (a card a script built) is searched.
const timed = (img) => img.setAttribute("elementtiming", "bench");
const mark = (node) => {
  if (node.nodeType !== 1) return;
  if (node.tagName === "IMG") timed(node);
  else if (node.firstElementChild) node.querySelectorAll("img").forEach(timed);
};
new MutationObserver((records) => records.forEach((record) => record.addedNodes.forEach(mark)))
  .observe(document, {childList: true, subtree: true});
// Where an image is gets read when the figures are, not as it loads or paints: reading it then would have the
// browser lay the page out early, on the measured page's time.
document.addEventListener("load", (event) => {
  const img = event.target;
  if (!window.bench.recording || img.tagName !== "IMG" || !img.closest("#grid, .plain")) return;
  window.bench.images.push({at: performance.now(), img});
}, true);
new PerformanceObserver((list) => list.getEntries().forEach((entry) => {
  const img = entry.element;
  // Once an image: a card the pager puts back, or a larger source taking over, is painted again.
  if (!window.bench.recording || !img || !img.closest("#grid, .plain") || window.bench.shown.has(img)) return;
  window.bench.shown.add(img);
  window.bench.painted.push({at: entry.renderTime || entry.loadTime, img});
})).observe({type: "element", buffered: true});
new PerformanceObserver((list) => list.getEntries().forEach((entry) => {
  if (!entry.hadRecentInput) window.bench.shifts += entry.value;
})).observe({type: "layout-shift", buffered: true});
new PerformanceObserver((list) => list.getEntries().forEach((entry) => {
  window.bench.longTasks.push({at: entry.startTime, duration: entry.duration});
})).observe({type: "longtask", buffered: true});"""
# The first image painted, and the last paint of an image in the first screen (its top above the fold); the same
# two for the images' load events, for comparison.
FIRST_PAINTS = """() => {
  const inScreen = ({img}) => { const box = img.getBoundingClientRect();
                                return box.top + scrollY < innerHeight && box.width > 0; };
  const {images, painted} = window.bench;
  return {first: Math.min(...painted.map((image) => image.at)),
          screen: Math.max(...painted.filter(inScreen).map((image) => image.at)),
          loaded_first: Math.min(...images.map((image) => image.at)),
          loaded_screen: Math.max(...images.filter(inScreen).map((image) => image.at)),
          count: painted.filter(inScreen).length, shifts: window.bench.shifts};
}"""
# Resolves once every image in the first screen has loaded and been painted.
SCREEN_LOADED = """() => document.readyState === "complete" && Array.from(document.images)
  .filter((img) => { const box = img.getBoundingClientRect(); return box.width > 0 && box.top < innerHeight; })
  .every((img) => img.complete && (!img.closest("#grid, .plain") || window.bench.shown.has(img)))"""
# Scrolls Recent to its end half a screen a frame or two, as a quick reader would, waiting for each page of JSON:
# the largest DOM seen, and the long tasks meanwhile.
SCROLL = """async () => {
  const frames = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const count = () => { let n = 0; const walk = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
                        while (walk.nextNode()) n += 1; return n; };
  const from = performance.now(); let nodes = 0, elements = 0, steps = 0;
  // The images are not timed here, and holding on to them would keep every card taken out of the page alive.
  Object.assign(window.bench, {recording: false, images: [], painted: []});
  window.bench.longTasks = window.bench.longTasks.filter((task) => task.at < from);
  for (;;) {
    while (document.querySelector("#more[aria-busy]")) await new Promise((done) => setTimeout(done, 10));
    await frames();
    nodes = Math.max(nodes, count());
    elements = Math.max(elements, document.getElementsByTagName("*").length);
    steps += 1;
    if (scrollY + innerHeight >= document.documentElement.scrollHeight - 1 && !document.querySelector("#more")) break;
    scrollBy(0, innerHeight / 2);
  }
  await frames();
  const tasks = window.bench.longTasks.filter((task) => task.at >= from);
  return {nodes, elements, steps, seconds: (performance.now() - from) / 1000, long_tasks: tasks.length,
          longest_task_ms: Math.max(0, ...tasks.map((task) => task.duration)),
          cards: document.querySelectorAll("#grid > li").length, shifts: window.bench.shifts};
}"""


@contextmanager
def servers(workdir: Path):
    """The emulator and the app under gunicorn (as `make serve` runs it), with a database of the run's own."""
    import bench

    database = f"sqlite:///{workdir / 'gallery.db'}"
    port = bench.free_port()
    env = {"ACEDATACLOUD_API_BASE_URL": "", "ACEDATACLOUD_API_TOKEN": bench.TOKEN, "GALLERY_CACHE_DIR": str(workdir),
           "GALLERY_DATABASE_URL": database, "GALLERY_ALLOW_PRIVATE_IMAGE_HOSTS": "true", "GALLERY_RATE_LIMIT": "0",
           "GALLERY_IMAGE_RATE_LIMIT": "0", "GALLERY_WRITE_RATE_LIMIT": "0"}
    with bench.emulator() as emulator_url:
        env["ACEDATACLOUD_API_BASE_URL"] = emulator_url
        keep_synthetic(emulator_url, database, workdir)
        args = [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--bind", f"127.0.0.1:{port}",
                "--log-level", "warning", "app:create_app()"]
        with bench.process(args, env, f"http://127.0.0.1:{port}/healthz"):
            yield f"http://127.0.0.1:{port}", emulator_url


def keep_synthetic(emulator_url: str, database: str, workdir: Path) -> None:
    """Keep KEPT synthetic tasks in the database, as viewing them once would (the records the emulator gives)."""
    from app import create_app
    from gallery.flux.models import task_from_record

    app = create_app({"ACEDATACLOUD_API_BASE_URL": emulator_url, "ACEDATACLOUD_API_TOKEN": "unused",
                      "EMULATOR": "off", "CACHE_DIR": str(workdir / "keeper"), "DATABASE_URL": database})
    kept = app.extensions["gallery"].kept
    for start in range(1, KEPT + 1, 500):
        ids = [sample.synthetic_id(n) for n in range(start, min(start + 500, KEPT + 1))]
        records = [(task_id, sample.task_record(sample.SAMPLES[task_id], emulator_url + "/")) for task_id in ids]
        kept.keep_many([(task_from_record(task_id, record), record) for task_id, record in records], "import")
    app.extensions["gallery"].close()


def warm(app_url: str, ids: list[str]) -> None:
    """Tasks, thumbnails (both sizes) and originals on the server's disk, as for a gallery looked at before."""
    session = requests.Session()
    for start in range(0, len(ids), 50):
        session.get(f"{app_url}/api/tasks/{','.join(ids[start:start + 50])}", timeout=120).raise_for_status()
    for task_id in ids:
        for path in (f"/thumb/{task_id}/0/384", f"/thumb/{task_id}/0/768", f"/image/{task_id}/0"):
            session.get(app_url + path, timeout=120).raise_for_status()


def make_collection(app_url: str, ids: list[str]) -> str:
    """A collection of one image of each task, in the given order, made as a script would; its address."""
    refs = [f"{task_id}-0" for task_id in ids]
    session = requests.Session()
    made = session.post(f"{app_url}/api/collections", json={"title": f"All {len(refs):,} landscapes",
                                                           "items": refs[:1000], "by": "bench"}, timeout=120)
    made.raise_for_status()
    slug = made.json()["slug"]
    for start in range(1000, len(refs), 1000):  # at most 1,000 refs a request
        session.post(f"{app_url}/api/collections/{slug}/items", json={"items": refs[start:start + 1000]},
                     timeout=120).raise_for_status()
    return f"{app_url}/c/{slug}"


def plain_grid(ids: list[str]) -> str:
    """A page with nothing but the originals in a grid: the least a browser can do to show them (no stylesheet,
    no script: the server's CSP allows no inline style, and none is needed)."""
    images = "".join(f'<img src="/image/{task_id}/0" width="240" height="240" alt="">' for task_id in ids)
    return ("<!doctype html><html lang=en><head><meta charset=utf-8><title>plain</title></head>"
            f"<body><div class=plain>{images}</div></body></html>")


@contextmanager
def served(html: str):
    """`html` as a file the app serves itself (its plain /static/ route), so both pages cost one round trip."""
    folder = ROOT / "static" / ".bench-browser"
    folder.mkdir(exist_ok=True)
    (folder / "plain.html").write_text(html, encoding="utf-8")
    try:
        yield "/static/.bench-browser/plain.html"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def first_screen(browser, url: str, link: dict | None = None) -> dict:
    """A cold browser (nothing cached) opening `url`, over `link` if given (Chromium's network emulation): times
    to the first image and to the first screenful."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(OBSERVE)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    if link:
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {"offline": False, **link})
    page.goto(url, timeout=120_000)
    page.wait_for_function(SCREEN_LOADED, timeout=120_000)
    # The renderer's main thread until the first screen was painted: what it had to do before the frame could be.
    metrics = {metric["name"]: metric["value"] for metric in cdp.send("Performance.getMetrics")["metrics"]}
    page.wait_for_timeout(200)  # late layout shifts count too
    found = page.evaluate(FIRST_PAINTS)
    context.close()
    found.update({"main_ms": metrics["TaskDuration"] * 1000, "script_ms": metrics["ScriptDuration"] * 1000,
                  "layout_ms": (metrics["LayoutDuration"] + metrics["RecalcStyleDuration"]) * 1000})
    return found


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def scroll_recent(browser, app_url: str, thumbnail: bytes) -> dict:
    """Recent scrolled to its end: the page's size and the long tasks meanwhile. Thumbnails past the first screen
    come from one kept file (5,000 cold thumbnails would time the server's Pillow, not the page)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(OBSERVE)
    page = context.new_page()
    page.route("**/thumb/**", lambda route: route.fulfill(body=thumbnail, content_type="image/webp",
                                                          headers={"Cache-Control": "public, max-age=31536000"}))
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(f"{app_url}/recent")
    page.wait_for_function(SCREEN_LOADED, timeout=120_000)
    found = page.evaluate(SCROLL)
    metrics = {metric["name"]: metric["value"] for metric in cdp.send("Performance.getMetrics")["metrics"]}
    found["live_nodes_before_gc"] = int(metrics["Nodes"])  # cards taken out of the page, not collected yet
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {metric["name"]: metric["value"] for metric in cdp.send("Performance.getMetrics")["metrics"]}
    found["heap_mb"] = metrics["JSHeapUsedSize"] / 2**20
    found["live_nodes"] = int(metrics["Nodes"])  # after a collection: what the page really holds on to
    context.close()
    return found


def run(quick: bool = False) -> dict:
    """Every figure of the browser benchmark, with its baseline."""
    from playwright.sync_api import sync_playwright

    repeat = 3 if quick else 5
    gallery_ids = [sample.synthetic_id(n) for n in range(1, GALLERY + 1)]
    newest = [sample.synthetic_id(n) for n in range(KEPT, KEPT - PLAIN, -1)]  # Recent's (and the collection's) first
    with tempfile.TemporaryDirectory(prefix="flux-bench-browser-") as workdir, servers(Path(workdir)) as (app_url, _), \
            served(plain_grid(newest)) as plain_path:
        warm(app_url, gallery_ids + newest)
        gallery = f"{app_url}/tasks/{','.join(gallery_ids)}"
        everything = [sample.synthetic_id(n) for n in range(KEPT, 0, -1)]
        collection = make_collection(app_url, everything)
        # The same first page in a collection of nothing more: what the first screen costs when depth costs nothing.
        small = make_collection(app_url, everything[:SMALL])
        # Recent's first page as a gallery of its tasks: the same first screen, without the listing around it.
        same = f"{app_url}/tasks/{','.join(newest[:SMALL])}"
        for page in (gallery, f"{app_url}/recent", collection, small, same):  # cached by the server, as after a visit
            requests.get(page, timeout=60).raise_for_status()
        thumbnail = requests.get(f"{app_url}/thumb/{newest[0]}/0/384", timeout=60).content
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            runs = {"plain": [], "gallery": [], "recent": [], "collection": [], "small": [], "same": []}
            for _ in range(repeat):  # interleaved, so a busy moment of the machine falls on all of them alike
                runs["plain"].append(first_screen(browser, app_url + plain_path))
                runs["gallery"].append(first_screen(browser, gallery))
                runs["recent"].append(first_screen(browser, f"{app_url}/recent"))
                runs["collection"].append(first_screen(browser, collection))
                runs["small"].append(first_screen(browser, small))
                runs["same"].append(first_screen(browser, same))
            # Over a 20 Mbps link, where the plain grid's 2 MB originals take seconds: fewer rounds, same order.
            slow = {"plain": [], "gallery": [], "recent": []}
            for _ in range(1 if quick else 3):
                slow["plain"].append(first_screen(browser, app_url + plain_path, LINK))
                slow["gallery"].append(first_screen(browser, gallery, LINK))
                slow["recent"].append(first_screen(browser, f"{app_url}/recent", LINK))
            scrolled = scroll_recent(browser, app_url, thumbnail)
            browser.close()
    result = {name: median_of(found) for name, found in runs.items()}
    result["slow_link"] = {name: median_of(found) for name, found in slow.items()}
    result["scroll"] = scrolled
    result["repeat"] = repeat
    plain, gallery_run, recent = result["plain"], result["gallery"], result["recent"]
    result["ratios"] = {
        "recent_screen_to_gallery_screen": recent["screen"] / gallery_run["screen"],
        "recent_screen_to_same_screen": recent["screen"] / result["same"]["screen"],
        "collection_screen_to_gallery_screen": result["collection"]["screen"] / gallery_run["screen"],
        "collection_screen_to_small_screen": result["collection"]["screen"] / result["small"]["screen"],
        "gallery_first_to_plain_first": gallery_run["first"] / plain["first"],
        "recent_first_to_plain_first": recent["first"] / plain["first"],
        "gallery_screen_to_plain_screen": gallery_run["screen"] / plain["screen"],
        "recent_screen_to_plain_screen": recent["screen"] / plain["screen"],
    }
    link = result["slow_link"]
    for name in ("gallery", "recent"):
        for moment in ("first", "screen"):
            result["ratios"][f"{name}_{moment}_to_plain_{moment}_20mbps"] = link[name][moment] / link["plain"][moment]
    return result


def table(result: dict) -> list[str]:
    """Rows of bench.py's table (| figure | value | baseline | ratio | target |)."""
    plain, gallery, recent, scroll, ratio = (result[key] for key in ("plain", "gallery", "recent", "scroll", "ratios"))
    link = result["slow_link"]
    return [
        f"| first thumbnail painted, warm 10-task gallery | {gallery['first']:.0f} ms | {plain['first']:.0f} ms plain "
        f"grid of originals | {ratio['gallery_first_to_plain_first']:.2f}× | ≤ 1.5× |",
        f"| first thumbnail painted, Recent of {KEPT:,} | {recent['first']:.0f} ms | {plain['first']:.0f} ms plain "
        f"grid | {ratio['recent_first_to_plain_first']:.2f}× | ≤ 1.5× |",
        f"| first screenful, warm 10-task gallery ({gallery['count']:.0f} images) | {gallery['screen']:.0f} ms | "
        f"{plain['screen']:.0f} ms plain grid's ({plain['count']:.0f}) | "
        f"{ratio['gallery_screen_to_plain_screen']:.2f}× | ≤ 1× |",
        f"| first screenful, Recent of {KEPT:,} ({recent['count']:.0f} images) | {recent['screen']:.0f} ms | "
        f"{gallery['screen']:.0f} ms 10-task gallery | {ratio['recent_screen_to_gallery_screen']:.2f}× | ≤ 1.2× |",
        f"| first screenful, Recent of {KEPT:,} | {recent['screen']:.0f} ms | {result['same']['screen']:.0f} ms a "
        f"gallery of its first {SMALL} tasks ({result['same']['count']:.0f} images on its first screen) | "
        f"{ratio['recent_screen_to_same_screen']:.2f}× | context: the same tasks, without the listing |",
        f"| first screenful, collection of {KEPT:,} images ({result['collection']['count']:.0f} images) | "
        f"{result['collection']['screen']:.0f} ms | {gallery['screen']:.0f} ms 10-task gallery | "
        f"{ratio['collection_screen_to_gallery_screen']:.2f}× | report: a fuller screen than the gallery's |",
        f"| first screenful, collection of {KEPT:,} images | {result['collection']['screen']:.0f} ms | "
        f"{result['small']['screen']:.0f} ms collection of its first {SMALL} ({result['small']['count']:.0f} images) | "
        f"{ratio['collection_screen_to_small_screen']:.2f}× | ≤ 1.2× |",
        f"| Recent's first screenful against the plain grid's | {recent['screen']:.0f} ms | {plain['screen']:.0f} ms | "
        f"{ratio['recent_screen_to_plain_screen']:.2f}× | ≤ 1× |",
        f"| the same by load events (bytes arrived, not yet painted): first image, first screenful | gallery "
        f"{gallery['loaded_first']:.0f}, {gallery['loaded_screen']:.0f} ms; Recent {recent['loaded_first']:.0f}, "
        f"{recent['loaded_screen']:.0f} ms; collection {result['collection']['loaded_first']:.0f}, "
        f"{result['collection']['loaded_screen']:.0f} ms | plain grid {plain['loaded_first']:.0f}, "
        f"{plain['loaded_screen']:.0f} ms | — | context |",
        f"| the renderer's main thread until the first screen was painted: all work (script; style and layout) | "
        f"gallery {_main(gallery)}; Recent {_main(recent)}; collection {_main(result['collection'])} | plain grid "
        f"{_main(plain)} | — | context |",
        *(_link_row(name, link, ratio) for name in ("gallery", "recent")),
        f"| DOM nodes, scrolling Recent of {KEPT:,} to its end | {scroll['nodes']:,} (elements {scroll['elements']:,}) "
        f"| — | — | ≤ 3,000 |",
        f"| JS heap after scrolling to the end | {scroll['heap_mb']:.1f} MiB | — | — | reported |",
        f"| live DOM nodes after scrolling to the end (in the page or not), after a garbage collection | "
        f"{scroll['live_nodes']:,} ({scroll['live_nodes_before_gc']:,} before it) | — | — | reported: no leak |",
        f"| long tasks while scrolling ({scroll['steps']} screens, {scroll['seconds']:.1f} s) | "
        f"{scroll['long_tasks']}, longest {scroll['longest_task_ms']:.0f} ms | — | — | none over 50 ms |",
        f"| layout shift while loading: gallery, Recent, collection; while scrolling | {gallery['shifts']:.3f}, "
        f"{recent['shifts']:.3f}, {result['collection']['shifts']:.3f}; {scroll['shifts']:.3f} | — | — | < 0.02 |",
    ]


def _main(run: dict) -> str:
    """The main thread's work before a page's first screen was painted, for the table."""
    return f"{run['main_ms']:.0f} ms ({run['script_ms']:.0f}; {run['layout_ms']:.0f})"


def _link_row(name: str, link: dict, ratio: dict) -> str:
    """The table's row for `name` over the 20 Mbps link, against the plain grid over the same link."""
    first, screen = ratio[f"{name}_first_to_plain_first_20mbps"], ratio[f"{name}_screen_to_plain_screen_20mbps"]
    return (f"| over a 20 Mbps / 40 ms link: {name}'s first thumbnail, first screenful | {link[name]['first']:.0f} ms, "
            f"{link[name]['screen']:.0f} ms | plain grid {link['plain']['first']:.0f} ms, "
            f"{link['plain']['screen']:.0f} ms | {first:.2f}×, {screen:.2f}× | < 1×, < 1× |")


def verdicts(result: dict) -> list[tuple[str, bool, str]]:
    """Each browser target, met or not in this run, with the reason for a known miss (see bench.py's Verdict)."""
    ratio, scroll, gallery, recent = result["ratios"], result["scroll"], result["gallery"], result["recent"]
    return [
        ("first thumbnail within 1.5× of a plain grid's first original (gallery and Recent)",
         max(ratio["gallery_first_to_plain_first"], ratio["recent_first_to_plain_first"]) <= 1.5,
         _first_paint_reason(result)),
        ("every first-screen thumbnail before the plain grid's first screen (gallery and Recent)",
         max(ratio["gallery_screen_to_plain_screen"], ratio["recent_screen_to_plain_screen"]) <= 1.0, ""),
        (f"Recent of {KEPT:,}: first screenful within 1.2× of a 10-task gallery's",
         ratio["recent_screen_to_gallery_screen"] <= 1.2,
         f"{ratio['recent_screen_to_gallery_screen']:.2f}×: Recent's first screen holds {recent['count']:.0f} images "
         f"to the gallery's {gallery['count']:.0f}, each fetched, decoded and painted; a gallery of Recent's first "
         f"{SMALL} tasks ({result['same']['count']:.0f} images on its first screen) took "
         f"{result['same']['screen']:.0f} ms, and Recent {ratio['recent_screen_to_same_screen']:.2f}× that: the "
         f"listing's own work (its main thread {recent['main_ms']:.0f} ms to that gallery's "
         f"{result['same']['main_ms']:.0f} ms)"),
        (f"collection of {KEPT:,} images: first screenful within 1.2× of a {SMALL}-image collection's",
         ratio["collection_screen_to_small_screen"] <= 1.2, ""),
        ("over a 20 Mbps / 40 ms link, the first thumbnail and the first screenful ahead of the plain grid's "
         "(gallery and Recent)", max(value for key, value in ratio.items() if key.endswith("_20mbps")) < 1.0, ""),
        (f"Recent of {KEPT:,}: at most 3,000 DOM nodes at any scroll position", scroll["nodes"] <= 3000, ""),
        ("no long task over 50 ms while scrolling", scroll["longest_task_ms"] <= 50, ""),
        ("layout shift under 0.02", max(gallery["shifts"], recent["shifts"], result["collection"]["shifts"],
                                        scroll["shifts"]) < 0.02, ""),
    ]


def _first_paint_reason(result: dict) -> str:
    """Why a page's first thumbnail came late, from the run's figures: a thumbnail is painted in a frame, and the
    frame waits for the main thread's work (the plain grid has no text, no stylesheet and no script), and for the
    decoding of every image it shows at once."""
    plain, ratio = result["plain"], result["ratios"]
    late = max(("gallery", "recent"), key=lambda name: ratio[f"{name}_first_to_plain_first"])
    page = result[late]
    return (f"{late}: {ratio[f'{late}_first_to_plain_first']:.2f}×; its renderer's main thread worked "
            f"{page['main_ms']:.0f} ms before its first screen was painted ({page['layout_ms']:.0f} ms of it style "
            f"and layout, {page['script_ms']:.0f} ms script) against the plain grid's {plain['main_ms']:.0f} ms, and "
            f"its first screen shows {page['count']:.0f} images at once")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--out", help="write the figures here as JSON")
    options = parser.parse_args()
    started = time.monotonic()
    result = run(options.quick)
    print("| figure | value | baseline | ratio | target |\n|---|---|---|---|---|")
    print("\n".join(table(result)))
    print()
    for name, met, why in verdicts(result):
        print(f"{'met    ' if met else 'NOT MET'}  {name}")
        if why and not met:
            print(f"         {why}")
    print(f"\n{time.monotonic() - started:.0f} s")
    if options.out:
        Path(options.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
