// Flux Gallery: zoom and pan. The lightbox shows the original at 100% (a click or `z`), and wheel, pinch, `+`
// and `-` zoom it; drags and the arrow keys pan it. compare.js uses the same gestures to keep its panes in step.
// Loaded after gallery.js, which calls FluxGallery.zoom when it sets the lightbox up. Transforms are set through
// the CSSOM, which the page's CSP (no inline style) allows.
"use strict";

(function () {
  const shared = window.FluxGallery;
  if (!shared) return;

  const WHEEL_RATE = 0.0025; // zoom factor per pixel of wheel: a notch of 100 px is about ×1.28
  const STEP = 1.25; // + and -
  const PAN_KEY = 0.12; // an arrow key pans by this share of the view
  const TAP_SLOP = 6; // px a press may move and still count as a click

  /**
   * Wheel, pinch and drag over `element` as zoomBy(factor, x, y) and panBy(dx, dy) calls on `handlers`.
   * A drag pans only while handlers.pans() is true (zoomed in), so a swipe can still mean something else.
   */
  function gestures(element, handlers) {
    const pointers = new Map();
    let travel = 0;

    element.addEventListener("wheel", function (event) {
      event.preventDefault();
      const pixels = event.deltaY * (event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1);
      handlers.zoomBy(Math.exp(-pixels * WHEEL_RATE), event.clientX, event.clientY);
    }, { passive: false });

    element.addEventListener("pointerdown", function (event) {
      if (event.button !== 0 || event.target.closest("button, input, a")) return;
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      if (pointers.size === 1) travel = 0;
      if (handlers.pans() || pointers.size > 1) {
        try {
          element.setPointerCapture(event.pointerId);
        } catch (error) { /* a synthetic pointer cannot be captured: fine */ }
      }
    });

    element.addEventListener("pointermove", function (event) {
      const before = pointers.get(event.pointerId);
      if (!before) return;
      const now = { x: event.clientX, y: event.clientY };
      if (pointers.size === 2) {
        const other = Array.from(pointers.entries()).find(function (pair) { return pair[0] !== event.pointerId; })[1];
        const oldMid = { x: (before.x + other.x) / 2, y: (before.y + other.y) / 2 };
        const newMid = { x: (now.x + other.x) / 2, y: (now.y + other.y) / 2 };
        const oldGap = Math.hypot(before.x - other.x, before.y - other.y);
        const newGap = Math.hypot(now.x - other.x, now.y - other.y);
        if (oldGap > 0) handlers.zoomBy(newGap / oldGap, newMid.x, newMid.y);
        handlers.panBy(newMid.x - oldMid.x, newMid.y - oldMid.y);
        travel += TAP_SLOP + 1;
      } else if (handlers.pans()) {
        handlers.panBy(now.x - before.x, now.y - before.y);
        travel += Math.abs(now.x - before.x) + Math.abs(now.y - before.y);
      }
      pointers.set(event.pointerId, now);
    });

    function lift(event) {
      pointers.delete(event.pointerId);
    }
    element.addEventListener("pointerup", lift);
    element.addEventListener("pointercancel", lift);

    return {
      /** Whether the last press moved too far to be a click (a pan or a pinch). */
      dragged: function () { return travel > TAP_SLOP; },
    };
  }

  /** The keys every zoomable view shares: +, -, 0 and (while zoomed) the arrows; true when one was used. */
  function zoomKeys(event, view, width, height) {
    if (event.ctrlKey || event.metaKey || event.altKey) return false;
    const centre = view.centre();
    if (event.key === "+" || event.key === "=") view.zoomBy(STEP, centre.x, centre.y);
    else if (event.key === "-" || event.key === "_") view.zoomBy(1 / STEP, centre.x, centre.y);
    else if (event.key === "0") view.reset();
    else if (view.zoomed() && event.key.indexOf("Arrow") === 0) {
      const dx = event.key === "ArrowLeft" ? 1 : event.key === "ArrowRight" ? -1 : 0;
      const dy = event.key === "ArrowUp" ? 1 : event.key === "ArrowDown" ? -1 : 0;
      view.panBy(dx * width * PAN_KEY, dy * height * PAN_KEY);
    } else return false;
    event.preventDefault();
    return true;
  }

  /** Zoom and pan for the lightbox's image, inside its stage. */
  function lightboxZoom(stage, image) {
    let scale = 1; // over the fitted size
    let x = 0; // translation of the image's centre, in CSS px
    let y = 0;

    function fitted() {
      return { width: image.offsetWidth || 1, height: image.offsetHeight || 1 };
    }

    /** The scale that shows one pixel of the image per CSS pixel (the original "at 100%"); 2× for an image that
     * already shows at about that size, so the toggle always does something. */
    function actual() {
      const scale = (image.naturalWidth || 0) / fitted().width;
      return scale > 1.05 ? scale : 2;
    }

    function limit() {
      return Math.max(actual(), 4);
    }

    function apply() {
      const box = fitted();
      // Keep the image over the stage: no panning it out of sight.
      const roomX = Math.max(0, (box.width * scale - stage.clientWidth) / 2);
      const roomY = Math.max(0, (box.height * scale - stage.clientHeight) / 2);
      x = Math.min(roomX, Math.max(-roomX, x));
      y = Math.min(roomY, Math.max(-roomY, y));
      image.style.transform = scale === 1 ? "" : "translate(" + x + "px, " + y + "px) scale(" + scale + ")";
      image.classList.toggle("is-zoomed", scale > 1);
      stage.classList.toggle("is-zoomed", scale > 1);
    }

    function centreOfImage() {
      const box = stage.getBoundingClientRect();
      return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
    }

    const view = {
      zoomBy: function (factor, px, py) {
        const next = Math.min(limit(), Math.max(1, scale * factor));
        const centre = centreOfImage();
        // The point under the pointer stays under it.
        const ratio = next / scale;
        x = (px - centre.x) - ((px - centre.x) - x) * ratio;
        y = (py - centre.y) - ((py - centre.y) - y) * ratio;
        scale = next;
        if (scale === 1) x = y = 0;
        apply();
      },
      panBy: function (dx, dy) {
        x += dx;
        y += dy;
        apply();
      },
      reset: function () {
        scale = 1;
        x = y = 0;
        apply();
      },
      zoomed: function () { return scale > 1; },
      centre: centreOfImage,
      pans: function () { return scale > 1; },
    };

    /** Fit, or the original at 100% around the point (px, py); the original is swapped in first if need be. */
    function toggle(px, py) {
      if (scale > 1) {
        view.reset();
        shared.announce("Fitted to the screen");
        return;
      }
      const lightbox = shared.lightbox && shared.lightbox.current();
      const full = lightbox && lightbox.dataset.full;
      const go = function () {
        view.zoomBy(actual(), px, py);
        shared.announce("Zoomed to 100%: drag or use the arrow keys to look around");
      };
      if (full && image.getAttribute("src") !== full) {
        image.addEventListener("load", go, { once: true });
        image.src = full;
      } else {
        go();
      }
    }

    const gesture = gestures(stage, view);
    image.addEventListener("click", function (event) {
      if (gesture.dragged()) return;
      toggle(event.clientX, event.clientY);
    });

    return {
      reset: view.reset,
      zoomed: view.zoomed,
      toggle: function () {
        const centre = centreOfImage();
        toggle(centre.x, centre.y);
      },
      /** The lightbox's keys that belong to the zoom; true when `event` was one. */
      key: function (event) {
        if ((event.key === "z" || event.key === "Z") && !event.ctrlKey && !event.metaKey && !event.altKey) {
          event.preventDefault();
          const centre = centreOfImage();
          toggle(centre.x, centre.y);
          return true;
        }
        if (event.target.closest && event.target.closest("input, textarea, select")) return false;
        return zoomKeys(event, view, stage.clientWidth, stage.clientHeight);
      },
    };
  }

  shared.zoom = lightboxZoom;
  shared.gestures = gestures;
  shared.zoomKeys = zoomKeys;
})();
