// fxmsg's pages, live: a page region marked `data-events` follows that event stream and, on
// every event that concerns it, reloads its HTML from `data-fragment` (rendered and escaped by
// the server). No message content is ever built into HTML here.
"use strict";

(function () {
  const region = document.querySelector("[data-events]");
  if (!region) {
    return;
  }
  const target = document.getElementById(region.dataset.target);
  const only = region.dataset.message;
  let loading = false;
  let again = false;

  async function reload() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      do {
        again = false;
        const response = await fetch(region.dataset.fragment, {
          headers: { accept: "text/html" },
          cache: "no-store",
          credentials: "same-origin",
        });
        if (response.ok) {
          target.innerHTML = await response.text();
          region.dataset.version = String(Number(region.dataset.version || "0") + 1);
        }
      } while (again);
    } finally {
      loading = false;
    }
  }

  function concerns(event) {
    if (!only) {
      return true;
    }
    try {
      return JSON.parse(event.data).messageId === only;
    } catch (_) {
      return true;
    }
  }

  const live = document.getElementById("live");
  const source = new EventSource(region.dataset.events);
  // `open` is both the browser's "connected" and fxmsg's first event: either way, what was
  // missed while disconnected is fetched again.
  source.addEventListener("open", function () {
    if (live) {
      live.hidden = false;
    }
    document.body.dataset.live = "on";
    reload();
  });
  source.addEventListener("error", function () {
    if (live) {
      live.hidden = true;
    }
    document.body.dataset.live = "off";
  });
  for (const kind of ["message", "revoke", "read", "reset"]) {
    source.addEventListener(kind, function (event) {
      if (kind === "reset" || concerns(event)) {
        reload();
      }
    });
  }

  const markRead = region.dataset.markRead;
  if (markRead) {
    fetch(markRead, { method: "POST", credentials: "same-origin" }).then(reload);
  }
})();
