// Flux Gallery: progressive enhancement only; every page works without this file.
// It adds the lightbox, copy buttons, live updates of pending tasks, filtering and sorting. Hand-written, no
// build step, no inline script: it reads data-* attributes, <template> elements and the JSON route, and it
// writes untrusted text (prompts, error messages) only through textContent, never as HTML.
// The same file runs in a static export opened from disk (file://): there it never polls, and every URL it
// builds is relative to the page's own.
"use strict";

// Loaded with `defer`: the page is drawn before this runs, so it changes nothing that is already on screen (what
// only it can work is hidden without it by noscript.css, never by this file). zoom.js, compare.js and pager.js
// come after it and use what it shares on window.FluxGallery.

(function () {
  const IMAGE_PARAM = "image"; // ?image=<task id>-<image index>, see "One-image links" in docs/api.md
  const TASKS_API = "/api/tasks/"; // a gallery of task IDs as JSON: what a paged listing asks about its waiting tasks
  const POLL_MOST_TASKS = 50; // asked about at once (a gallery link holds 100 IDs at most)
  const POLL_FIRST_MS = 3000; // unless the grid says otherwise (data-poll-ms, the server's GALLERY_POLL_SECONDS)
  const POLL_MAX_MS = 15000;
  const POLL_GROWTH = 1.5;
  const SWIPE_PX = 50;
  const FEEDBACK_MS = 1800;
  const DENSITY_COOKIE = "density"; // read by the server (gallery/web/density.py), so a reload is drawn in it
  const YEAR_SECONDS = 365 * 24 * 3600;
  const SHAPE_CLASS = /^ar\d+$/;

  // What the other scripts use: the card builders, the helpers, and hooks they register before the page is ready.
  const shared = (window.FluxGallery = {
    byId: byId,
    announce: announce,
    fillPrompt: fillPrompt,
    imageCard: null, // set by initGallery: (task JSON, image JSON, order) → a card like the server's
    statusCard: null,
    lightbox: null, // set by initLightbox: {open(card), list source hooks}
    pager: null, // pager.js: (grid, helpers) → a windowed list for Recent and search
    zoom: null, // zoom.js: (stage, image) → zoom and pan for the lightbox
    ready: [], // functions called with the grid once the gallery is set up (select.js, compare.js, team.js)
    // Writes (collections, picks, comments): on when the server put a CSRF token in the page (it does not when
    // the gallery is read-only, nor in a static export).
    writable: false,
    send: send,
    toast: toast,
    cardOrder: null, // set by initGallery: () → the image cards' keys as shown (filtered, in order)
    compareSeeds: compareSeeds,
    whenVisible: whenVisible,
  });
  shared.writable = Boolean(csrfToken());

  document.addEventListener("DOMContentLoaded", function () {
    initCopyButtons();
    const grid = document.getElementById("grid");
    if (grid) initGallery(grid);
  });

  // ---- Small helpers ----------------------------------------------------------------------------------

  /** Seeds are strings of any length: compare digit strings by length, then text; missing seeds last. */
  function compareSeeds(first, second) {
    const x = (first || "").replace(/^0+(?=\d)/, "");
    const y = (second || "").replace(/^0+(?=\d)/, "");
    if (!x || !y) return (x ? 0 : 1) - (y ? 0 : 1);
    const xDigits = /^\d+$/.test(x);
    const yDigits = /^\d+$/.test(y);
    if (xDigits !== yDigits) return xDigits ? -1 : 1;
    if (xDigits && x.length !== y.length) return x.length - y.length;
    return x < y ? -1 : x > y ? 1 : 0;
  }

  /** Run `fn` once the tab is shown again: a hidden tab's polls wait instead of asking the server for nobody. */
  function whenVisible(fn) {
    document.addEventListener("visibilitychange", function resume() {
      if (document.hidden) return;
      document.removeEventListener("visibilitychange", resume);
      fn();
    });
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function setSlot(root, name, value) {
    const element = root.querySelector('[data-slot="' + name + '"]');
    if (element && value !== null && value !== undefined) element.textContent = String(value);
  }

  /** Fill `element` with a prompt's parts, changed words in <mark>; keep the template's text when empty. */
  function fillPrompt(element, parts) {
    if (!element || !parts || !parts.length) return;
    element.replaceChildren();
    parts.forEach(function (part) {
      if (part[1]) {
        const mark = document.createElement("mark");
        mark.className = "diff";
        mark.textContent = part[0];
        element.appendChild(mark);
      } else {
        element.appendChild(document.createTextNode(part[0]));
      }
    });
  }

  /** Say something to screen readers, from inside the open dialog when there is one (outside is inert). */
  function announce(text) {
    const dialog = document.querySelector("dialog[open]");
    const region = (dialog && dialog.querySelector("[data-announcer]")) || byId("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 30);
  }

  // ---- Writes through the JSON API ---------------------------------------------------------------------

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  /** What a refused write means to the person who made it, from the server's {"error"} or its status. */
  function refusal(status, data, retryAfter) {
    const said = data && typeof data.error === "string" ? data.error : "";
    if (status === 429) {
      const wait = Number(retryAfter) > 0 ? " Wait " + Math.ceil(Number(retryAfter)) + " s and try again." : " Wait a moment and try again.";
      return (said || "Too many changes at once.") + wait;
    }
    if (status === 413) return said || "That is more than the gallery takes at once.";
    if (status === 403) return said || "This gallery does not take changes from this browser.";
    if (status === 400 && /csrf/i.test(said)) return "This page is too old to save changes: reload it and try again.";
    return said || "The change could not be saved (error " + status + ").";
  }

  /**
   * `method` `url` with `body` as JSON and the page's CSRF token: a promise of the answer's JSON (null when it
   * has none), or a rejection whose message says what went wrong in words for the reader.
   */
  function send(method, url, body) {
    const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method, headers: headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.text().then(function (text) {
        let data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (error) {
          data = null;
        }
        if (!response.ok) {
          const error = new Error(refusal(response.status, data, response.headers.get("Retry-After")));
          error.status = response.status;
          throw error;
        }
        return data;
      });
    }, function () {
      throw new Error("The server could not be reached: check the connection and try again.");
    });
  }

  let toastTimer = 0;

  /** A short message at the bottom of the screen (in the open dialog, if any), said to screen readers too;
   * `kind` "error" keeps it longer; `link` ({href, text}) follows the text. */
  function toast(text, kind, link) {
    const host = document.querySelector("dialog[open]") || document.body;
    let box = host.querySelector(":scope > .toast");
    if (!box) {
      box = document.createElement("p");
      box.className = "toast";
      box.setAttribute("role", "status");
      box.addEventListener("click", function (event) { if (!event.target.closest("a")) box.hidden = true; });
      host.appendChild(box);
    }
    box.classList.toggle("toast--error", kind === "error");
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.textContent = text;
    if (link && link.href) {
      const anchor = document.createElement("a");
      anchor.href = link.href;
      anchor.textContent = link.text;
      box.append(" ", anchor);
    }
    box.hidden = false;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(function () { box.hidden = true; }, kind === "error" ? 9000 : 3500);
  }

  // ---- Copy buttons -----------------------------------------------------------------------------------

  function initCopyButtons() {
    document.addEventListener("click", function (event) {
      const button = event.target.closest("button.copy");
      if (button) copyFrom(button);
    });
  }

  function copyFrom(button) {
    const text = button.dataset.copyUrl
      ? new URL(button.dataset.copyUrl, window.location.href).href
      : button.dataset.copyText || "";
    writeClipboard(text, button).then(function (ok) {
      const what = button.dataset.copyLabel || "Text";
      feedback(button, ok ? "Copied" : "Copy failed", ok ? "is-copied" : "is-failed");
      announce(ok ? what + " copied to the clipboard" : what + " could not be copied; select it and copy by hand");
    });
  }

  function writeClipboard(text, button) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return legacyCopy(text, button); });
    }
    return Promise.resolve(legacyCopy(text, button));
  }

  /** Copy through a hidden textarea, for pages served over plain HTTP where the Clipboard API is missing. */
  function legacyCopy(text, button) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    (button.closest("dialog") || document.body).appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (error) {
      ok = false;
    }
    area.remove();
    button.focus();
    return ok;
  }

  function feedback(button, text, className) {
    const label = button.querySelector(".copy__label") || button;
    if (!button.dataset.idleLabel) button.dataset.idleLabel = label.textContent;
    label.textContent = text;
    button.classList.remove("is-copied", "is-failed");
    button.classList.add(className);
    window.clearTimeout(Number(button.dataset.timer || 0));
    button.dataset.timer = String(window.setTimeout(function () {
      label.textContent = button.dataset.idleLabel;
      button.classList.remove(className);
    }, FEEDBACK_MS));
  }

  // ---- The gallery ------------------------------------------------------------------------------------

  function initGallery(grid) {
    const filter = byId("filter");
    const sort = byId("sort");
    const status = byId("filter-status");
    const empty = byId("filter-empty");
    const picksOnly = byId("picks-only");
    const lightbox = initLightbox(grid);

    function cards() {
      return Array.prototype.slice.call(grid.children);
    }

    // -- filter and sort

    function searchText(card) {
      const prompt = card.querySelector(".card__prompt");
      return [prompt ? prompt.textContent : "", card.dataset.seed, card.dataset.model, card.dataset.task]
        .join(" ").toLowerCase();
    }

    function applyFilter() {
      const query = filter ? filter.value.trim() : "";
      const words = query.toLowerCase().split(/\s+/).filter(Boolean);
      const picked = Boolean(picksOnly && picksOnly.checked);
      const all = cards();
      let shown = 0;
      all.forEach(function (card) {
        const text = searchText(card);
        const match = words.every(function (word) { return text.indexOf(word) !== -1; }) &&
          (!picked || number(card.dataset.picks) > 0);
        card.hidden = !match;
        if (match) shown += 1;
      });
      const filtered = words.length > 0 || picked;
      if (status) {
        status.textContent = !filtered ? ""
          : shown + " of " + all.length + (picked ? " cards are picks" + (words.length ? " and match" : "") : " cards match");
      }
      if (empty) {
        empty.hidden = !filtered || shown > 0;
        byId("filter-empty-query").textContent = query || "Picks";
      }
    }

    function number(value) {
      const parsed = Number(value);
      return Number.isFinite(parsed) ? parsed : 0;
    }

    function linkOrder(a, b) {
      return number(a.dataset.order) - number(b.dataset.order) || number(a.dataset.index) - number(b.dataset.index);
    }

    function seedOrder(a, b) {
      return compareSeeds(a.dataset.seed, b.dataset.seed);
    }

    function newestFirst(a, b) {
      const x = a.dataset.created || "";
      const y = b.dataset.created || "";
      if (!x || !y) return (x ? 0 : 1) - (y ? 0 : 1);
      return x < y ? 1 : x > y ? -1 : 0;
    }

    /** Most picked first; then most commented (a team's answers), then the link's order. */
    function mostPicked(a, b) {
      return number(b.dataset.picks) - number(a.dataset.picks) || number(b.dataset.comments) - number(a.dataset.comments);
    }

    function applySort() {
      const mode = sort ? sort.value : "link";
      const compare = mode === "seed" ? seedOrder : mode === "newest" ? newestFirst : mode === "picks" ? mostPicked : null;
      const sorted = cards().sort(function (a, b) {
        return (compare ? compare(a, b) : 0) || linkOrder(a, b);
      });
      sorted.forEach(function (card) { grid.appendChild(card); });
    }

    const clear = byId("filter-clear");
    if (clear) {
      clear.addEventListener("click", function () {
        filter.value = "";
        filter.dispatchEvent(new Event("input"));
        filter.focus();
      });
    }

    // -- live status

    let delay = Number(grid.dataset.pollMs) > 0 ? Number(grid.dataset.pollMs) : POLL_FIRST_MS;
    const firstDelay = delay;
    let polling = false; // a poll waits for its time or its answer

    function schedule(wait) {
      polling = true;
      window.setTimeout(poll, wait);
    }

    /** Tasks still generating came into a paged listing after it was drawn (a page loaded while scrolling, items
     * a teammate added to a collection): they are asked about as the first ones are, unless a poll is on its way. */
    function waitingArrived() {
      if (polling || "static" in grid.dataset) return;
      delay = firstDelay;
      schedule(delay);
    }

    function poll() {
      if (document.hidden) {
        whenVisible(poll);
        return;
      }
      const url = pollUrl();
      if (!url) {
        polling = false;
        return;
      }
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) {
          if (!response.ok) {
            const after = Number(response.headers.get("Retry-After"));
            if (Number.isFinite(after) && after > 0) delay = Math.max(delay, Math.min(after * 1000, 60000));
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (gallery) {
          update(gallery);
          if (waiting(gallery) > 0) {
            delay = Math.min(POLL_MAX_MS, delay * POLL_GROWTH);
            schedule(delay);
          } else {
            polling = false;
          }
        })
        .catch(function () {
          delay = Math.min(POLL_MAX_MS, delay * POLL_GROWTH);
          schedule(delay);
        });
    }

    /** What to ask: the gallery's own JSON, or on a paged listing (Recent, search, a collection, whose JSON has
     * no summary of its tasks) the waiting tasks alone, as a gallery of them. */
    function pollUrl() {
      if (!pager) return grid.dataset.api;
      const ids = pager.waiting(POLL_MOST_TASKS);
      return ids.length ? TASKS_API + ids.map(encodeURIComponent).join(",") : null;
    }

    function update(gallery) {
      if (pager) {
        updateListing(gallery);
        return;
      }
      let finished = 0;
      let images = 0;
      gallery.tasks.forEach(function (task) {
        const old = cards().filter(function (card) { return card.dataset.task === task.id; });
        if (!old.length || old[0].dataset.status === task.status) return;
        const order = old[0].dataset.order;
        // As the server would draw it: the first screenful's images load at once and first.
        const before = cards().filter(function (card) {
          return card.dataset.status === "done" && (card.compareDocumentPosition(old[0]) & Node.DOCUMENT_POSITION_FOLLOWING);
        }).length;
        const fresh = task.status === "done"
          ? task.images.map(function (image, n) { return imageCard(task, image, order, before + n < eagerCount); })
          : [statusCard(task, order)];
        const hadFocus = old.some(function (card) { return card.contains(document.activeElement); });
        old[0].before.apply(old[0], fresh);
        old.forEach(function (card) { card.remove(); });
        if (hadFocus && fresh[0]) (fresh[0].querySelector("a, button:not([hidden])") || fresh[0]).focus();
        finished += 1;
        images += task.images.length;
      });
      const summary = byId("summary");
      if (summary) summary.textContent = gallery.summary.label;
      const title = byId("gallery-title");
      if (title && title.textContent !== gallery.heading) {
        title.textContent = gallery.heading;
        document.title = gallery.title + " · Flux Gallery";
      }
      grid.dataset.pending = String(waiting(gallery));
      const stale = byId("stale-notice");
      if (stale && !gallery.as_of && !gallery.summary.unavailable) stale.hidden = true; // the API answers again
      if (finished) {
        applySort();
        applyFilter();
        announce(finished + (finished === 1 ? " task" : " tasks") + " finished, " + images +
                 (images === 1 ? " new image" : " new images") + ". " + gallery.summary.label);
        lightbox.cardsChanged();
      }
    }

    /** A paged listing: each waiting task that changed takes its place in the list (pager.js draws it). */
    function updateListing(gallery) {
      let finished = 0;
      let images = 0;
      gallery.tasks.forEach(function (task) {
        const added = pager.replaceTask(task);
        if (task.status === "done") {
          finished += 1;
          images += added;
        }
      });
      grid.dataset.pending = String(pager.waiting(POLL_MOST_TASKS).length);
      if (finished) {
        announce(finished + (finished === 1 ? " task" : " tasks") + " finished, " + images +
                 (images === 1 ? " new image." : " new images."));
      }
    }

    // Tasks worth asking about again: still generating, or not loaded because the Flux API failed just now.
    function waiting(gallery) {
      if (pager) return pager.waiting(POLL_MOST_TASKS).length;
      return gallery.summary.pending + (gallery.summary.unavailable || 0);
    }

    function fromTemplate(status) {
      const template = byId("card-template-" + status);
      return template.content.firstElementChild.cloneNode(true);
    }

    /** Give a card the shape class the server named (the template's blank card is square). */
    function setShape(card, shape) {
      Array.prototype.slice.call(card.classList).forEach(function (name) {
        if (SHAPE_CLASS.test(name)) card.classList.remove(name);
      });
      if (shape) card.classList.add(shape);
    }

    const eagerCount = Number(grid.dataset.eager || 0);

    /** A card like the server's `image_card` macro; `eager` for one of the first screenful. */
    function imageCard(task, image, order, eager) {
      const card = fromTemplate("done");
      card.id = "image-" + image.key;
      Object.assign(card.dataset, {
        task: task.id, index: String(image.index), status: "done", key: image.key, order: order,
        created: task.created_at || "", seed: image.seed || "", model: task.model || "", full: image.url,
        request: JSON.stringify(image.request),
      });
      setShape(card, image.thumb.shape);
      card.querySelector(".card__media").href = image.url;
      const img = card.querySelector("img");
      const sizes = density() === "details" ? image.thumb.sizes : image.thumb.tile_sizes;
      if (eager) { // as the server draws the first screenful: see image_card in templates/_macros.html
        img.removeAttribute("loading");
        img.removeAttribute("decoding");
        img.setAttribute("fetchpriority", "high");
      }
      // "auto" is for lazy images only, and not for cards pager.js makes and drops by the thousand: this Chromium
      // keeps every image that ever had sizes="auto" alive, with its card, after it leaves the page.
      img.sizes = eager || shared.autoSizes === false ? sizes.replace(/^auto, /, "") : sizes;
      img.src = image.thumb.src;
      img.srcset = image.thumb.srcset;
      img.width = image.thumb.width;
      img.height = image.thumb.height;
      img.alt = image.alt;
      fillPrompt(card.querySelector('[data-slot="prompt"]'), image.prompt_parts);
      setSlot(card, "size", task.labels.size);
      setSlot(card, "seed", image.seed_label);
      setSlot(card, "model", task.labels.model);
      setSlot(card, "inference", image.inference_label);
      setSlot(card, "elapsed", task.labels.elapsed);
      setSlot(card, "action", task.labels.action);
      setSlot(card, "created", task.labels.created);
      setSlot(card, "task", task.id);
      if (shared.fillMarks) {
        shared.fillMarks(card, { picks: image.picks, pickers: image.pickers, mine: image.picked_by_me,
                                 comments: image.comments });
      }
      card.classList.add("is-new");
      return card;
    }

    function statusCard(task, order) {
      const card = fromTemplate(task.status);
      card.id = "task-" + task.id;
      setShape(card, task.shape);
      Object.assign(card.dataset, {
        task: task.id, status: task.status, order: order, created: task.created_at || "", seed: "",
        model: task.model || "",
      });
      fillPrompt(card.querySelector('[data-slot="prompt"]'), task.prompt_parts);
      if (task.error) {
        setSlot(card, "error-code", task.error.code);
        setSlot(card, "error-message", task.error.message);
      }
      setSlot(card, "size", task.labels.size);
      setSlot(card, "model", task.labels.model);
      setSlot(card, "created", task.labels.created);
      setSlot(card, "trace", task.trace_id);
      setSlot(card, "task", task.id);
      const report = card.querySelector("button.copy");
      if (report) report.dataset.copyText = task.error_report || "";
      card.classList.add("is-new");
      return card;
    }

    // -- density: images or details, switched in place and remembered for the server's next page

    function density() {
      return grid.classList.contains("grid--details") ? "details" : "images";
    }

    document.querySelectorAll("a[data-density]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        const chosen = link.dataset.density;
        if (chosen === density()) return;
        grid.classList.remove("grid--images", "grid--details");
        grid.classList.add("grid--" + chosen);
        document.querySelectorAll("a[data-density]").forEach(function (other) {
          if (other === link) other.setAttribute("aria-current", "true");
          else other.removeAttribute("aria-current");
        });
        // The page is drawn in this density from now on, by the server too: no flash of the other one.
        document.cookie = DENSITY_COOKIE + "=" + chosen + "; path=/; max-age=" + YEAR_SECONDS + "; samesite=lax";
        grid.dispatchEvent(new CustomEvent("densitychange", { detail: chosen }));
        announce(chosen === "details" ? "Showing cards with details" : "Showing images only");
      });
    });

    // -- Recent and search: pager.js keeps thousands of cards in a list and only those near the screen in the
    // page, pages in the rest as JSON while the reader scrolls, and filters and sorts over the server.

    shared.imageCard = imageCard;
    shared.statusCard = statusCard;
    shared.density = density;
    const pager = shared.pager && "listing" in grid.dataset
      ? shared.pager(grid, { lightbox: lightbox, searchText: searchText, linkOrder: linkOrder,
                             waitingArrived: waitingArrived })
      : null;
    shared.list = pager; // for a look from the console (and the benchmark): the list and what is in the page
    shared.cardOrder = pager ? pager.keys : function () {
      return cards().filter(function (card) { return card.dataset.status === "done" && !card.hidden; })
        .map(function (card) { return card.dataset.key; });
    };
    // Picks and comments change under the reader (team.js): a grid sorted or filtered by them follows.
    shared.marksChanged = pager ? pager.marksChanged : function () {
      if (sort && sort.value === "picks") applySort();
      if (picksOnly && picksOnly.checked) applyFilter();
    };
    if (!pager) {
      if (filter) filter.addEventListener("input", applyFilter);
      if (picksOnly) picksOnly.addEventListener("change", applyFilter);
      if (sort) sort.addEventListener("change", applySort);
      if (picksOnly && picksOnly.checked) applyFilter(); // as the browser kept the form on a way back
    }
    initViewToggle();
    shared.ready.forEach(function (hook) { hook(grid); });

    // A static export (data-static) has no JSON route to ask: the cards it was written with are all there is.
    if (!("static" in grid.dataset) && Number(grid.dataset.pending) > 0 && grid.dataset.api) schedule(delay);
  }

  /** A phone's "View": opens and closes the toolbar's group, and says on itself when a filter is on in it. */
  function initViewToggle() {
    const toggle = byId("view-toggle");
    const group = byId("toolbar-view");
    if (!toggle || !group) return;
    toggle.addEventListener("click", function () {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      group.classList.toggle("is-open", open);
      if (open) {
        const first = group.querySelector("input, select, a, button");
        if (first && first.offsetParent !== null) first.focus();
      }
    });
    const state = byId("view-state");
    const filter = byId("filter");
    const picksOnly = byId("picks-only");
    function said() {
      const on = Boolean(filter && filter.value.trim()) || Boolean(picksOnly && picksOnly.checked);
      const text = on ? " · filtered" : "";
      if (state && state.textContent !== text) state.textContent = text;
    }
    if (filter) filter.addEventListener("input", said);
    if (picksOnly) picksOnly.addEventListener("change", said);
    said();
  }

  // ---- The lightbox -----------------------------------------------------------------------------------

  function initLightbox(grid) {
    const dialog = byId("lightbox");
    const none = { cardsChanged: function () {}, setSource: function () {}, current: function () { return null; } };
    if (!dialog || typeof dialog.showModal !== "function") return none;
    const stage = dialog.querySelector(".lightbox__stage");
    // Made here rather than in the page: an <img> in HTML must have an address, and this one has none until shown.
    const image = document.createElement("img");
    image.className = "lightbox__image";
    image.id = "lightbox-image";
    image.alt = "";
    image.draggable = false;
    stage.prepend(image);
    const count = byId("lightbox-count");
    const prompt = byId("lightbox-prompt");
    const meta = byId("lightbox-meta");
    const original = byId("lightbox-original");
    const download = byId("lightbox-download");
    const buttons = {};
    dialog.querySelectorAll("button[data-copy]").forEach(function (button) {
      buttons[button.dataset.copy] = button;
    });
    const announcer = document.createElement("p");
    announcer.className = "visually-hidden";
    announcer.setAttribute("role", "status");
    announcer.dataset.announcer = "";
    dialog.appendChild(announcer);

    let current = null; // the entry on show
    let ignorePop = false; // the next popstate is our own history.back()
    let wanted = null; // an ?image= key whose card is not there yet (its task is pending)
    const zoom = shared.zoom ? shared.zoom(stage, image) : null;

    // What the lightbox walks: here the grid's own image cards; pager.js puts its list of thousands in their
    // place, whose entries need not be in the page (`card` builds one to read from, `reveal` puts it back).
    let source = {
      list: function () {
        return Array.prototype.filter.call(grid.children, function (card) {
          return card.dataset.status === "done" && !card.hidden;
        });
      },
      find: function (key) {
        return Array.prototype.find.call(grid.children, function (card) {
          return card.dataset.status === "done" && card.dataset.key === key;
        }) || null;
      },
      entry: function (card) { return card; },
      card: function (entry) { return entry; },
      reveal: function (entry) { return entry.isConnected ? entry : null; },
      has: function (entry) { return entry.isConnected; },
      hasMore: function () { return false; }, // whether the server has entries past the last one
      more: null, // () → a promise, settled once the next page is in the list
    };

    function imageCards() {
      return source.list();
    }

    function findCard(key) {
      return source.find(key);
    }

    function imageUrl(key) {
      const url = new URL(window.location.href);
      if (key) url.searchParams.set(IMAGE_PARAM, key);
      else url.searchParams.delete(IMAGE_PARAM);
      return url.pathname + url.search + url.hash;
    }

    function shareUrl(key) {
      const url = new URL(grid.dataset.link || window.location.pathname, window.location.href);
      url.searchParams.set(IMAGE_PARAM, key);
      return url.href;
    }

    function show(entry) {
      current = entry;
      const card = source.card(entry);
      const list = imageCards();
      const position = list.indexOf(entry);
      count.textContent = position >= 0
        ? "Image " + (position + 1) + " of " + list.length + (source.hasMore() ? "+" : "") : "";
      if (zoom) zoom.reset();
      const thumb = card.querySelector("img");
      image.alt = thumb ? thumb.alt : "";
      const full = card.dataset.full;
      const large = largest(card);
      image.src = large || full;
      if (full && full !== large) {
        const loader = new Image();
        loader.onload = function () { if (current === entry) image.src = full; };
        loader.src = full;
      }
      const cardPrompt = card.querySelector(".card__prompt");
      prompt.replaceChildren.apply(prompt, Array.prototype.map.call(cardPrompt.childNodes, function (node) {
        return node.cloneNode(true);
      }));
      meta.replaceChildren.apply(meta, Array.prototype.map.call(card.querySelector(".meta").children,
        function (row) { return row.cloneNode(true); }));
      original.href = full;
      download.href = full;
      // No name here: the server names the file, with the extension its bytes call for.
      download.setAttribute("download", "");
      let request = {};
      try {
        request = JSON.parse(card.dataset.request || "{}");
      } catch (error) {
        request = {};
      }
      setCopy(buttons.prompt, request.prompt || "");
      setCopy(buttons.seed, card.dataset.seed || "");
      setCopy(buttons.link, shareUrl(card.dataset.key));
      setCopy(buttons.request, Object.keys(request).length ? JSON.stringify(request, null, 2) : "");
      [list[position + 1], list[position - 1]].forEach(function (neighbour) {
        const next = neighbour && source.card(neighbour);
        const url = next && largest(next);
        if (url) new Image().src = url;
      });
      dialog.dispatchEvent(new CustomEvent("lightboxshow", { detail: card }));
    }

    /** The card's largest thumbnail (the last of its srcset): shown while the original loads. */
    function largest(card) {
      const img = card.querySelector(".card__media img");
      const candidates = img ? (img.getAttribute("srcset") || "").split(",") : [];
      const last = candidates[candidates.length - 1];
      return last && last.trim() ? last.trim().split(/\s+/)[0] : "";
    }

    function setCopy(button, text) {
      if (!button) return;
      button.dataset.copyText = text;
      button.hidden = !text;
    }

    function open(entry, push) {
      if (!dialog.open) {
        dialog.showModal();
        document.documentElement.classList.add("lightbox-open");
        byId("lightbox-close").focus();
      }
      show(entry);
      const url = imageUrl(source.card(entry).dataset.key);
      if (push) window.history.pushState({ lightbox: true }, "", url);
      else window.history.replaceState(window.history.state, "", url);
    }

    function step(by) {
      const list = imageCards();
      if (!current || !list.length) return;
      const position = list.indexOf(current);
      if (by > 0 && position === list.length - 1 && source.hasMore()) {
        // The last image loaded, with more on the server: load the next page and go on into it.
        const from = current;
        source.more().then(function () {
          if (current === from) {
            const longer = imageCards();
            const next = longer[longer.indexOf(from) + 1] || longer[0];
            if (next && next !== current) open(next, false);
          }
        });
        return;
      }
      const next = list[(position + by + list.length) % list.length];
      if (next !== current) open(next, false);
    }

    function close(fromHistory) {
      if (!current) return;
      const entry = current;
      current = null;
      if (zoom) zoom.reset();
      if (dialog.open) dialog.close();
      document.documentElement.classList.remove("lightbox-open");
      image.removeAttribute("src");
      // The one-image section is for visitors without the script (and link previews); past the lightbox,
      // the visitor is in the gallery.
      const featured = byId("featured");
      if (featured) featured.remove();
      if (!fromHistory) {
        if (window.history.state && window.history.state.lightbox) {
          ignorePop = true;
          window.history.back();
        } else {
          window.history.replaceState(window.history.state, "", imageUrl(null));
        }
      }
      const card = source.reveal(entry);
      const link = card && card.querySelector(".card__media");
      if (link) {
        link.focus();
        link.scrollIntoView({ block: "nearest" });
      }
    }

    function focusables() {
      return Array.prototype.filter.call(
        dialog.querySelectorAll("button, a[href], input, select, textarea, [tabindex]"),
        function (element) {
          return !element.disabled && !element.hidden && element.tabIndex >= 0 && element.getClientRects().length > 0;
        });
    }

    function trapTab(event) {
      const list = focusables();
      if (!list.length) return;
      const first = list[0];
      const last = list[list.length - 1];
      const active = document.activeElement;
      if (!dialog.contains(active)) {
        event.preventDefault();
        first.focus();
      } else if (event.shiftKey && active === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && active === last) {
        event.preventDefault();
        first.focus();
      }
    }

    grid.addEventListener("click", function (event) {
      const link = event.target.closest(".card__media");
      if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const card = link.closest("li");
      if (!card || card.dataset.status !== "done") return;
      event.preventDefault();
      open(source.entry(card), true);
    });

    dialog.addEventListener("keydown", function (event) {
      // Keys typed into a field (a comment) are the field's: only Tab (kept in the dialog) and Esc reach us.
      if (event.target.closest("input, textarea, select, [contenteditable]") && event.key !== "Tab" &&
          event.key !== "Escape") return;
      if (zoom && zoom.key(event)) return; // z, +, - and the arrows while zoomed in belong to the zoom
      if (event.key === "ArrowRight") {
        event.preventDefault();
        step(1);
      } else if (event.key === "ArrowLeft") {
        event.preventDefault();
        step(-1);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close(false);
      } else if (event.key === "Tab") {
        trapTab(event);
      }
    });
    // Esc reaches the dialog as `cancel` too, and a browser may close it on its own: keep our state in step.
    dialog.addEventListener("cancel", function (event) {
      event.preventDefault();
      close(false);
    });
    dialog.addEventListener("close", function () { close(false); });

    byId("lightbox-close").addEventListener("click", function () { close(false); });
    byId("lightbox-prev").addEventListener("click", function () { step(-1); });
    byId("lightbox-next").addEventListener("click", function () { step(1); });

    // Swipe left or right on touch screens (pointer events cover touch, pen and mouse drags).
    let start = null;
    let swiped = false;
    stage.addEventListener("pointerdown", function (event) {
      if (event.target.closest("button") || (zoom && zoom.zoomed())) return; // a drag pans a zoomed image
      start = { x: event.clientX, y: event.clientY, id: event.pointerId };
    });
    stage.addEventListener("pointerup", function (event) {
      if (!start || start.id !== event.pointerId) return;
      const dx = event.clientX - start.x;
      const dy = event.clientY - start.y;
      start = null;
      if (Math.abs(dx) >= SWIPE_PX && Math.abs(dx) > 1.5 * Math.abs(dy)) {
        swiped = true;
        step(dx < 0 ? 1 : -1);
      }
    });
    stage.addEventListener("pointercancel", function () { start = null; });
    stage.addEventListener("click", function (event) {
      // A click on the dark stage around the image closes, as on most lightboxes; the end of a swipe does not.
      if (swiped) {
        swiped = false;
        return;
      }
      if (event.target === stage && !(zoom && zoom.zoomed())) close(false);
    });

    window.addEventListener("popstate", function () {
      if (ignorePop) {
        ignorePop = false;
        return;
      }
      const key = new URL(window.location.href).searchParams.get(IMAGE_PARAM);
      const card = key && findCard(key);
      if (card) {
        if (!dialog.open) {
          dialog.showModal();
          document.documentElement.classList.add("lightbox-open");
          byId("lightbox-close").focus();
        }
        show(card);
      } else if (current) {
        close(true);
      }
    });

    function openWanted() {
      if (!wanted) return;
      const card = findCard(wanted);
      if (card) {
        wanted = null;
        open(card, false);
      }
    }

    const key = new URL(window.location.href).searchParams.get(IMAGE_PARAM);
    if (key) {
      wanted = key.trim().toLowerCase();
      openWanted();
    }

    const api = {
      cardsChanged: function () {
        if (current && !source.has(current)) close(false);
        else if (current) show(current);
        openWanted();
      },
      /** Walk `replacement` (pager.js's list) instead of the grid's cards. */
      setSource: function (replacement) {
        // An image opened from a one-image link before the replacement came is one of its entries from now on.
        const shown = current && source.card(current);
        source = Object.assign({}, source, replacement);
        if (shown) current = source.entry(shown) || current;
        openWanted();
      },
      current: function () { return current && source.card(current); },
    };
    shared.lightbox = api;
    return api;
  }
})();
