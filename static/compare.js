// Flux Gallery: compare 2 to 4 images. Select them (select.js: the round check on a card, `x`, or "Select" in
// the lightbox); the tray at the bottom opens `?compare=<task id>-<n>,…` on the same page, which the server draws
// (so the link can be shared). Here the compared images get zoom and pan in step: every image at the same scale
// (one pixel of each original is as large on screen), the same spot in the middle of each; wheel, pinch, + and −
// zoom, a drag or the arrow keys look around. Two images can also be laid over each other with a slider between.
"use strict";

(function () {
  const shared = window.FluxGallery;
  if (!shared) return;

  const STEP = 1.25;
  const MAX_SCALE = 8; // screen pixels per pixel of the original, at most

  shared.ready.push(function () {
    const section = shared.byId("compare");
    if (section) initCompare(section, shared.selection);
  });

  // ---- the comparison ----------------------------------------------------------------------------------

  function initCompare(section, selection) {
    const panes = Array.prototype.map.call(section.querySelectorAll(".compare__pane"), function (pane) {
      const img = pane.querySelector("img");
      const natural = /^(\d+)x(\d+)$/.exec(img.dataset.natural || "");
      return {
        view: pane.querySelector(".compare__view"),
        img: img,
        // The original's size in pixels: from the task's size, else from the original once it has loaded.
        width: natural ? Number(natural[1]) : img.width,
        height: natural ? Number(natural[2]) : img.height,
        known: Boolean(natural),
      };
    });
    const scaleLabel = shared.byId("compare-scale");
    const split = shared.byId("compare-split");
    let zoom = 1; // over the scale that fits every image
    let x = 0; // the point shown in the middle, in pixels of the originals from their centres
    let y = 0;

    if (selection) selection.adopt(section.dataset.keys.split(",")); // none in a static export
    section.classList.add("is-live");

    /** Screen pixels per original pixel that fit the largest image whole into its view: the same for all. */
    function fit() {
      return Math.min.apply(null, panes.map(function (pane) {
        return Math.min(pane.view.clientWidth / pane.width, pane.view.clientHeight / pane.height);
      }));
    }

    function scale() {
      return fit() * zoom;
    }

    function apply() {
      const s = scale();
      // Keep the images over their views: look around as far as the largest one reaches, no further.
      const roomX = Math.max.apply(null, panes.map(function (pane) {
        return Math.max(0, (pane.width * s - pane.view.clientWidth) / 2 / s);
      }));
      const roomY = Math.max.apply(null, panes.map(function (pane) {
        return Math.max(0, (pane.height * s - pane.view.clientHeight) / 2 / s);
      }));
      x = Math.min(roomX, Math.max(-roomX, x));
      y = Math.min(roomY, Math.max(-roomY, y));
      panes.forEach(function (pane) {
        const width = pane.width * s;
        const height = pane.height * s;
        const left = pane.view.clientWidth / 2 - (pane.width / 2 + x) * s;
        const top = pane.view.clientHeight / 2 - (pane.height / 2 + y) * s;
        pane.img.style.width = width + "px";
        pane.img.style.height = height + "px";
        pane.img.style.transform = "translate(" + left + "px, " + top + "px)";
        pane.view.classList.toggle("is-zoomed", zoom > 1);
      });
      scaleLabel.textContent = (zoom === 1 ? "Fit · " : "") + Math.round(s * 100) + "%";
    }

    function viewCentre(view) {
      const box = view.getBoundingClientRect();
      return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
    }

    /** Zoom by `factor` keeping the point under (px, py) of `view` where it is, in every image. */
    function zoomBy(factor, px, py, view) {
      const before = scale();
      const limit = Math.max(1, MAX_SCALE / fit());
      zoom = Math.min(limit, Math.max(1, zoom * factor));
      const after = scale();
      const centre = viewCentre(view);
      x += (px - centre.x) / before - (px - centre.x) / after;
      y += (py - centre.y) / before - (py - centre.y) / after;
      if (zoom === 1) x = y = 0;
      apply();
    }

    function panBy(dx, dy) {
      const s = scale();
      x -= dx / s;
      y -= dy / s;
      apply();
    }

    function reset() {
      zoom = 1;
      x = y = 0;
      apply();
    }

    panes.forEach(function (pane) {
      const handlers = {
        zoomBy: function (factor, px, py) { zoomBy(factor, px, py, pane.view); },
        panBy: panBy,
        pans: function () { return zoom > 1; },
        reset: reset,
        zoomed: function () { return zoom > 1; },
        centre: function () { return viewCentre(pane.view); },
      };
      if (shared.gestures) shared.gestures(pane.view, handlers);
      pane.view.addEventListener("keydown", function (event) {
        if (shared.zoomKeys) shared.zoomKeys(event, handlers, pane.view.clientWidth, pane.view.clientHeight);
      });
      // The originals, for detail: each takes the thumbnail's place once it has loaded.
      const full = pane.img.dataset.full;
      if (full && pane.img.getAttribute("src") !== full) {
        const loader = new Image();
        loader.onload = function () {
          pane.img.src = full;
          if (!pane.known) {
            pane.width = loader.naturalWidth;
            pane.height = loader.naturalHeight;
            apply();
          }
        };
        loader.src = full;
      }
    });

    section.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        const centre = viewCentre(panes[0].view);
        if (button.dataset.zoom === "fit") reset();
        else zoomBy(button.dataset.zoom === "in" ? STEP : 1 / STEP, centre.x, centre.y, panes[0].view);
      });
    });

    // Two images: side by side, or one over the other with a slider that shows more of one or the other.
    function setSplit(value) {
      section.style.setProperty("--split", value + "%");
      panes[1].view.style.clipPath = "inset(0 0 0 " + value + "%)";
    }

    section.querySelectorAll("[data-mode]").forEach(function (button) {
      button.addEventListener("click", function () {
        const slider = button.dataset.mode === "slider";
        section.classList.toggle("compare--slider", slider);
        section.querySelectorAll("[data-mode]").forEach(function (other) {
          other.setAttribute("aria-pressed", String(other === button));
        });
        split.parentElement.hidden = !slider;
        if (slider) setSplit(split.value);
        else panes[1].view.style.clipPath = "";
        apply();
        shared.announce(slider ? "Image 2 over image 1: move the slider to compare" : "Side by side");
      });
    });
    if (split) {
      split.addEventListener("input", function () { setSplit(split.value); });
    }

    if ("ResizeObserver" in window) new ResizeObserver(apply).observe(section.querySelector(".compare__panes"));
    apply();
    section.focus({ preventScroll: true });
  }
})();
