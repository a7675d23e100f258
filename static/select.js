// Flux Gallery: the selection, on every grid (a gallery, Recent, search, a collection). Select images with the
// round check on a card, `x` on the focused card (Shift+x or a shift-click selects the range from the last one),
// or "Select all shown"; the tray at the bottom then compares 2 to 4 of them (`?compare=`, drawn by the server),
// makes a new collection of them, or adds them to one (where the gallery takes changes). The selection lasts as
// long as the tab, per page; everything it does is said to screen readers.
"use strict";

(function () {
  const shared = window.FluxGallery;
  if (!shared) return;

  const COMPARE_PARAM = "compare";
  const COMPARE_MIN = 2;
  const COMPARE_MAX = 4;
  const MOST = 10000; // a collection holds this many images at most: more cannot be used at once
  const PER_REQUEST = 1000; // refs the API takes in one request
  const STORE = "flux-gallery-selection:" + window.location.pathname;
  const CREATED = "flux-gallery-created"; // the collection just made here: its page offers to name it

  shared.ready.push(function (grid) {
    shared.selection = initSelection(grid);
  });

  function initSelection(grid) {
    const tray = shared.byId("select-tray");
    const count = shared.byId("select-count");
    const compare = shared.byId("compare-open");
    const clear = shared.byId("select-clear");
    const all = shared.byId("select-all");
    const lightboxSelect = shared.byId("lightbox-select");
    const lightboxCompare = shared.byId("lightbox-compare");
    const making = shared.byId("collection-new");
    const adding = shared.byId("collection-add");
    const menu = shared.byId("collection-menu");
    let selected = load();
    let anchor = null; // the card selected or unselected last: a range runs from it
    let shownInLightbox = null;
    let comparing = ""; // the keys compared on this page, if any
    let pending = 0;
    let busy = false; // a write of the selection's is on its way
    // The selection is only the images a compare link opened with: the compare view shows them already, so the
    // tray waits until the reader changes the selection (it would cover the page under the comparison).
    let adopted = false;

    function load() {
      try {
        const keys = JSON.parse(window.sessionStorage.getItem(STORE) || "[]");
        return Array.isArray(keys) ? keys.filter(function (key) { return typeof key === "string"; }).slice(0, MOST) : [];
      } catch (error) {
        return []; // storage turned off: the selection lasts as long as the page
      }
    }

    function save() {
      try {
        window.sessionStorage.setItem(STORE, JSON.stringify(selected));
      } catch (error) { /* as above */ }
    }

    function has(key) {
      return selected.indexOf(key) >= 0;
    }

    /** This page with the selected images compared (and no one-image lightbox open). */
    function compareLink() {
      const url = new URL(window.location.href);
      url.searchParams.delete("image");
      url.searchParams.set(COMPARE_PARAM, selected.join(","));
      return url.pathname + url.search.replace(/%2C/gi, ",");
    }

    function said() {
      const n = selected.length;
      if (n === 0) return "Nothing selected.";
      return n + (n === 1 ? " image" : " images") + " selected" +
        (n >= COMPARE_MIN && n <= COMPARE_MAX ? ": compare them, or make a collection." : ".");
    }

    function set(keys, on) {
      adopted = false;
      let changed = 0;
      keys.forEach(function (key) {
        if (on && !has(key) && selected.length < MOST) {
          selected.push(key);
          changed += 1;
        } else if (!on && has(key)) {
          selected.splice(selected.indexOf(key), 1);
          changed += 1;
        }
      });
      save();
      sync();
      return changed;
    }

    function toggle(key) {
      const on = !has(key);
      set([key], on);
      anchor = key;
      shared.announce((on ? "Selected. " : "Unselected. ") + said());
    }

    /** Select every image shown from the anchor to `key` (both included), as the grid shows them now. */
    function range(key) {
      const order = shared.cardOrder();
      const from = anchor === null ? -1 : order.indexOf(anchor);
      const to = order.indexOf(key);
      if (from < 0 || to < 0) {
        toggle(key);
        return;
      }
      const added = set(order.slice(Math.min(from, to), Math.max(from, to) + 1), true);
      anchor = key;
      shared.announce(added + (added === 1 ? " image" : " images") + " added to the selection. " + said());
    }

    /** Every check, the tray and the lightbox's buttons, as the selection now is. */
    function sync() {
      pending = 0;
      grid.querySelectorAll(".card__select").forEach(function (button) {
        const card = button.closest("li");
        const on = has(card.dataset.key);
        // Only what changed: every attribute written makes the browser look at the styles again.
        if ((button.getAttribute("aria-pressed") === "true") !== on) button.setAttribute("aria-pressed", String(on));
        if (card.classList.contains("is-selected") !== on) card.classList.toggle("is-selected", on);
      });
      grid.classList.toggle("is-selecting", selected.length > 0);
      const comparable = selected.length >= COMPARE_MIN && selected.length <= COMPARE_MAX;
      if (tray) {
        tray.hidden = selected.length === 0 || adopted;
        makeRoom();
        write(count, "textContent", selected.length + " selected");
        // That is what the page shows already: no need to open it again.
        compare.hidden = !comparable || selected.join(",") === comparing;
        write(compare, "href", compareLink());
        write(compare, "textContent", "Compare " + selected.length);
        [making, adding].forEach(function (button) { if (button) button.disabled = busy; });
      }
      if (lightboxSelect && shownInLightbox) {
        lightboxSelect.setAttribute("aria-pressed", String(has(shownInLightbox)));
        write(lightboxSelect, "textContent", has(shownInLightbox) ? "Selected" : "Select");
      }
      if (lightboxCompare) {
        lightboxCompare.hidden = !comparable;
        write(lightboxCompare, "href", compareLink());
        write(lightboxCompare, "textContent", "Compare " + selected.length);
      }
      if (!tray || tray.hidden) closeMenu(false);
      grid.dispatchEvent(new CustomEvent("selectionchange", { detail: selected.length }));
    }

    /** The page ends the tray's height (and its gap) further down while the tray is shown, so nothing stays
     * hidden under it: the last row scrolls clear, and the focus is scrolled into view above it. */
    function makeRoom() {
      const root = document.documentElement;
      if (!tray || tray.hidden) {
        root.style.removeProperty("--tray-space");
        return;
      }
      const gap = window.innerHeight - tray.getBoundingClientRect().bottom;
      root.style.setProperty("--tray-space", Math.ceil(tray.offsetHeight + Math.max(0, gap) * 2) + "px");
    }
    if (tray && "ResizeObserver" in window) new ResizeObserver(makeRoom).observe(tray);

    /** Set a property only when it changes (a write makes the browser look at styles and layout again). */
    function write(element, name, value) {
      if (name === "href" ? element.getAttribute("href") !== value : element[name] !== value) element[name] = value;
    }

    grid.addEventListener("click", function (event) {
      const button = event.target.closest(".card__select");
      if (!button) return;
      event.preventDefault();
      const key = button.closest("li").dataset.key;
      if (event.shiftKey) range(key);
      else toggle(key);
    });
    // `x` selects the card that has the focus (its image link, or a button on it); Shift+x, the range up to it.
    grid.addEventListener("keydown", function (event) {
      if (event.key.toLowerCase() !== "x" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.target.closest("input, textarea, select, [contenteditable]")) return;
      const card = event.target.closest("#grid > li");
      if (!card || card.dataset.status !== "done") return;
      event.preventDefault();
      if (event.shiftKey) range(card.dataset.key);
      else toggle(card.dataset.key);
    });
    // Cards come and go (pending tasks finish, pager.js pages and scrolls): their checks follow the selection.
    new MutationObserver(function () {
      if (!pending) pending = window.requestAnimationFrame(sync);
    }).observe(grid, { childList: true });

    if (all) {
      all.addEventListener("click", function () {
        const shown = shared.cardOrder();
        const added = set(shown, true);
        anchor = shown[shown.length - 1] || anchor;
        shared.announce(added ? added + (added === 1 ? " image" : " images") + " added. " + said()
          : "Every image shown is selected already. " + said());
      });
    }
    if (clear) {
      clear.addEventListener("click", function () {
        set(selected.slice(), false);
        anchor = null;
        shared.announce("Selection cleared.");
        const focus = all || shared.byId("filter");
        if (focus) focus.focus();
      });
    }
    const lightbox = shared.byId("lightbox");
    if (lightbox) {
      lightbox.addEventListener("lightboxshow", function (event) {
        shownInLightbox = event.detail.dataset.key;
        sync();
      });
    }
    if (lightboxSelect) {
      lightboxSelect.addEventListener("click", function () {
        if (shownInLightbox) toggle(shownInLightbox);
      });
    }

    // ---- collections ---------------------------------------------------------------------------------------

    function chunks(keys) {
      const out = [];
      for (let n = 0; n < keys.length; n += PER_REQUEST) out.push(keys.slice(n, n + PER_REQUEST));
      return out;
    }

    /** Append `keys` to the collection at `url`, a request per thousand: a promise of the last answer. */
    function append(url, keys) {
      return chunks(keys).reduce(function (done, part) {
        return done.then(function () { return shared.write("POST", url + "/items", { items: part }); });
      }, Promise.resolve(null));
    }

    function working(on) {
      busy = on;
      sync();
      if (tray) tray.setAttribute("aria-busy", String(on));
    }

    if (making) {
      making.addEventListener("click", function () {
        if (busy || !selected.length) return;
        const keys = selected.slice();
        const parts = chunks(keys);
        working(true);
        shared.write("POST", "/api/collections", { title: "", items: parts[0] })
          .then(function (made) {
            return append("/api/collections/" + encodeURIComponent(made.slug), keys.slice(PER_REQUEST))
              .then(function () { return made; });
          })
          .then(function (made) {
            set(keys, false);
            try {
              window.sessionStorage.setItem(CREATED, made.slug);
            } catch (error) { /* the page just will not offer to name it */ }
            shared.announce("Collection made. Opening it.");
            window.location.assign(made.url);
          })
          .catch(function (error) {
            working(false);
            shared.toast(error.message, "error");
          });
      });
    }

    // "Add to …": a menu of the team's collections, newest first, asked for each time it opens.
    const list = shared.byId("collection-menu-list");
    const status = shared.byId("collection-menu-status");
    const here = grid.dataset.collection || ""; // on a collection's page: not offered to add to itself

    function items() {
      return Array.prototype.slice.call(menu.querySelectorAll(".menu__item"));
    }

    function openMenu() {
      menu.hidden = false;
      adding.setAttribute("aria-expanded", "true");
      list.replaceChildren();
      status.textContent = "Loading collections…";
      status.hidden = false;
      loadMenuPage("/api/collections");
    }

    /** One page of the team's collections into the menu; a last entry brings the next page, so a team with many
     * collections reaches every one. */
    function loadMenuPage(url) {
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.json();
        })
        .then(function (answer) {
          if (menu.hidden) return;
          const older = list.querySelector(".menu__more");
          if (older) older.closest("li").remove();
          const offered = answer.collections.filter(function (collection) { return collection.slug !== here; });
          const any = offered.length > 0 || items().length > 0;
          status.textContent = any || answer.next ? "" : "No other collection yet: make one with “New collection”.";
          status.hidden = any || Boolean(answer.next);
          let firstNew = null;
          offered.forEach(function (collection) {
            const item = document.createElement("li");
            const button = document.createElement("button");
            button.type = "button";
            button.className = "menu__item";
            button.dataset.slug = collection.slug;
            button.dataset.url = collection.url;
            const title = document.createElement("span");
            title.className = "menu__title";
            title.textContent = collection.title;
            const size = document.createElement("span");
            size.className = "menu__meta";
            size.textContent = collection.image_count + (collection.image_count === 1 ? " image" : " images");
            button.append(title, size);
            item.appendChild(button);
            list.appendChild(item);
            firstNew = firstNew || button;
          });
          if (answer.next) {
            const item = document.createElement("li");
            const more = document.createElement("button");
            more.type = "button";
            more.className = "menu__item menu__more";
            more.dataset.next = answer.next;
            more.textContent = "Older collections…";
            item.appendChild(more);
            list.appendChild(item);
            firstNew = firstNew || more;
          }
          if (firstNew) firstNew.focus();
        })
        .catch(function () {
          status.textContent = "The collections could not be loaded. Try again.";
          status.hidden = false;
        });
    }

    function closeMenu(refocus) {
      if (!menu || menu.hidden) return;
      menu.hidden = true;
      adding.setAttribute("aria-expanded", "false");
      if (refocus) adding.focus();
    }

    if (adding && menu) {
      adding.addEventListener("click", function () {
        if (menu.hidden) openMenu();
        else closeMenu(false);
      });
      menu.addEventListener("click", function (event) {
        const button = event.target.closest(".menu__item");
        if (!button || busy) return;
        if (button.dataset.next) {
          button.disabled = true;
          button.textContent = "Loading…";
          loadMenuPage(button.dataset.next);
          return;
        }
        const keys = selected.slice();
        const title = button.querySelector(".menu__title").textContent;
        closeMenu(true);
        working(true);
        append("/api/collections/" + encodeURIComponent(button.dataset.slug), keys)
          .then(function (answer) {
            working(false);
            set(keys, false);
            const added = answer && typeof answer.added === "number" ? answer.added : keys.length;
            const text = added === 0 ? "“" + title + "” has these images already."
              : added + (added === 1 ? " image" : " images") + " added to “" + title + "”.";
            shared.toast(text, "ok", { href: button.dataset.url, text: "Open it" });
            shared.announce(text);
          })
          .catch(function (error) {
            working(false);
            shared.toast(error.message, "error");
          });
      });
      menu.addEventListener("keydown", function (event) {
        const all = items();
        const at = all.indexOf(document.activeElement);
        if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          event.preventDefault();
          const next = all[(at + (event.key === "ArrowDown" ? 1 : -1) + all.length) % all.length];
          if (next) next.focus();
        } else if (event.key === "Escape") {
          event.preventDefault();
          closeMenu(true);
        }
      });
      document.addEventListener("click", function (event) {
        if (!menu.hidden && !event.target.closest(".tray__menu")) closeMenu(false);
      });
    }
    if (tray) {
      tray.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && menu && menu.hidden && event.target.closest(".tray")) {
          set(selected.slice(), false);
          shared.announce("Selection cleared.");
        }
      });
    }

    sync();
    return {
      keys: function () { return selected.slice(); },
      has: has,
      set: set,
      /** The images compared on this page are the selection: adjust it and compare again. */
      adopt: function (keys) {
        selected = keys.slice(0, COMPARE_MAX);
        comparing = selected.join(",");
        adopted = true;
        save();
        sync();
      },
      sync: sync,
      working: working,
    };
  }
})();
