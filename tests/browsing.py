"""What the browser tests share: a session that opens pages and collects their errors, the axe-core check, and
answering the display-name dialog."""

from pathlib import Path

from playwright.sync_api import expect

from flux_emulator import app as sample

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

VIEWS = {
    "desktop": {"viewport": {"width": 1280, "height": 860}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
}
# Reported by the page as console errors so the console check catches them, whatever the browser logs.
CSP_REPORTER = """document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`);
});"""


class Browse:
    """Opens pages in fresh contexts and collects every console error, page error and CSP violation."""

    def __init__(self, browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts = []
        self.problems: list[str] = []
        self.reasons: dict[str, str] = {}  # X-Image-Error by URL
        # Failures a page is meant to have: the broken sample image answers 502 with a placeholder.
        self.expected = [f"/thumb/{sample.BROKEN_IMAGE_ID}/", f"/image/{sample.BROKEN_IMAGE_ID}/"]

    def open(self, path: str = "/", *, view: str = "desktop", scheme: str = "light", javascript: bool = True,
             before=None):
        """A new page at `path`; `before(page)` runs first, ahead of the navigation (to throttle it, say)."""
        context = self.browser.new_context(base_url=self.base_url, color_scheme=scheme,
                                           java_script_enabled=javascript, **VIEWS[view])
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=self.base_url)
        context.add_init_script(CSP_REPORTER)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: self._console(message))
        page.on("response", lambda response: self._response(response))
        page.on("pageerror", lambda error: self.problems.append(f"uncaught exception: {error}"))
        if before is not None:
            before(page)
        page.goto(path)
        return page

    def expect_failure(self, url_part: str) -> None:
        """A resource whose failure to load is the point of the test (an error page, say)."""
        self.expected.append(url_part)

    def _response(self, response) -> None:
        # Why an image failed, said by the server, so that an unexpected failure's message carries it.
        if response.status >= 500 and (reason := response.headers.get("x-image-error")):
            self.reasons[response.url] = reason

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and any(part in url for part in self.expected):
            return
        reason = f": {self.reasons[url]}" if url in self.reasons else ""
        self.problems.append(f"console error: {message.text} ({url}){reason}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def axe_problems(page, axe_source, *, preload: bool = True) -> list[str]:
    """Serious and critical axe-core violations, one line each; `preload=False` where axe cannot fetch the
    page's stylesheets itself (file://, which refuses its XMLHttpRequests)."""
    if not page.evaluate("typeof axe !== 'undefined'"):  # once per page: a second check reuses it
        page.evaluate(axe_source)  # evaluated by the test harness, so the page's CSP does not apply to it
    result = page.evaluate("preload => axe.run(document, {resultTypes: ['violations'], preload})", preload)
    return [f"{v['impact']}: {v['id']}: {v['help']} — " + ", ".join(str(n["target"]) for n in v["nodes"][:5])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def give_name(page, name: str) -> None:
    """Answer the dialog a teammate's first write opens."""
    dialog = page.locator("dialog.name-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Display name").fill(name)
    dialog.get_by_role("button", name="Save and continue").click()
    expect(dialog).to_have_count(0)
