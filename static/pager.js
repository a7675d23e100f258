// Flux Gallery: Recent and search over thousands of kept images. The page brings the first screenful; this
// pages in the rest as JSON while the reader scrolls, keeps every card in a list, and puts in the page only
// the cards within a screen or so of the viewport (so a listing of 5,000 images has a few dozen cards in the
// DOM). It lays the cards out itself, in the same justified rows (images) or columns (details) the stylesheet
// draws, so the server's cards stay where they were drawn when it takes over. Filtering and sorting work on
// the list while it is whole; while the server has more, they ask the server (`q`, `sort` on the JSON routes).
"use strict";

(function () {
  const shared = window.FluxGallery;
  if (!shared) return;

  const MARGIN_SCREENS = 1; // cards kept in the page above and below the viewport, in screen heights
  const AHEAD_SCREENS = 3; // the next page is asked for when the list ends this close below the viewport
  const FILTER_WAIT_MS = 250; // typing pauses this long before the server is asked
  const SETTLE_MS = 1000;
  const SHAPE = /^ar(\d+)$/;

  shared.pager = function (grid, hooks) {
    shared.autoSizes = false; // see imageCard in gallery.js: cards made here are dropped again
    const filter = shared.byId("filter");
    const sort = shared.byId("sort");
    const picksOnly = shared.byId("picks-only");
    const status = shared.byId("filter-status");
    const empty = shared.byId("filter-empty");
    const summary = shared.byId("summary");
    const more = shared.byId("more");

    const itemRefs = (grid.dataset.items || "").split(" ").filter(Boolean);
    let entries = []; // every card loaded, in the server's order
    let view = []; // those shown: filtered and sorted
    const byKey = new Map();
    let rows = []; // {start, end, top, height, widths} over `view`
    let height = 0;
    let shown = new Map(); // entry → its element in the page
    let place_ = new Map(); // entry → its index in `view`
    let next = grid.dataset.next || null;
    let loading = null; // the promise of the page being fetched
    let generation = 0; // a new query makes older answers stale
    // What the list in hand was asked with: words, an order, only picks.
    let serverQuery = { q: "", sort: grid.dataset.sort || "", picks: grid.dataset.picks === "1" };
    let measure = null; // what the last layout was made for
    let bodyHeight = 0; // details: a card's height under its image, measured
    const full = new Map(); // built cards kept for the lightbox (only the last few)
    let frame = 0;
    const spots = new WeakMap(); // card → where it was last put
    // The first screenful's thumbnails come first: the next page is asked for once the page has loaded (or a
    // second has passed, should a slow image hold the load event back).
    let settled = document.readyState === "complete";
    if (!settled) {
      const settle = function () {
        if (settled) return;
        settled = true;
        schedule();
      };
      window.addEventListener("load", settle, { once: true });
      window.setTimeout(settle, SETTLE_MS);
    }

    // ---- entries ----------------------------------------------------------------------------------------

    function shapeOf(element) {
      for (const name of element.classList) {
        const match = SHAPE.exec(name);
        if (match) return Number(match[1]) / 1000;
      }
      return 1;
    }

    function fromElement(element, seq) {
      const item = element.dataset.item || itemRefs[Number(element.dataset.order)];
      if (item) element.dataset.item = item; // collection.js moves and removes cards by the item they stand for
      return {
        key: element.dataset.key || element.id, task: null, image: null, el: element, own: true, seq: seq,
        done: element.dataset.status === "done", ratio: shapeOf(element), seed: element.dataset.seed || "",
        created: element.dataset.created || "", taskId: element.dataset.task,
        text: hooks.searchText(element), height: 0,
        picks: Number(element.dataset.picks) || 0, comments: Number(element.dataset.comments) || 0,
        // A collection's page names the item each of its tasks stands for, in the cards' order (data-order).
        item: item || null,
      };
    }

    const interned = new Map();

    /** One copy of a string many entries share (every image's `sizes`: a few hundred bytes, thousands of times). */
    function intern(value) {
      if (typeof value !== "string") return value;
      if (!interned.has(value)) interned.set(value, value);
      return interned.get(value);
    }

    /** A task worth asking about again: still generating, or not loaded because the Flux API failed just now. */
    function isWaiting(status) {
      return status === "pending" || status === "unavailable";
    }

    function fromJson(task, image, seq) {
      if (image) {
        image.thumb.sizes = intern(image.thumb.sizes);
        image.thumb.tile_sizes = intern(image.thumb.tile_sizes);
        delete image.thumbnails; // the srcset has them; the rest is kept for the cards built from it
      }
      const prompt = (image && image.prompt) || task.prompt || "";
      return {
        key: image ? image.key : "task-" + task.id, task: task, image: image, el: null, own: false, seq: seq,
        done: Boolean(image), ratio: Number(((image ? image.thumb.shape : task.shape) || "ar1000").slice(2)) / 1000,
        seed: (image && image.seed) || "", created: task.created_at || "", taskId: task.id,
        text: [prompt, image ? image.seed || "" : "", task.model || "", task.id].join(" ").toLowerCase(), height: 0,
        picks: (image && Number(image.picks)) || 0, comments: (image && Number(image.comments)) || 0,
      };
    }

    /** A JSON page's cards into the list: a listing's tasks, or a collection's items (a task, or some of its
     * images); the number of images added. Tasks still generating among them are asked about (gallery.js). */
    function take(page) {
      let added = 0;
      let waiting = false;
      const items = page.items || page.tasks.map(function (task) { return { ref: null, task: task, image_indexes: null }; });
      items.forEach(function (item) {
        const task = item.task;
        const seq = entries.length;
        if (task.status === "done") {
          const wanted = item.image_indexes;
          task.images.forEach(function (image) {
            if (wanted && wanted.indexOf(image.index) < 0) return;
            const entry = fromJson(task, image, seq);
            entry.item = item.ref;
            added += add(entry) ? 1 : 0;
          });
        } else {
          const entry = fromJson(task, null, seq);
          entry.item = item.ref;
          if (add(entry)) {
            added += 1;
            waiting = waiting || isWaiting(task.status);
          }
        }
      });
      if (waiting) hooks.waitingArrived();
      return added;
    }

    function add(entry) {
      if (byKey.has(entry.key)) return false;
      byKey.set(entry.key, entry);
      entries.push(entry);
      return true;
    }

    /** A card for `entry`: its own element, or one built from the JSON (lean in the image grid: no details). */
    function element(entry) {
      if (entry.el) return entry.el;
      const card = build(entry);
      if (shared.density() === "images") {
        const meta = card.querySelector(".meta");
        if (meta) meta.remove();
        entry.lean = true;
      }
      entry.el = card;
      return card;
    }

    function build(entry) {
      const order = String(entry.seq);
      const card = entry.image ? shared.imageCard(entry.task, entry.image, order) : shared.statusCard(entry.task, order);
      card.classList.remove("is-new"); // paged in, not arriving: no animation
      if (entry.item) card.dataset.item = entry.item;
      dropBlanks(card);
      return card;
    }

    /** Whitespace between the template's tags: text nodes that draw nothing but count against the DOM. */
    function dropBlanks(root) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      const blanks = [];
      while (walker.nextNode()) {
        const node = walker.currentNode;
        if (!node.nodeValue.trim() && node.parentNode && !node.parentNode.closest(".card__prompt, .card__note")) {
          blanks.push(node);
        }
      }
      blanks.forEach(function (node) { node.remove(); });
    }

    /** A whole card to read from (the lightbox shows every detail): the entry's own, or one built and kept. */
    function fullCard(entry) {
      if (entry.el && !entry.lean) return entry.el;
      if (!full.has(entry.key)) {
        full.set(entry.key, build(entry));
        if (full.size > 8) full.delete(full.keys().next().value);
      }
      return full.get(entry.key);
    }

    // ---- filter and sort ------------------------------------------------------------------------------

    function words() {
      return filter ? filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean) : [];
    }

    function seedOrder(a, b) {
      return shared.compareSeeds(a.seed, b.seed);
    }

    function byCreated(a, b) {
      if (!a.created || !b.created) return (a.created ? 0 : 1) - (b.created ? 0 : 1);
      return a.created < b.created ? -1 : a.created > b.created ? 1 : 0;
    }

    const ORDERS = {
      newest: function (a, b) { return -byCreated(a, b) || a.seq - b.seq; },
      oldest: function (a, b) { return byCreated(a, b) || a.seq - b.seq; },
      seed: function (a, b) { return seedOrder(a, b) || a.seq - b.seq; },
      picks: function (a, b) { return b.picks - a.picks || b.comments - a.comments || a.seq - b.seq; },
    };

    /** The order the listing comes in from the server when none is asked for. */
    function ownOrder() {
      const kind = grid.dataset.listing;
      return kind === "search" ? "best" : kind === "collection" ? "order" : "newest";
    }

    /** Only picks, here: when the box is ticked and the list in hand is not the server's answer to that. */
    function picksHere() {
      return Boolean(picksOnly && picksOnly.checked && !serverQuery.picks);
    }

    /** Words to look for here: none when the server looked for them already (it understands more of them:
     * `model:flux-dev`, word starts, Chinese, than a look for the plain text would). */
    function wantedHere() {
      return serverQuery.q ? [] : words();
    }

    /** The order to put the list in here, or "" when it came from the server in the order asked for. */
    function orderHere() {
      const order = sort ? sort.value : "";
      const served = serverQuery.sort || ownOrder();
      return ORDERS[order] && order !== served ? order : "";
    }

    /** The list as shown: the loaded entries that match the filter, in the chosen order. */
    function refresh(quiet) {
      const wanted = wantedHere();
      const order = orderHere();
      const picked = picksHere();
      view = entries.filter(function (entry) {
        return wanted.every(function (word) { return entry.text.indexOf(word) !== -1; }) &&
          (!picked || entry.picks > 0);
      });
      view.sort(order ? ORDERS[order] : function (a, b) { return a.seq - b.seq; });
      place_ = new Map(view.map(function (entry, index) { return [entry, index]; }));
      if (!quiet) report();
      layout();
    }

    /** Entries from `from` on were paged in: shown as they are at the end of the list, when nothing is filtered
     * or sorted here (else the list is made again). Only the rows from the last one on are laid out again. */
    function appended(from) {
      if (wantedHere().length || orderHere() || picksHere() || view.length !== from) {
        refresh();
        return;
      }
      for (let n = from; n < entries.length; n += 1) {
        place_.set(entries[n], view.length);
        view.push(entries[n]);
      }
      report();
      layout(Math.max(0, rows.length - 1));
    }

    function report() {
      const filtered = words().length > 0 || Boolean(picksOnly && picksOnly.checked);
      const images = view.filter(function (entry) { return entry.done; }).length;
      if (status) {
        status.textContent = !filtered ? ""
          : next ? images + (images === 1 ? " matching image" : " matching images") + " so far; more load as you scroll"
          : view.length + " of " + (serverQuery.q ? view.length : entries.length) + " cards match";
      }
      if (empty) {
        empty.hidden = !filtered || view.length > 0 || Boolean(loading);
        shared.byId("filter-empty-query").textContent = filter ? filter.value.trim() : "";
      }
      if (summary && !filtered && grid.dataset.listing !== "collection") { // a collection's says who made it, kept
        const tasks = new Set(view.map(function (entry) { return entry.taskId; })).size;
        summary.textContent = images + (images === 1 ? " image" : " images") + " from " + tasks +
          (tasks === 1 ? " task" : " tasks") + (next ? " so far" : "");
      }
    }

    let filterTimer = 0;

    function changed() {
      window.clearTimeout(filterTimer);
      const order = sort ? sort.value : "";
      const wanted = { q: words().join(" "), sort: order === ownOrder() ? "" : order,
                       picks: Boolean(picksOnly && picksOnly.checked) };
      if (wanted.q === serverQuery.q && wanted.sort === serverQuery.sort && wanted.picks === serverQuery.picks) {
        refresh(); // the list in hand is the server's answer to exactly this
      } else if (!next && !serverQuery.q && !serverQuery.picks) {
        refresh(); // the whole listing is here: filter and sort it in place
      } else {
        filterTimer = window.setTimeout(function () { ask(wanted); }, wanted.q !== serverQuery.q ? FILTER_WAIT_MS : 0);
      }
    }

    /** Start the list again from the server, for words to look for and an order. */
    function ask(wanted) {
      generation += 1;
      serverQuery = wanted;
      const text = [grid.dataset.query || "", wanted.q].join(" ").trim();
      const url = new URL(text ? grid.dataset.searchApi : grid.dataset.listingApi, window.location.href);
      if (text) url.searchParams.set("q", text);
      if (wanted.sort) url.searchParams.set("sort", wanted.sort);
      if (wanted.picks) url.searchParams.set("picks", "1");
      entries = [];
      byKey.clear();
      clear();
      next = url.pathname + url.search;
      if (more) more.parentElement.hidden = true; // its address no longer matches what is shown
      loading = null;
      const top = window.scrollY + grid.getBoundingClientRect().top - window.innerHeight / 3;
      if (window.scrollY > top) window.scrollTo({ top: Math.max(0, top) });
      refresh();
      return loadMore();
    }

    // ---- paging ---------------------------------------------------------------------------------------

    function loadMore() {
      if (loading) return loading;
      if (!next) return Promise.resolve(false);
      const asked = generation;
      if (more) more.setAttribute("aria-busy", "true");
      loading = fetch(next, { headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.json();
        })
        .then(function (page) {
          if (asked !== generation) return false;
          const from = entries.length;
          const added = take(page);
          next = page.next_url || (page.items ? page.next : null) || null;
          if (more && page.next && !page.items && !more.parentElement.hidden) {
            more.href = more.href.replace(/([?&]cursor=)[^&]*/, "$1" + encodeURIComponent(page.next));
          }
          if (!next && more) more.parentElement.remove();
          loading = null;
          appended(from);
          hooks.lightbox.cardsChanged();
          if (added) shared.announce(added + (added === 1 ? " more image" : " more images") + " loaded.");
          return true;
        })
        .catch(function () {
          loading = null;
          return false; // the Older link still works: a click loads the next page as a page
        })
        .then(function (result) {
          if (more && more.isConnected) more.removeAttribute("aria-busy");
          return result;
        });
      return loading;
    }

    // ---- layout ---------------------------------------------------------------------------------------

    function metrics() {
      const style = getComputedStyle(grid);
      return {
        density: shared.density(),
        width: grid.clientWidth,
        gap: parseFloat(style.columnGap) || 0,
        rowGap: parseFloat(style.rowGap) || 0,
        row: parseFloat(style.getPropertyValue("--row")) || 200,
        column: parseFloat(style.getPropertyValue("--column")) || 236,
      };
    }

    /** Rows as the stylesheet would draw them, for the list as shown and the grid's width now; `from`: the first
     * row that may have changed (rows before it are kept, when nothing else has). */
    function layout(from) {
      const m = metrics();
      const same = measure && measure.density === m.density && measure.width === m.width && measure.row === m.row &&
        measure.gap === m.gap;
      if (m.density === "details" && measure && measure.width !== m.width) {
        entries.forEach(function (entry) { entry.height = 0; }); // measured at another width
      }
      measure = m;
      const kept = same && from ? rows.slice(0, from) : [];
      rows = m.density === "images" ? justified(m, kept) : columns(m, kept);
      height = rows.length ? rows[rows.length - 1].top + rows[rows.length - 1].height : 0;
      grid.style.height = height + "px";
      render();
    }

    /** The image grid: greedy lines of tiles at the row height, each full line stretched to the width. */
    function justified(m, kept) {
      const out = kept;
      const before = kept[kept.length - 1];
      let start = before ? before.end : 0;
      let top = before ? before.top + before.height + m.rowGap : 0;
      while (start < view.length) {
        let end = start;
        let basis = 0;
        while (end < view.length) {
          const width = view[end].ratio * m.row;
          // A flex line takes items while their bases and the gaps between them fit (LayoutUnit is 1/64 px).
          if (end > start && basis + m.gap + width > m.width + 1 / 64) break;
          basis += (end > start ? m.gap : 0) + width;
          end += 1;
        }
        let ratios = 0;
        for (let n = start; n < end; n += 1) ratios += view[n].ratio;
        const last = end >= view.length;
        // The last line keeps the row height (the stylesheet's ::after takes its spare room) unless it overflows.
        const rowHeight = last && basis <= m.width ? m.row : (m.width - m.gap * (end - start - 1)) / ratios;
        out.push({ start: start, end: end, top: top, height: rowHeight });
        top += rowHeight + m.rowGap;
        start = end;
      }
      return out;
    }

    /** The details grid: as many columns of at least `--column` as fit; a row is as tall as its tallest card. */
    function columns(m, kept) {
      const count = Math.max(1, Math.floor((m.width + m.gap) / (m.column + m.gap)));
      const width = (m.width - m.gap * (count - 1)) / count;
      m.count = count;
      m.cell = width;
      const out = kept || [];
      const before = out[out.length - 1];
      let top = before ? before.top + before.height + m.rowGap : 0;
      for (let start = before ? before.end : 0; start < view.length; start += count) {
        const end = Math.min(view.length, start + count);
        let rowHeight = 0;
        for (let n = start; n < end; n += 1) {
          rowHeight = Math.max(rowHeight, view[n].height || width / view[n].ratio + bodyHeight);
        }
        out.push({ start: start, end: end, top: top, height: rowHeight });
        top += rowHeight + m.rowGap;
      }
      return out;
    }

    /** The entry's card, moved to its place in `row` (index: its place in `view`). */
    function place(entry, index, row) {
      const card = element(entry);
      let left = 0;
      let width = 0;
      if (measure.density === "images") {
        width = entry.ratio * row.height;
        for (let n = row.start; n < index; n += 1) left += view[n].ratio * row.height + measure.gap;
      } else {
        width = measure.cell;
        left = (index - row.start) * (measure.cell + measure.gap);
      }
      // Written only when changed: each write has the browser work out the card's style and layout again.
      const spot = left + "," + row.top + "," + width;
      if (spots.get(card) !== spot) {
        spots.set(card, spot);
        card.style.left = left + "px";
        card.style.top = row.top + "px";
        card.style.width = width + "px";
      }
      return card;
    }

    /** Take a card out of the page. An image still loading is stopped: out of the page it would load at once
     * (lazy loading needs a layout), and "auto" sizes would pick the largest thumbnail for want of one. */
    function unmount(card, entry) {
      const img = card.querySelector("img");
      if (img && !img.complete && img.getAttribute("srcset") !== null) {
        if (entry.own) {
          img.dataset.srcset = img.getAttribute("srcset");
          img.dataset.src = img.getAttribute("src");
        }
        img.removeAttribute("srcset");
        img.removeAttribute("src");
      }
      card.remove();
      if (!entry.own) entry.el = null;
    }

    /** A card of the server's that was taken out before its image loaded gets its image back. */
    function remount(card) {
      const img = card.querySelector("img");
      if (img && img.dataset.srcset !== undefined) {
        img.setAttribute("srcset", img.dataset.srcset);
        img.setAttribute("src", img.dataset.src);
        delete img.dataset.srcset;
        delete img.dataset.src;
      }
    }

    function clear() {
      shown.forEach(unmount);
      shown = new Map();
    }

    /** The rows that meet the viewport, a screen either side. */
    function windowRows() {
      const top = window.scrollY + grid.getBoundingClientRect().top;
      const from = window.scrollY - top - window.innerHeight * MARGIN_SCREENS;
      const to = window.scrollY - top + window.innerHeight * (1 + MARGIN_SCREENS);
      let low = 0;
      let high = rows.length;
      while (low < high) { // the first row whose bottom is below `from`
        const mid = (low + high) >> 1;
        if (rows[mid].top + rows[mid].height < from) low = mid + 1;
        else high = mid;
      }
      let last = low;
      while (last < rows.length && rows[last].top <= to) last += 1;
      return { first: low, last: last, below: height - to };
    }

    /** Put the cards of the rows near the viewport in the page, in order, and take the others out. */
    function render() {
      frame = 0;
      const range = windowRows();
      const wanted = new Map(); // entry → its row, in the order of the list
      for (let r = range.first; r < range.last; r += 1) {
        for (let n = rows[r].start; n < rows[r].end; n += 1) wanted.set(view[n], rows[r]);
      }
      const focused = document.activeElement && grid.contains(document.activeElement)
        ? document.activeElement.closest("#grid > li") : null;
      shown.forEach(function (card, entry) {
        if (wanted.has(entry) || (card === focused && place_.has(entry))) return; // never pull the focus away
        unmount(card, entry);
        shown.delete(entry);
      });
      const cards = [];
      const added = [];
      wanted.forEach(function (row, entry) {
        const card = place(entry, place_.get(entry), row);
        if (!shown.has(entry)) {
          added.push(card);
          if (entry.own) remount(card);
        }
        shown.set(entry, card);
        cards.push(card);
      });
      // In the page in the list's order, so Tab goes from card to card as they are drawn.
      const keep = new Set(cards);
      let cursor = grid.firstElementChild;
      cards.forEach(function (card) {
        while (cursor && cursor !== card && !keep.has(cursor)) cursor = cursor.nextElementSibling;
        if (cursor === card) cursor = card.nextElementSibling;
        else grid.insertBefore(card, cursor);
      });
      if (measure.density === "details" && added.length) measureRows(range);
      if (added.length) grid.dispatchEvent(new CustomEvent("cardsadded", { detail: added }));
      if (range.below < window.innerHeight * AHEAD_SCREENS && next && !loading && settled) loadMore();
    }

    /** Details: read the real heights of the cards in the page; rows that were guessed get their real height. */
    function measureRows(range) {
      let moved = false;
      const viewportTop = -grid.getBoundingClientRect().top;
      for (let r = range.first; r < range.last; r += 1) {
        for (let n = rows[r].start; n < rows[r].end; n += 1) {
          const entry = view[n];
          const card = shown.get(entry);
          if (!card) continue;
          const real = card.offsetHeight;
          if (real && real !== entry.height) {
            entry.height = real;
            bodyHeight = Math.max(0, real - measure.cell / entry.ratio);
            moved = true;
          }
        }
      }
      if (!moved) return;
      const before = rows.map(function (row) { return row.top; });
      const firstVisible = rows.findIndex(function (row) { return row.top + row.height > viewportTop; });
      rows = columns(measure, []);
      height = rows.length ? rows[rows.length - 1].top + rows[rows.length - 1].height : 0;
      grid.style.height = height + "px";
      shown.forEach(function (card, entry) {
        const index = place_.get(entry);
        const row = index === undefined ? null : rows[Math.floor(index / measure.count)];
        if (row) place(entry, index, row);
      });
      // Rows above the screen that grew or shrank would move what the reader looks at: scroll by as much.
      if (firstVisible > 0 && rows[firstVisible]) {
        const delta = rows[firstVisible].top - before[firstVisible];
        if (delta) window.scrollBy(0, delta);
      }
    }

    function schedule() {
      if (!frame) frame = window.requestAnimationFrame(render);
    }

    /** Bring an entry's row into the page (and the screen), for the focus after the lightbox closes. */
    function reveal(entry) {
      const index = place_.get(entry);
      if (index === undefined) return null;
      const row = rows.find(function (candidate) { return candidate.start <= index && index < candidate.end; });
      if (!row) return null;
      const top = window.scrollY + grid.getBoundingClientRect().top + row.top;
      if (top < window.scrollY || top + row.height > window.scrollY + window.innerHeight) {
        window.scrollTo({ top: Math.max(0, top - (window.innerHeight - row.height) / 2) });
      }
      render();
      return shown.get(entry) || null;
    }

    // ---- take over from the server's cards --------------------------------------------------------------

    Array.prototype.slice.call(grid.children).forEach(function (card, seq) {
      add(fromElement(card, seq));
    });
    if (shared.density() === "details") {
      // The server's cards keep their place: their heights, as the stylesheet drew them, make the rows.
      entries.forEach(function (entry) { entry.height = entry.el.offsetHeight; });
      const first = entries[0];
      if (first) bodyHeight = Math.max(0, first.height - first.el.offsetWidth / first.ratio);
    }
    grid.classList.add("is-windowed");
    document.documentElement.classList.add("is-windowed");
    entries.forEach(function (entry) { shown.set(entry, entry.el); });
    refresh(true);

    window.addEventListener("scroll", schedule, { passive: true });
    if ("ResizeObserver" in window) {
      let lastWidth = grid.clientWidth;
      new ResizeObserver(function () {
        if (grid.clientWidth !== lastWidth) {
          lastWidth = grid.clientWidth;
          layout();
        }
      }).observe(grid);
    }
    grid.addEventListener("focusin", schedule);
    grid.addEventListener("densitychange", function () {
      clear();
      entries.forEach(function (entry) {
        entry.height = 0;
        if (!entry.own) entry.el = null;
        entry.lean = false;
      });
      layout();
    });
    if (filter) filter.addEventListener("input", changed);
    if (sort) sort.addEventListener("change", changed);
    if (picksOnly) picksOnly.addEventListener("change", changed);

    hooks.lightbox.setSource({
      list: function () { return view.filter(function (entry) { return entry.done; }); },
      find: function (key) {
        const entry = byKey.get(key);
        return entry && entry.done && place_.has(entry) ? entry : null;
      },
      entry: function (card) { return byKey.get(card.dataset.key) || null; },
      card: fullCard,
      reveal: reveal,
      has: function (entry) { return byKey.get(entry.key) === entry; },
      hasMore: function () { return Boolean(next); },
      more: loadMore,
    });

    return {
      entries: function () { return entries; },
      shown: function () { return shown.size; },
      loadMore: loadMore,
      fullCard: fullCard,
      find: function (key) { return byKey.get(key) || null; },
      /** The image cards' keys as shown: filtered and in order, in the page or not. */
      keys: function () {
        return view.filter(function (entry) { return entry.done; }).map(function (entry) { return entry.key; });
      },
      /** Whether the whole listing is in the list (no page left on the server). */
      complete: function () { return !next; },
      /** The collection's items in the list, in its order. */
      items: function () {
        const seen = [];
        entries.forEach(function (entry) {
          if (entry.item && seen[seen.length - 1] !== entry.item) seen.push(entry.item);
        });
        return seen;
      },
      /** Put the cards of `item` right after those of `after` (null: first), as the server now has them. */
      moveItem: function (item, after) {
        const moving = entries.filter(function (entry) { return entry.item === item; });
        if (!moving.length) return false;
        const rest = entries.filter(function (entry) { return entry.item !== item; });
        let at = 0;
        if (after !== null) {
          for (let n = rest.length - 1; n >= 0; n -= 1) {
            if (rest[n].item === after) {
              at = n + 1;
              break;
            }
          }
        }
        entries = rest.slice(0, at).concat(moving, rest.slice(at));
        entries.forEach(function (entry, index) { entry.seq = index; });
        refresh(true);
        return true;
      },
      /** Take the cards of these items out of the list. */
      removeItems: function (items) {
        const gone = new Set(items);
        entries = entries.filter(function (entry) {
          if (!gone.has(entry.item)) return true;
          byKey.delete(entry.key);
          const card = shown.get(entry);
          if (card) {
            card.remove();
            shown.delete(entry);
          }
          return false;
        });
        refresh();
        hooks.lightbox.cardsChanged();
      },
      /** The tasks worth asking about again (still generating, or not loaded just now), by ID, at most `most`. */
      waiting: function (most) {
        const ids = [];
        entries.forEach(function (entry) {
          if (entry.done || ids.length >= most || ids.indexOf(entry.taskId) >= 0) return;
          const state = entry.task ? entry.task.status : entry.el && entry.el.dataset.status;
          if (isWaiting(state)) ids.push(entry.taskId);
        });
        return ids;
      },
      /** A task that was waiting has changed (`task`: its JSON, as /api/tasks gives it): its card makes way for its
       * images, or for a card of its new state, in the same place; the number of images it brought. */
      replaceTask: function (task) {
        const at = entries.findIndex(function (entry) { return entry.taskId === task.id && !entry.done; });
        if (at < 0) return 0;
        const old = entries[at];
        const state = old.task ? old.task.status : old.el && old.el.dataset.status;
        if (state === task.status) return 0;
        const fresh = (task.status === "done" ? task.images : [null]).map(function (image) {
          const entry = fromJson(task, image, at);
          entry.item = old.item;
          return entry;
        }).filter(function (entry) { return !byKey.has(entry.key) || entry.key === old.key; });
        byKey.delete(old.key);
        const card = shown.get(old);
        const hadFocus = Boolean(card && card.contains(document.activeElement));
        if (card) {
          card.remove();
          shown.delete(old);
        }
        fresh.forEach(function (entry) { byKey.set(entry.key, entry); });
        entries = entries.slice(0, at).concat(fresh, entries.slice(at + 1));
        entries.forEach(function (entry, index) { entry.seq = index; });
        refresh();
        fresh.forEach(function (entry) {
          const now = shown.get(entry);
          if (now) now.classList.add("is-new");
        });
        if (hadFocus && fresh[0] && shown.get(fresh[0])) {
          const target = shown.get(fresh[0]);
          (target.querySelector("a, button:not([hidden])") || target).focus();
        }
        hooks.lightbox.cardsChanged();
        return task.status === "done" ? fresh.length : 0;
      },
      /** Items that arrived (a page of a collection's JSON), added at the end of the list. */
      append: function (page) {
        const from = entries.length;
        const added = take(page);
        if (added) {
          appended(from);
          hooks.lightbox.cardsChanged();
        }
        return added;
      },
      /** Picks and comments changed ({key: {picks, comments}}): a list sorted or filtered by them follows. */
      marksChanged: function (changes) {
        Object.keys(changes || {}).forEach(function (key) {
          const entry = byKey.get(key);
          if (!entry) return;
          entry.picks = Number(changes[key].picks) || 0;
          entry.comments = Number(changes[key].comments) || 0;
        });
        if (orderHere() === "picks" || picksHere()) refresh(true);
      },
    };
  };
})();
