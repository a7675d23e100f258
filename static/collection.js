// Flux Gallery: a collection's own page (/c/<slug>). Its title and description are edited in place (Enter or
// leaving the field saves, Esc cancels); its items are put in order by dragging a card, or from the keyboard
// with Alt+← and Alt+→ on the focused card, or with the tray's Move buttons when one item is selected (touch
// screens); selected items are removed from the tray; its maker may delete it. Every change is saved
// through the JSON API at once. The collection's JSON is polled by version (as gallery.js polls pending cards),
// and items others add are appended at the end, so nothing the reader looks at moves.
"use strict";

(function () {
  const shared = window.FluxGallery;
  if (!shared) return;

  const POLL_FIRST_MS = 3000;
  const POLL_MAX_MS = 15000;
  const POLL_GROWTH = 1.5;
  const LIMITS = { title: 200, description: 2000 };
  const CREATED = "flux-gallery-created"; // set by select.js when it made the collection this page shows

  shared.ready.push(function (grid) {
    const slug = grid.dataset.collection;
    if (!slug) return;
    initCollection(grid, slug);
  });

  function initCollection(grid, slug) {
    const api = grid.dataset.collectionApi || "/api/collections/" + encodeURIComponent(slug);
    const pager = shared.list;
    let version = grid.dataset.version || "";
    const writable = shared.writable && grid.dataset.writable !== "0";
    const editing = {}; // field → true while its editor is open

    // ---- title and description, in place ------------------------------------------------------------

    function initField(field) {
      const shown = shared.byId("collection-" + field);
      const button = document.querySelector('button[data-edit="' + field + '"]');
      if (!shown || !button || !writable) return;
      button.addEventListener("click", function () { edit(field, shown, button); });
    }

    function edit(field, shown, button) {
      if (editing[field]) return;
      editing[field] = true;
      const multiline = field === "description";
      const input = document.createElement(multiline ? "textarea" : "input");
      input.className = "inline-edit inline-edit--" + field;
      input.id = "collection-" + field + "-input";
      input.maxLength = LIMITS[field];
      input.value = shown.dataset.value !== undefined ? shown.dataset.value : shown.textContent.trim();
      if (multiline) input.rows = 3;
      input.setAttribute("aria-label", field === "title" ? "Collection title" : "Collection description");
      input.setAttribute("aria-describedby", "collection-" + field + "-help");
      const help = document.createElement("p");
      help.className = "inline-edit__help";
      help.id = "collection-" + field + "-help";
      help.textContent = (multiline ? "Enter saves (Shift+Enter for a new line)" : "Enter saves") + ", Esc cancels.";
      const error = document.createElement("p");
      error.className = "form-error inline-edit__error";
      error.setAttribute("role", "alert");
      const wrapper = document.createElement("div");
      wrapper.className = "inline-edit__box inline-edit__box--" + field;
      wrapper.append(input, help, error);
      // The heading itself makes way for the field (a field inside a heading would be read as its text).
      const host = shown.closest("h1") || shown;
      host.hidden = true;
      button.hidden = true;
      host.after(wrapper);
      input.focus();
      input.select();
      let settled = false;

      function close(value) {
        if (settled) return;
        settled = true;
        editing[field] = false;
        if (value !== null) show(field, value);
        wrapper.remove();
        host.hidden = false;
        button.hidden = false;
        button.focus();
      }

      function save() {
        if (settled) return;
        const value = input.value.trim();
        const before = shown.dataset.value !== undefined ? shown.dataset.value : shown.textContent.trim();
        if (value === before) {
          close(null);
          return;
        }
        if (value.length > LIMITS[field]) {
          error.textContent = "At most " + LIMITS[field].toLocaleString("en") + " characters.";
          return;
        }
        input.readOnly = true;
        const change = {};
        change[field] = value;
        shared.write("PATCH", api, change)
          .then(function (answer) {
            close(answer && typeof answer[field] === "string" ? answer[field] : value);
            if (answer && answer.version) version = answer.version;
            shared.announce(field === "title" ? "Title saved." : "Description saved.");
          })
          .catch(function (failure) {
            input.readOnly = false;
            if (failure.cancelled) {
              close(null);
              return;
            }
            error.textContent = failure.message;
            input.setAttribute("aria-invalid", "true");
            input.focus();
          });
      }

      input.addEventListener("keydown", function (event) {
        if (event.key === "Escape") {
          event.preventDefault();
          close(null);
          shared.announce("Not changed.");
        } else if (event.key === "Enter" && !(multiline && event.shiftKey)) {
          event.preventDefault();
          save();
        }
      });
      // Leaving the field saves it, unless what took the focus is the name dialog a first write opens.
      input.addEventListener("blur", function () {
        window.setTimeout(function () {
          if (!document.querySelector(".name-dialog[open]") && document.activeElement !== input) save();
        }, 0);
      });
    }

    /** Write a field's value where it shows (and the page's title, for the collection's title). */
    function show(field, value) {
      const shown = shared.byId("collection-" + field);
      if (!shown) return;
      shown.dataset.value = value;
      if (field === "title") {
        shown.textContent = value || "Untitled collection";
        document.title = (value || "Untitled collection") + " · Flux Gallery";
      } else {
        shown.textContent = value || (writable ? "" : "");
        shown.classList.toggle("is-empty", !value);
        const button = document.querySelector('button[data-edit="description"]');
        if (button) button.textContent = value ? "Edit description" : "Add a description";
      }
    }

    initField("title");
    initField("description");
    let created = null;
    try {
      created = window.sessionStorage.getItem(CREATED);
      if (created === slug) window.sessionStorage.removeItem(CREATED);
    } catch (error) {
      created = null;
    }
    if (created === slug && writable) {
      // Just made from a selection, with the default title: name it now.
      const button = document.querySelector('button[data-edit="title"]');
      if (button) button.click();
      shared.announce("Collection made. Type its title and press Enter.");
    }

    // ---- order ---------------------------------------------------------------------------------------

    const sort = shared.byId("sort");
    const filter = shared.byId("filter");
    const picksOnly = shared.byId("picks-only");

    /** Moves make sense in the collection's own order with every card shown. */
    function canMove() {
      return (!sort || sort.value === "order") && (!filter || !filter.value.trim()) && !(picksOnly && picksOnly.checked);
    }

    function itemsInOrder() {
      if (pager && pager.items) return pager.items();
      const seen = [];
      Array.prototype.forEach.call(grid.children, function (card) {
        const item = card.dataset.item;
        if (item && seen[seen.length - 1] !== item) seen.push(item);
      });
      return seen;
    }

    /** Move `item` to follow `after` (null: first): shown at once, then saved; undone if the server refuses. */
    function move(item, after, card) {
      const order = itemsInOrder();
      const from = order.indexOf(item);
      const before = from > 0 ? order[from - 1] : null;
      if (after === item || before === after) return;
      place(item, after);
      const now = itemsInOrder();
      const at = now.indexOf(item);
      refocus(card);
      shared.announce("Moved to place " + (at + 1) + " of " + now.length + ".");
      shared.write("POST", api + "/move", { item: item, after: after })
        .then(function (answer) {
          if (answer && answer.version) version = answer.version;
        })
        .catch(function (failure) {
          place(item, before);
          refocus(card);
          if (!failure.cancelled) shared.toast(failure.message, "error");
        });
    }

    function place(item, after) {
      if (pager && pager.moveItem) {
        pager.moveItem(item, after);
        return;
      }
      const moving = Array.prototype.filter.call(grid.children, function (card) { return card.dataset.item === item; });
      const anchors = after === null ? [] : Array.prototype.filter.call(grid.children, function (card) {
        return card.dataset.item === after;
      });
      const target = anchors.length ? anchors[anchors.length - 1].nextElementSibling : grid.firstElementChild;
      moving.forEach(function (card) { grid.insertBefore(card, target === card ? card.nextElementSibling : target); });
      Array.prototype.forEach.call(grid.children, function (card, index) { card.dataset.order = String(index); });
    }

    /** The moved card keeps the focus, and stays in sight. */
    function refocus(card) {
      if (!card) return;
      const key = card.dataset.key;
      window.requestAnimationFrame(function () {
        const now = grid.querySelector('li[data-key="' + CSS.escape(key) + '"]');
        const link = now && now.querySelector(".card__media");
        if (link) {
          link.focus({ preventScroll: true });
          now.scrollIntoView({ block: "nearest" });
        }
      });
    }

    function neighbour(item, by) {
      const order = itemsInOrder();
      const at = order.indexOf(item);
      if (at < 0) return undefined;
      const to = at + by;
      if (to < 0 || to >= order.length) return undefined;
      // Earlier: after the item two before (or first); later: after the next one.
      return by < 0 ? (to > 0 ? order[to - 1] : null) : order[to];
    }

    function refuseMove() {
      shared.announce("Reordering works in the collection's own order, with no filter.");
      shared.toast("Choose “Collection order” and clear the filter to reorder.", "error");
    }

    if (writable) {
      grid.classList.add("is-orderable");
      grid.addEventListener("keydown", function (event) {
        if (!event.altKey || (event.key !== "ArrowLeft" && event.key !== "ArrowRight")) return;
        const card = event.target.closest("#grid > li");
        if (!card || !card.dataset.item) return;
        event.preventDefault();
        if (!canMove()) {
          refuseMove();
          return;
        }
        const after = neighbour(card.dataset.item, event.key === "ArrowLeft" ? -1 : 1);
        if (after === undefined) {
          shared.announce(event.key === "ArrowLeft" ? "Already first." : "Already last.");
          return;
        }
        move(card.dataset.item, after, card);
      });

      // Drag and drop: a card dropped on the left half of another goes before it, on the right half after it.
      let dragged = null;
      let marker = null;
      function clearMarker() {
        if (marker) marker.classList.remove("is-drop-before", "is-drop-after");
        marker = null;
      }
      grid.addEventListener("dragstart", function (event) {
        const card = event.target.closest && event.target.closest("#grid > li");
        if (!card || !card.dataset.item) return;
        if (!canMove()) {
          event.preventDefault();
          refuseMove();
          return;
        }
        dragged = card;
        card.classList.add("is-dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", card.dataset.item);
      });
      grid.addEventListener("dragover", function (event) {
        if (!dragged) return;
        const card = event.target.closest("#grid > li");
        if (!card || card === dragged || card.dataset.item === dragged.dataset.item) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        const box = card.getBoundingClientRect();
        const after = event.clientX > box.left + box.width / 2;
        if (marker !== card) clearMarker();
        marker = card;
        card.classList.toggle("is-drop-after", after);
        card.classList.toggle("is-drop-before", !after);
      });
      grid.addEventListener("drop", function (event) {
        if (!dragged || !marker) return;
        event.preventDefault();
        const target = marker;
        const afterTarget = target.classList.contains("is-drop-after");
        clearMarker();
        const order = itemsInOrder();
        const at = order.indexOf(target.dataset.item);
        const after = afterTarget ? target.dataset.item : at > 0 ? order[at - 1] : null;
        move(dragged.dataset.item, after, dragged); // dropped where it already is: no move
      });
      grid.addEventListener("dragend", function () {
        if (dragged) dragged.classList.remove("is-dragging");
        dragged = null;
        clearMarker();
      });
      // Cards are dragged whole (a card's link and image would otherwise be dragged as a link or a picture).
      const draggable = function () {
        Array.prototype.forEach.call(grid.children, function (card) {
          if (card.dataset.item && !card.draggable) {
            card.draggable = true;
            card.querySelectorAll("a, img").forEach(function (element) { element.draggable = false; });
          }
        });
      };
      draggable();
      new MutationObserver(draggable).observe(grid, { childList: true });

      // Buttons in the tray move the one selected item: for touch screens, and keyboards that find buttons first.
      const mover = shared.byId("collection-move");
      if (mover) {
        const selectedItem = function () {
          const selection = shared.selection;
          if (!selection) return null;
          const items = [];
          selection.keys().forEach(function (key) {
            const entry = pager && pager.find ? pager.find(key) : null;
            const card = grid.querySelector('li[data-key="' + CSS.escape(key) + '"]');
            const item = (entry && entry.item) || (card && card.dataset.item) || null;
            if (item && items.indexOf(item) < 0) items.push(item);
          });
          return items.length === 1 ? { item: items[0], key: selection.keys()[0] } : null;
        };
        const showMover = function () { mover.hidden = !selectedItem(); };
        grid.addEventListener("selectionchange", showMover);
        showMover(); // a selection the tab kept over a reload
        mover.addEventListener("click", function (event) {
          const button = event.target.closest("button[data-move]");
          const chosen = selectedItem();
          if (!button || !chosen) return;
          if (!canMove()) {
            refuseMove();
            return;
          }
          const order = itemsInOrder();
          const how = button.dataset.move;
          const after = how === "first" ? (order.indexOf(chosen.item) === 0 ? undefined : null)
            : how === "last" ? (order[order.length - 1] === chosen.item ? undefined : order[order.length - 1])
              : neighbour(chosen.item, how === "earlier" ? -1 : 1);
          if (after === undefined) {
            shared.announce(how === "first" || how === "earlier" ? "Already first." : "Already last.");
            return;
          }
          move(chosen.item, after, null);
          // The moved card comes into sight; the focus stays on the button, to press it again.
          window.requestAnimationFrame(function () {
            const card = grid.querySelector('li[data-key="' + CSS.escape(chosen.key) + '"]');
            if (card) card.scrollIntoView({ block: "nearest" });
          });
        });
      }
    }

    // ---- delete (its maker only: the server renders the button for them alone) ------------------------------

    const deleting = shared.byId("collection-delete");
    const asking = shared.byId("collection-delete-dialog");
    if (deleting && asking && writable) {
      deleting.addEventListener("click", function () {
        const title = shared.byId("collection-title").textContent.trim(); // as renamed here, maybe
        shared.byId("collection-delete-title").textContent = "Delete “" + title + "”?";
        asking.returnValue = "";
        asking.showModal();
      });
      // "Keep it", Escape or the button: the dialog closes with the answer (its form is method="dialog").
      asking.addEventListener("close", function () {
        if (asking.returnValue !== "delete") return;
        deleting.disabled = true;
        shared.write("DELETE", api, {})
          .then(function () {
            window.location.assign(deleting.dataset.done);
          })
          .catch(function (failure) {
            deleting.disabled = false;
            deleting.focus();
            if (!failure.cancelled) shared.toast(failure.message, "error");
          });
      });
    }

    // ---- remove ----------------------------------------------------------------------------------------

    const remove = shared.byId("collection-remove");
    if (remove && writable) {
      remove.addEventListener("click", function () {
        const selection = shared.selection;
        if (!selection) return;
        const keys = selection.keys();
        const items = [];
        keys.forEach(function (key) {
          const card = grid.querySelector('li[data-key="' + CSS.escape(key) + '"]');
          const entry = pager && pager.find ? pager.find(key) : null;
          const item = (entry && entry.item) || (card && card.dataset.item) || key;
          if (items.indexOf(item) < 0) items.push(item);
        });
        if (!items.length) return;
        selection.working(true);
        shared.write("DELETE", api + "/items", { items: items })
          .then(function (answer) {
            selection.working(false);
            selection.set(keys, false);
            takeOut(items);
            const n = answer && typeof answer.removed === "number" ? answer.removed : items.length;
            const text = n + (n === 1 ? " item" : " items") + " removed from the collection.";
            shared.toast(text, "ok");
            shared.announce(text);
            if (answer && typeof answer.image_count === "number") summary(answer.image_count);
          })
          .catch(function (failure) {
            selection.working(false);
            if (!failure.cancelled) shared.toast(failure.message, "error");
          });
      });
    }

    function takeOut(items) {
      if (pager && pager.removeItems) {
        pager.removeItems(items);
        return;
      }
      Array.prototype.slice.call(grid.children).forEach(function (card) {
        if (items.indexOf(card.dataset.item) >= 0) card.remove();
      });
      if (shared.lightbox) shared.lightbox.cardsChanged();
    }

    function summary(count) {
      const element = shared.byId("collection-count");
      if (element) element.textContent = count.toLocaleString("en") + (count === 1 ? " image" : " images");
    }

    // ---- live: what others changed, by version -----------------------------------------------------------

    let delay = Number(grid.dataset.pollMs) > 0 ? Number(grid.dataset.pollMs) : POLL_FIRST_MS;
    const first = delay;
    let deleted = false; // by its maker, meanwhile: nothing more will come

    function schedule() {
      if (!deleted) window.setTimeout(poll, delay);
    }

    function fetchJson(url) {
      return fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" }).then(function (response) {
        if (response.status === 304) return null;
        if (!response.ok) {
          const failure = new Error("status " + response.status);
          failure.status = response.status;
          throw failure;
        }
        return response.json();
      });
    }

    /** The collection is gone: the page says so above its heading (it stays, as the reader's last look at it). */
    function gone() {
      deleted = true;
      const notice = document.createElement("p");
      notice.className = "notice notice--stale";
      notice.id = "collection-gone";
      notice.setAttribute("role", "status");
      notice.textContent = "This collection has been deleted: its link no longer works. Its images are still in " +
        "their galleries.";
      const head = shared.byId("collection-head");
      head.parentNode.insertBefore(notice, head);
      // What changes the collection, or fetches it whole, would only meet the same 404 now (style.css hides it);
      // the selection stays, to make a new collection of these images or add them to another.
      document.body.classList.add("is-collection-gone");
    }

    function poll() {
      if (document.hidden) {
        shared.whenVisible(function () {
          delay = first;
          poll();
        });
        return;
      }
      const url = new URL(api, window.location.href);
      if (version) url.searchParams.set("version", version);
      fetchJson(url.pathname + url.search)
        .then(function (collection) {
          if (!collection || collection.changed === false || collection.version === version) {
            delay = Math.min(POLL_MAX_MS, delay * POLL_GROWTH);
            return null;
          }
          delay = first;
          return catchUp(collection);
        })
        .catch(function (failure) {
          if (failure.status === 404) gone();
          else delay = Math.min(POLL_MAX_MS, delay * POLL_GROWTH);
        })
        .then(schedule);
    }

    /** Bring the page up to `collection` (its first page): title, description, and the items others added
     * (at the end) or removed; the order others gave is left for the next visit, so nothing moves here. */
    function catchUp(collection) {
      version = collection.version;
      ["title", "description"].forEach(function (field) {
        const shown = shared.byId("collection-" + field);
        const value = collection[field] || "";
        if (!editing[field] && shown && (shown.dataset.value !== undefined ? shown.dataset.value : shown.textContent.trim()) !== value) {
          show(field, value);
        }
      });
      if (typeof collection.image_count === "number") summary(collection.image_count);
      if (!pager || !pager.append || !pager.complete()) return null; // the rest arrives while scrolling
      // The whole collection is in the page: read it whole, and add what is new at the end.
      const pages = [collection];
      function more(page) {
        if (!page.next) return Promise.resolve(pages);
        return fetchJson(page.next).then(function (next) {
          pages.push(next);
          return more(next);
        });
      }
      return more(collection).then(function (all) {
        const known = new Set(itemsInOrder());
        const items = [];
        const refs = new Set();
        all.forEach(function (page) {
          page.items.forEach(function (item) {
            refs.add(item.ref);
            if (!known.has(item.ref)) items.push(item);
          });
        });
        const gone = Array.from(known).filter(function (ref) { return !refs.has(ref); });
        if (gone.length) takeOut(gone);
        if (items.length) {
          const added = pager.append({ items: items });
          shared.announce(added + (added === 1 ? " image" : " images") + " added to this collection by a teammate, at the end.");
        }
      });
    }

    if (!("static" in grid.dataset)) schedule();
  }
})();
