// Flux Gallery: what a team says about its images. Picks (a star on every card and in the lightbox, with how
// many picked an image and who), comments in the lightbox, the teammate's display name (asked once, before the
// first write), and live updates of both for everyone on the page: /api/activity is polled with the same
// back-off as pending cards, and what changed is written in place (counts sit over the images: nothing moves).
// Untrusted text (names, comments) is only ever written with textContent; links in comments are <a> elements
// built here, never HTML.
"use strict";

(function () {
  const shared = window.FluxGallery;
  if (!shared) return;

  const POLL_FIRST_MS = 3000; // unless the grid says otherwise (data-poll-ms), as gallery.js's pending cards
  const POLL_MAX_MS = 15000;
  const POLL_GROWTH = 1.5;
  const REFS_PER_POLL = 100; // task IDs in one /api/activity address (each up to ~40 characters)
  const MOST_REFS = 400; // past this many tasks in the list, only those in the page are asked about
  const COMMENT_MAX = 2000;
  const NAME_MAX = 40;
  const LINK = /\bhttps?:\/\/[^\s<>"']+/gi;
  const TRAILING = /[.,;:!?)\]}'"]+$/; // punctuation after a link, not part of it

  const marks = new Map(); // image key → {picks, pickers, mine, comments}, as last heard from the server
  let me = null; // a promise of {name, writable}

  // ---- who is writing --------------------------------------------------------------------------------------

  function whoAmI() {
    if (!me) {
      me = fetch("/api/me", { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : { name: null }; })
        .catch(function () { return { name: null }; });
    }
    return me;
  }

  function showName(name) {
    me = Promise.resolve({ name: name, writable: true });
    document.querySelectorAll("[data-me-name]").forEach(function (element) {
      element.textContent = name || "Set your name";
    });
    document.querySelectorAll("[data-me-input]").forEach(function (input) { input.value = name || ""; });
  }

  /** Save `name` as this browser's display name (the server keeps it in a signed cookie). */
  function saveName(name) {
    return shared.send("PUT", "/api/me", { name: name }).then(function (answer) {
      showName(answer && answer.name ? answer.name : name);
      return answer;
    });
  }

  /** A promise settled once this teammate has a name: asked for in a small dialog the first time. */
  function ensureName() {
    return whoAmI().then(function (who) {
      if (who && who.name) return who.name;
      return askName();
    });
  }

  let asking = null;

  function askName() {
    if (asking) return asking;
    const dialog = document.createElement("dialog");
    dialog.className = "name-dialog";
    dialog.setAttribute("aria-labelledby", "name-dialog-title");
    const form = document.createElement("form");
    form.noValidate = true;
    const title = document.createElement("h2");
    title.id = "name-dialog-title";
    title.textContent = "What should your teammates call you?";
    const help = document.createElement("p");
    help.className = "help";
    help.id = "name-dialog-help";
    help.textContent = "Your name shows with your picks and comments. You can change it from the top of the page.";
    const label = document.createElement("label");
    label.htmlFor = "name-dialog-input";
    label.textContent = "Display name";
    const input = document.createElement("input");
    input.id = "name-dialog-input";
    input.name = "name";
    input.maxLength = NAME_MAX;
    input.autocomplete = "nickname";
    input.required = true;
    input.setAttribute("aria-describedby", "name-dialog-help name-dialog-error");
    const error = document.createElement("p");
    error.className = "form-error";
    error.id = "name-dialog-error";
    error.setAttribute("role", "alert");
    const bar = document.createElement("p");
    bar.className = "name-dialog__bar";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "button button--small";
    cancel.textContent = "Cancel";
    const save = document.createElement("button");
    save.type = "submit";
    save.className = "button button--small button--primary";
    save.textContent = "Save and continue";
    bar.append(cancel, save);
    form.append(title, help, label, input, error, bar);
    dialog.appendChild(form);
    document.body.appendChild(dialog);
    asking = new Promise(function (resolve, reject) {
      function finish(name) {
        dialog.close();
        dialog.remove();
        asking = null;
        if (name) resolve(name);
        else {
          const stop = new Error("");
          stop.cancelled = true;
          reject(stop);
        }
      }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        const name = input.value.trim();
        if (!name) {
          error.textContent = "Type a name (up to 40 characters).";
          input.setAttribute("aria-invalid", "true");
          input.focus();
          return;
        }
        save.disabled = true;
        saveName(name).then(function (answer) {
          finish((answer && answer.name) || name);
        }, function (failure) {
          save.disabled = false;
          error.textContent = failure.message;
          input.setAttribute("aria-invalid", "true");
          input.focus();
        });
      });
      cancel.addEventListener("click", function () { finish(null); });
      dialog.addEventListener("cancel", function (event) {
        event.preventDefault();
        finish(null);
      });
    });
    dialog.showModal();
    input.focus();
    return asking;
  }

  /** A write in this teammate's name: the name first when there is none yet, then the request. */
  shared.write = function (method, url, body) {
    return ensureName().then(function () { return shared.send(method, url, body); });
  };

  /** The header's name control: changed in place (the form posts to /me without the script). */
  function initHeader() {
    document.querySelectorAll("form[data-me-form]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        const input = form.querySelector("[data-me-input]");
        const error = form.querySelector(".form-error");
        const name = input.value.trim();
        if (!name) {
          if (error) error.textContent = "Type a name (up to 40 characters).";
          input.focus();
          return;
        }
        saveName(name).then(function () {
          if (error) error.textContent = "";
          const details = form.closest("details");
          if (details) {
            details.open = false;
            details.querySelector("summary").focus();
          }
          shared.announce("You show as " + name + ".");
        }, function (failure) {
          if (error) error.textContent = failure.message;
          input.focus();
        });
      });
    });
  }

  // ---- picks and comment counts on cards -------------------------------------------------------------------

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  function pickedBy(stats) {
    const names = stats.pickers || [];
    if (!stats.picks) return "";
    const shown = names.slice(0, 12).join(", ");
    const more = stats.picks - Math.min(names.length, 12);
    return "Picked by " + (shown || plural(stats.picks, "teammate")) + (shown && more > 0 ? " and " + more + " more" : "");
  }

  function readCard(card) {
    const star = card.querySelector(".card__star");
    return {
      picks: Number(card.dataset.picks) || 0,
      pickers: star && star.dataset.pickers ? JSON.parse(star.dataset.pickers) : null,
      mine: Boolean(star && star.getAttribute("aria-pressed") === "true"),
      comments: Number(card.dataset.comments) || 0,
    };
  }

  /** Write `stats` on a card (the server's, or one a script built): what it says last wins over `stats`. */
  function fillMarks(card, stats) {
    const key = card.dataset.key;
    const known = (key && marks.get(key)) || stats || {};
    const picks = Number(known.picks) || 0;
    const comments = Number(known.comments) || 0;
    const mine = Boolean(known.mine);
    if (card.dataset.picks !== String(picks)) card.dataset.picks = String(picks);
    if (card.dataset.comments !== String(comments)) card.dataset.comments = String(comments);
    const box = card.querySelector(".card__marks");
    if (!box) return;
    box.classList.toggle("has-picks", picks > 0);
    box.classList.toggle("has-comments", comments > 0);
    const star = box.querySelector(".card__star");
    if (star) {
      const said = pickedBy({ picks: picks, pickers: known.pickers });
      const count = star.querySelector(".card__star-count");
      if (count.textContent !== (picks ? String(picks) : "")) count.textContent = picks ? String(picks) : "";
      star.title = said || "Pick this image";
      if (star.tagName === "BUTTON") {
        star.setAttribute("aria-pressed", String(mine));
        star.setAttribute("aria-label", said ? "Pick (" + said + ")" : "Pick");
      } else {
        star.setAttribute("aria-label", said || "No picks");
        star.hidden = picks === 0;
      }
      if (known.pickers) star.dataset.pickers = JSON.stringify(known.pickers);
    }
    // The bubble exists only while there are comments: thousands of empty ones would weigh on the page.
    let bubble = box.querySelector(".card__comments");
    if (comments === 0) {
      if (bubble) bubble.remove();
      return;
    }
    if (!bubble) bubble = box.insertBefore(commentBubble(), box.firstChild);
    bubble.title = plural(comments, "comment");
    const count = bubble.querySelector(".card__comments-count");
    if (count.textContent !== String(comments)) count.textContent = String(comments);
  }

  /** An empty comment bubble, as the server draws one: "Comments: " for screen readers, then the count. */
  function commentBubble() {
    const bubble = document.createElement("span");
    bubble.className = "card__comments";
    const said = document.createElement("span");
    said.className = "visually-hidden";
    said.textContent = "Comments: ";
    const count = document.createElement("span");
    count.className = "card__comments-count";
    bubble.append(said, count);
    return bubble;
  }
  shared.fillMarks = fillMarks;

  function cardsOf(key) {
    const grid = shared.byId("grid");
    const found = grid ? Array.prototype.slice.call(grid.querySelectorAll('li[data-key="' + CSS.escape(key) + '"]')) : [];
    const open = shared.lightbox && shared.lightbox.current();
    if (open && open.dataset.key === key && found.indexOf(open) < 0) found.push(open);
    return found;
  }

  /** What is known of `key` now: the last word of the server, else what its card says. */
  function statsOf(key, card) {
    if (marks.has(key)) return marks.get(key);
    const cards = card ? [card] : cardsOf(key);
    return cards.length ? readCard(cards[0]) : { picks: 0, pickers: [], mine: false, comments: 0 };
  }

  /** Record and show new figures for images (`changes`: key → stats), on their cards and in the lightbox;
   * `heard`: they come from the server's activity (a comment may have been edited: the list is read again). */
  function apply(changes, heard) {
    const keys = Object.keys(changes);
    if (!keys.length) return;
    keys.forEach(function (key) {
      const before = marks.get(key) || {};
      const now = Object.assign({}, before, changes[key]);
      marks.set(key, now);
      cardsOf(key).forEach(function (card) { fillMarks(card, now); });
    });
    if (shared.marksChanged) shared.marksChanged(changes);
    const open = shared.lightbox && shared.lightbox.current();
    if (open && changes[open.dataset.key]) showLightboxMarks(open, heard);
  }

  function pick(key, on) {
    const before = statsOf(key);
    // Shown at once; the server's answer (or a refusal) puts it right.
    apply(guess(key, before, on));
    return shared.write(on ? "PUT" : "DELETE", "/api/picks/" + encodeURIComponent(key))
      .then(function (answer) {
        const change = {};
        change[key] = { picks: answer.count, pickers: answer.names, mine: answer.mine };
        apply(change);
        shared.announce(answer.mine ? "Picked. " + pickedBy(change[key]) + "." : "Pick taken back.");
        wake();
      })
      .catch(function (error) {
        const undo = {};
        undo[key] = before;
        apply(undo);
        if (!error.cancelled) shared.toast(error.message, "error");
      });
  }

  function guess(key, before, on) {
    const change = {};
    const picks = Math.max(0, (Number(before.picks) || 0) + (on === Boolean(before.mine) ? 0 : on ? 1 : -1));
    change[key] = { picks: picks, pickers: before.pickers, mine: on, comments: before.comments };
    return change;
  }

  // ---- the lightbox: picks and comments of the image on show ---------------------------------------------

  const lightbox = shared.byId("lightbox");
  const star = shared.byId("lightbox-star");
  const pickers = shared.byId("lightbox-pickers");
  const list = shared.byId("comments-list");
  const commentStatus = shared.byId("comments-status");
  const commentsTitle = shared.byId("comments-title");
  const form = shared.byId("comment-form");
  const body = shared.byId("comment-body");
  const counter = shared.byId("comment-count");
  const formError = shared.byId("comment-error");
  let shownKey = null;
  let loaded = { key: null, count: -1 }; // the comments in the list, and how many the server said there were
  let editing = 0; // comments being edited: a live update must not throw the edit away

  function showLightboxMarks(card, reread) {
    const key = card.dataset.key;
    const stats = statsOf(key, card);
    if (star) {
      star.setAttribute("aria-pressed", String(Boolean(stats.mine)));
      star.querySelector(".star__label").textContent = stats.mine ? "Picked" : "Pick";
    }
    if (pickers) {
      pickers.textContent = stats.picks ? pickedBy(stats) + "." : "No picks yet.";
    }
    if (commentsTitle) {
      commentsTitle.textContent = stats.comments ? "Comments (" + stats.comments + ")" : "Comments";
    }
    if (loaded.key === key && (reread || loaded.count !== Number(stats.comments)) && !editing) loadComments(key);
  }

  function relative(date) {
    const seconds = Math.round((Date.now() - date.getTime()) / 1000);
    if (seconds < 45) return "just now";
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return minutes + " min ago";
    const hours = Math.round(minutes / 60);
    if (hours < 24) return hours + " h ago";
    const days = Math.round(hours / 24);
    if (days === 1) return "yesterday";
    if (days < 7) return days + " days ago";
    return date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
  }

  function timeElement(iso, prefix) {
    const element = document.createElement("time");
    const date = new Date(iso);
    element.dateTime = iso;
    element.title = isNaN(date) ? iso : date.toLocaleString(undefined, { dateStyle: "full", timeStyle: "short" });
    element.textContent = (prefix || "") + (isNaN(date) ? iso : relative(date));
    return element;
  }

  /** `text` as nodes: plain text, and each http(s) address in it as a link that opens elsewhere. */
  function linked(text) {
    const nodes = [];
    let last = 0;
    text.replace(LINK, function (match, at) {
      const url = match.replace(TRAILING, "");
      let parsed = null;
      try {
        parsed = new URL(url);
      } catch (error) {
        parsed = null;
      }
      if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) return match;
      if (at > last) nodes.push(document.createTextNode(text.slice(last, at)));
      const anchor = document.createElement("a");
      anchor.href = parsed.href;
      anchor.textContent = url;
      anchor.rel = "nofollow noopener noreferrer ugc";
      anchor.target = "_blank";
      nodes.push(anchor);
      last = at + url.length;
      return match;
    });
    if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
    return nodes;
  }

  function commentItem(comment) {
    const item = document.createElement("li");
    item.className = "comment";
    item.dataset.id = String(comment.id);
    const head = document.createElement("p");
    head.className = "comment__head";
    const author = document.createElement("strong");
    author.className = "comment__author";
    author.textContent = comment.author;
    head.append(author, " ", timeElement(comment.created_at));
    if (comment.edited_at) {
      const edited = document.createElement("span");
      edited.className = "comment__edited";
      edited.append(" · ", timeElement(comment.edited_at, "edited "));
      head.appendChild(edited);
    }
    const text = document.createElement("p");
    text.className = "comment__body";
    text.append.apply(text, linked(comment.body));
    item.append(head, text);
    if (comment.mine && shared.writable) {
      const actions = document.createElement("p");
      actions.className = "comment__actions";
      actions.append(actionButton("Edit", "edit"), actionButton("Delete", "delete"));
      item.appendChild(actions);
    }
    item.comment = comment;
    return item;
  }

  function actionButton(label, action) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "comment__action";
    button.dataset.action = action;
    button.textContent = label;
    return button;
  }

  function renderComments(key, comments) {
    loaded = { key: key, count: comments.length };
    list.replaceChildren.apply(list, comments.map(commentItem));
    commentStatus.textContent = comments.length ? "" : "No comments yet." + (form ? " Be the first to say something." : "");
    commentStatus.hidden = comments.length > 0;
    const change = {};
    const known = statsOf(key);
    if (Number(known.comments) !== comments.length) {
      change[key] = Object.assign({}, known, { comments: comments.length });
      apply(change);
    }
  }

  function loadComments(key) {
    if (!list) return;
    if (loaded.key !== key) {
      list.replaceChildren();
      commentStatus.textContent = "Loading comments…";
      commentStatus.hidden = false;
    }
    loaded = { key: key, count: loaded.key === key ? loaded.count : -1 };
    fetch("/api/images/" + encodeURIComponent(key) + "/comments", {
      headers: { Accept: "application/json" }, cache: "no-store",
    })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (answer) {
        if (shownKey === key && !editing) renderComments(key, answer.comments);
      })
      .catch(function () {
        if (shownKey !== key) return;
        commentStatus.textContent = "The comments could not be loaded just now.";
        commentStatus.hidden = false;
      });
  }

  function countLabel() {
    const length = body.value.length;
    counter.textContent = length.toLocaleString("en") + " / " + COMMENT_MAX.toLocaleString("en");
    counter.classList.toggle("is-near", length > COMMENT_MAX * 0.9);
  }

  function initLightbox() {
    if (!lightbox) return;
    lightbox.addEventListener("lightboxshow", function (event) {
      const card = event.detail;
      const key = card.dataset.key;
      const changed = key !== shownKey;
      shownKey = key;
      if (changed) {
        editing = 0;
        if (formError) formError.hidden = true;
        loaded = { key: null, count: -1 };
      }
      showLightboxMarks(card);
      if (changed) loadComments(key);
    });
    if (star) {
      star.addEventListener("click", function () {
        if (shownKey) pick(shownKey, star.getAttribute("aria-pressed") !== "true");
      });
    }
    if (form) {
      body.addEventListener("input", countLabel);
      body.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          form.requestSubmit();
        }
      });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        const key = shownKey;
        const text = body.value.trim();
        formError.hidden = true;
        if (!text) {
          formError.textContent = "Write something first.";
          formError.hidden = false;
          body.focus();
          return;
        }
        if (text.length > COMMENT_MAX) {
          formError.textContent = "A comment is 2,000 characters at most.";
          formError.hidden = false;
          return;
        }
        const send = shared.byId("comment-send");
        send.disabled = true;
        shared.write("POST", "/api/images/" + encodeURIComponent(key) + "/comments", { body: text })
          .then(function (comment) {
            send.disabled = false;
            if (shownKey !== key) return;
            body.value = "";
            countLabel();
            list.appendChild(commentItem(comment));
            commentStatus.hidden = true;
            loaded.count += 1;
            const change = {};
            change[key] = Object.assign({}, statsOf(key), { comments: loaded.count });
            apply(change);
            shared.announce("Comment posted.");
            wake();
          })
          .catch(function (error) {
            send.disabled = false;
            if (error.cancelled) return;
            formError.textContent = error.message;
            formError.hidden = false;
            body.focus();
          });
      });
    }
    if (list) list.addEventListener("click", commentAction);
  }

  function commentAction(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const item = button.closest(".comment");
    const comment = item.comment;
    const key = shownKey;
    const action = button.dataset.action;
    if (action === "edit") startEdit(item);
    else if (action === "delete") askDelete(item);
    else if (action === "keep") item.replaceWith(commentItem(comment));
    else if (action === "confirm-delete") {
      button.disabled = true;
      shared.write("DELETE", "/api/comments/" + encodeURIComponent(comment.id))
        .then(function () {
          const next = item.nextElementSibling || item.previousElementSibling;
          item.remove();
          loaded.count = Math.max(0, loaded.count - 1);
          const change = {};
          change[key] = Object.assign({}, statsOf(key), { comments: loaded.count });
          apply(change);
          commentStatus.textContent = loaded.count ? "" : "No comments yet.";
          commentStatus.hidden = loaded.count > 0;
          const focus = (next && next.querySelector("button")) || body;
          if (focus) focus.focus();
          shared.announce("Comment deleted.");
          wake();
        })
        .catch(function (error) {
          button.disabled = false;
          if (!error.cancelled) shared.toast(error.message, "error");
        });
    }
  }

  function askDelete(item) {
    const actions = item.querySelector(".comment__actions");
    const question = document.createElement("span");
    question.className = "comment__question";
    question.textContent = "Delete this comment?";
    const yes = actionButton("Delete", "confirm-delete");
    yes.classList.add("comment__action--danger");
    actions.replaceChildren(question, yes, actionButton("Keep", "keep"));
    yes.focus();
  }

  function startEdit(item) {
    const comment = item.comment;
    const text = item.querySelector(".comment__body");
    const actions = item.querySelector(".comment__actions");
    const editor = document.createElement("form");
    editor.className = "comment-form comment-form--edit";
    editor.noValidate = true;
    const label = document.createElement("label");
    label.className = "visually-hidden";
    label.htmlFor = "comment-edit-" + comment.id;
    label.textContent = "Edit your comment";
    const area = document.createElement("textarea");
    area.id = "comment-edit-" + comment.id;
    area.rows = 3;
    area.maxLength = COMMENT_MAX;
    area.value = comment.body;
    const bar = document.createElement("div");
    bar.className = "comment-form__bar";
    const hint = document.createElement("p");
    hint.className = "comment-form__count";
    hint.textContent = "Esc to cancel";
    const save = document.createElement("button");
    save.type = "submit";
    save.className = "button button--small button--primary";
    save.textContent = "Save";
    const error = document.createElement("p");
    error.className = "form-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    bar.append(hint, save);
    editor.append(label, area, bar, error);
    text.replaceWith(editor);
    actions.hidden = true;
    editing += 1;
    area.focus();
    let done = false;

    function finish(updated) {
      if (done) return;
      done = true;
      editing = Math.max(0, editing - 1);
      const fresh = commentItem(updated || comment);
      item.replaceWith(fresh);
      const edit = fresh.querySelector('[data-action="edit"]');
      if (edit) edit.focus();
    }

    area.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation(); // the edit, not the lightbox
        finish(null);
        shared.announce("Edit cancelled.");
      } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        editor.requestSubmit();
      }
    });
    editor.addEventListener("submit", function (event) {
      event.preventDefault();
      const value = area.value.trim();
      if (!value) {
        error.textContent = "A comment cannot be empty: delete it instead.";
        error.hidden = false;
        return;
      }
      if (value === comment.body) {
        finish(null);
        return;
      }
      save.disabled = true;
      shared.write("PATCH", "/api/comments/" + encodeURIComponent(comment.id), { body: value })
        .then(function (updated) {
          finish(updated);
          shared.announce("Comment saved.");
        })
        .catch(function (failure) {
          save.disabled = false;
          if (failure.cancelled) return;
          error.textContent = failure.message;
          error.hidden = false;
          area.focus();
        });
    });
  }

  // ---- live: what others picked and said, polled -------------------------------------------------------

  let since = null;
  let delay = POLL_FIRST_MS;
  let first = POLL_FIRST_MS;
  let timer = 0;
  let polling = false;

  /** The tasks of the page's images: every one in the list, or those in the page when the list is long. */
  function refs() {
    const grid = shared.byId("grid");
    let ids = [];
    const list = shared.list;
    if (list && list.entries) {
      ids = list.entries().map(function (entry) { return entry.taskId; });
    } else if (grid) {
      ids = Array.prototype.map.call(grid.children, function (card) { return card.dataset.task; });
    }
    ids = Array.from(new Set(ids.filter(Boolean)));
    if (ids.length > MOST_REFS && grid) {
      ids = Array.from(new Set(Array.prototype.map.call(grid.children, function (card) { return card.dataset.task; })));
    }
    const open = shared.lightbox && shared.lightbox.current();
    if (open && ids.indexOf(open.dataset.task) < 0) ids.push(open.dataset.task);
    return ids;
  }

  function schedule(wait) {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, wait);
  }

  /** Something happened here: look again soon (others often answer a pick or a comment). */
  function wake() {
    delay = first;
    if (!polling) schedule(delay);
  }

  function poll() {
    if (document.hidden) {
      shared.whenVisible(function () {
        delay = first;
        poll();
      });
      return;
    }
    const ids = refs();
    if (!ids.length) {
      schedule(delay);
      return;
    }
    polling = true;
    const parts = [];
    for (let n = 0; n < ids.length; n += REFS_PER_POLL) parts.push(ids.slice(n, n + REFS_PER_POLL));
    const asked = since;
    Promise.all(parts.map(function (part) {
      const url = new URL("/api/activity", window.location.href);
      url.searchParams.set("refs", part.join(","));
      if (asked !== null) url.searchParams.set("since", asked);
      return fetch(url.pathname + url.search.replace(/%2C/gi, ","), {
        headers: { Accept: "application/json" }, cache: "no-store",
      }).then(function (response) {
        if (!response.ok) {
          const after = Number(response.headers.get("Retry-After"));
          if (Number.isFinite(after) && after > 0) delay = Math.max(delay, Math.min(after * 1000, 60000));
          throw new Error("status " + response.status);
        }
        return response.json();
      });
    }))
      .then(function (answers) {
        polling = false;
        const changes = {};
        answers.forEach(function (answer) { Object.assign(changes, answer.images || {}); });
        if (answers.length && answers[0].since !== undefined && answers[0].since !== null) since = answers[0].since;
        // The first answer is what the page was drawn with, mostly; after it, every image named has news (an
        // edited comment changes no count).
        const fresh = Object.keys(changes).filter(function (key) { return asked !== null || differs(key, changes[key]); });
        const news = {};
        fresh.forEach(function (key) { news[key] = changes[key]; });
        apply(news, asked !== null);
        if (asked !== null && fresh.length) {
          shared.announce(summary(news));
          delay = first;
        } else {
          delay = Math.min(POLL_MAX_MS, delay * POLL_GROWTH);
        }
        schedule(delay);
      })
      .catch(function () {
        polling = false;
        delay = Math.min(POLL_MAX_MS, delay * POLL_GROWTH);
        schedule(delay);
      });
  }

  function differs(key, stats) {
    const known = statsOf(key);
    return Number(known.picks) !== Number(stats.picks) || Number(known.comments) !== Number(stats.comments) ||
      Boolean(known.mine) !== Boolean(stats.mine) ||
      JSON.stringify(known.pickers || []) !== JSON.stringify(stats.pickers || []);
  }

  function summary(news) {
    const n = Object.keys(news).length;
    return "New picks or comments on " + plural(n, "image") + ".";
  }

  // ---- start -------------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", initHeader);
  shared.ready.push(function (grid) {
    first = delay = Number(grid.dataset.pollMs) > 0 ? Number(grid.dataset.pollMs) : POLL_FIRST_MS;
    grid.addEventListener("click", function (event) {
      const button = event.target.closest("button.card__star");
      if (!button) return;
      event.preventDefault();
      const key = button.closest("li").dataset.key;
      pick(key, button.getAttribute("aria-pressed") !== "true");
    });
    // Cards pager.js builds or puts back carry what the JSON said when their page came: bring them up to date.
    grid.addEventListener("cardsadded", function (event) {
      event.detail.forEach(function (card) {
        if (card.dataset.key && marks.has(card.dataset.key)) fillMarks(card);
      });
    });
    initLightbox();
    // A one-image link opened the lightbox before this script was ready: fill it in now.
    const open = shared.lightbox && shared.lightbox.current();
    if (open && lightbox) lightbox.dispatchEvent(new CustomEvent("lightboxshow", { detail: open }));
    if (!("static" in grid.dataset)) schedule(delay);
  });
  shared.team = { apply: apply, wake: wake, ensureName: ensureName };
})();
