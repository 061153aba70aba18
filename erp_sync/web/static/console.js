// erp-sync console: the viewer's local time beside each server time, the JSON API called with the session
// (CSRF token in X-CSRF-Token), a running run's progress refreshed in place, and a run's row errors and
// conflicts read from GET /api/runs/{id}/errors and /conflicts when opened. No build step, no library.
"use strict";

const Console = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  async function api(method, url, body) {
    const options = {method, credentials: "same-origin", headers: {"Accept": "application/json"}};
    if (method !== "GET") options.headers["X-CSRF-Token"] = csrf();
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    if (response.status === 401) {  // the session ended (idle timeout, new admin token): sign in again
      window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
    }
    let payload;
    try {
      payload = await response.json();
    } catch (_) {
      payload = {success: false, error: {code: "INTERNAL_ERROR", message: `the server answered ${response.status}`}};
    }
    return payload;
  }

  const localFormat = new Intl.DateTimeFormat(undefined, {weekday: "short", day: "numeric", month: "short",
                                                         hour: "2-digit", minute: "2-digit"});
  const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  function addLocalTimes(root) {
    root.querySelectorAll("time[data-local]").forEach((node) => {
      if (node.nextElementSibling && node.nextElementSibling.classList.contains("local-time")) return;
      const span = document.createElement("span");
      span.className = "local-time";
      span.textContent = ` · ${localFormat.format(new Date(node.getAttribute("datetime")))} your time`;
      span.title = localZone;
      node.after(span);
    });
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  return {api, addLocalTimes, el};
})();

// A running run: ask GET /api/runs/{id} every second, update its counts in place, reload when it ends.
function followLiveRuns() {
  document.querySelectorAll("tbody.run[data-live]").forEach((row) => {
    const url = `/api/runs/${row.dataset.run}`;
    const tick = async () => {
      const answer = await Console.api("GET", url);
      if (!answer.success) return;
      const run = answer.data;
      Object.entries(run.counts).forEach(([name, value]) => {
        const cell = row.querySelector(`[data-count="${name}"]`);
        if (cell) cell.textContent = value.toLocaleString("en");
      });
      if (run.status !== "running" && run.status !== "claimed") {
        window.location.reload();
        return;
      }
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 700);
  });
}

// A run's row errors or conflicts, paged 20 at a time, read when their <details> opens.
function findingsTable(kind, items) {
  const table = Console.el("table", null, "findings-table");
  const head = kind === "errors" ? ["ERP key", "Field", "Code", "Reason"] : ["ERP key", "Local key", "Policy", "Resolution"];
  const tr = Console.el("tr");
  head.forEach((name) => { const th = Console.el("th", name); th.scope = "col"; tr.append(th); });
  table.append(Console.el("thead"));
  table.tHead.append(tr);
  const body = Console.el("tbody");
  items.forEach((item) => {
    const row = Console.el("tr");
    const cells = kind === "errors" ? [item.erpKey, item.field, item.code, item.reason]
                                    : [item.erpKey, item.localKey, item.policy, item.resolution];
    cells.forEach((value) => row.append(Console.el("td", value === null ? "–" : value)));
    body.append(row);
  });
  table.append(body);
  return table;
}

function loadFindings(details, offset) {
  const box = details.querySelector(".findings-body");
  Console.api("GET", `${details.dataset.url}?limit=20&offset=${offset}`).then((answer) => {
    if (!answer.success) {
      box.replaceChildren(Console.el("p", answer.error.message, "field-error"));
      return;
    }
    const {items, total} = answer.data;
    box.querySelector(".more")?.remove();
    box.append(findingsTable(details.dataset.kind, items));
    if (offset + items.length < total) {
      const more = Console.el("button", `Show more (${total - offset - items.length} left)`, "more");
      more.type = "button";
      more.addEventListener("click", () => loadFindings(details, offset + items.length));
      box.append(more);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  Console.addLocalTimes(document);
  followLiveRuns();
  document.querySelectorAll("details.findings").forEach((details) => {
    details.addEventListener("toggle", () => {
      if (details.open && !details.dataset.loaded) {
        details.dataset.loaded = "1";
        loadFindings(details, 0);
      }
    });
  });
});
