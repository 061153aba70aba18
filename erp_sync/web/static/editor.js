// erp-sync console editor: builds the integration's JSON from the form and saves it through the JSON API
// (POST /api/integrations or PATCH /api/integrations/{id}), so every rule is the API's own; shows each validation
// error beside the field its error.field names. "Test connection" lists the ERP's objects and an object's fields
// (POST /api/connections/test); the schedule's description and next five runs follow the typing
// (POST /api/schedule/preview).
"use strict";

(() => {
  const form = document.getElementById("editor");
  if (!form) return;
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const mappingBody = $("#mapping-body");
  let tested = false;

  // -- the form as JSON ----------------------------------------------------------------------------------------

  function setPath(target, path, value) {
    const parts = path.split(".");
    let node = target;
    parts.slice(0, -1).forEach((part) => { node = node[part] = node[part] || {}; });
    node[parts[parts.length - 1]] = value;
  }

  function valueOf(input) {
    const kind = input.dataset.kind;
    const raw = input.value.trim();
    if (kind === "bool") return input.checked;
    if (kind === "secret") return raw === "" ? undefined : input.value;
    if (kind === "nullable") return raw === "" ? null : raw;
    if (kind === "number") return raw === "" ? undefined : (Number.isNaN(Number(raw)) ? raw : Number(raw));
    return raw;
  }

  function collect() {
    const spec = {};
    $$("[data-path]", form).forEach((input) => {
      if (input.closest("fieldset[disabled]")) return;
      const value = valueOf(input);
      if (value !== undefined) setPath(spec, input.dataset.path, value);
    });
    const rows = $$(".mapping-row", mappingBody);
    spec.mappings = rows.map((row) => ({
      source: $('[data-m="source"]', row).value.trim(), target: $('[data-m="target"]', row).value.trim(),
      type: $('[data-m="type"]', row).value, readOnly: $('[data-m="readOnly"]', row).checked,
    }));
    spec.keys = rows.filter((row) => $('[data-m="key"]', row).checked)
                    .map((row) => $('[data-m="target"]', row).value.trim());
    if (spec.connector === "soap") soapSource(spec.source);
    return spec;
  }

  // A SOAP source reads no SoftOne list or mode, and its filters are {field, criteria} pairs ("No=C*; Blocked=<>Yes").
  function soapSource(source) {
    delete source.list;
    delete source.mode;
    source.filters = String(source.filters || "").split(/[;\n]/).map((part) => part.trim()).filter(Boolean)
      .map((part) => {
        const at = part.indexOf("=");
        return at < 0 ? {field: part, criteria: ""} : {field: part.slice(0, at).trim(), criteria: part.slice(at + 1).trim()};
      });
  }

  // -- errors beside their fields ------------------------------------------------------------------------------

  function clearErrors() {
    $("#form-error").hidden = true;
    $$(".field-error").forEach((node) => { node.hidden = true; node.textContent = ""; });
    $$("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  }

  function slotFor(field) {
    const mapping = /^mappings\[(\d+)\]\.?(\w*)/.exec(field);
    if (mapping) {
      const row = $$(".mapping-row", mappingBody)[Number(mapping[1])];
      const slot = row && $(`[data-m-error="${mapping[2] || "source"}"]`, row);
      if (slot) return slot;
      return $('[data-error-for="mappings"]');
    }
    if (/^keys/.test(field)) return $('[data-error-for="keys"]');
    let path = field;
    while (path) {
      const slot = $$(`[data-error-for="${CSS.escape(path)}"]`).find((node) => !node.closest("fieldset[disabled]"));
      if (slot) return slot;
      path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
    }
    return null;
  }

  function showError(error) {
    const slot = error.field ? slotFor(error.field) : null;
    const banner = $("#form-error");
    banner.hidden = false;
    banner.textContent = slot ? `Not saved: ${error.code}. See the message beside the field.` : `${error.code}: ${error.message}`;
    if (!slot) return;
    slot.hidden = false;
    slot.textContent = error.message;
    const input = slot.parentElement.querySelector("input, select");
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  // -- the mapping rows ----------------------------------------------------------------------------------------

  function addRow(mapping, isKey) {
    const row = $("#mapping-row").content.firstElementChild.cloneNode(true);
    const index = $$(".mapping-row", mappingBody).length;
    $$("[data-m]", row).forEach((input) => {
      input.id = `m${index}-${input.dataset.m}`;
      $(`label[data-for="${input.dataset.m}"]`, row).htmlFor = input.id;
      $(`label[data-for="${input.dataset.m}"]`, row).textContent += ` (row ${index + 1})`;
    });
    $('[data-m="source"]', row).value = mapping.source || "";
    $('[data-m="target"]', row).value = mapping.target || "";
    $('[data-m="type"]', row).value = mapping.type || "string";
    $('[data-m="readOnly"]', row).checked = Boolean(mapping.readOnly);
    $('[data-m="key"]', row).checked = Boolean(isKey);
    $(".remove-row", row).setAttribute("aria-label", `Remove row ${index + 1}`);
    $(".remove-row", row).addEventListener("click", () => row.remove());
    mappingBody.append(row);
    return row;
  }

  const TYPES = [[/int/i, "integer"], [/float|double|numeric|decimal|currency|money/i, "decimal"],
                 [/datetime|timestamp/i, "datetime"], [/date/i, "date"], [/bool|logical/i, "boolean"]];
  const mappingType = (erpType) => (TYPES.find(([pattern]) => pattern.test(erpType || "")) || [null, "string"])[1];

  // -- connection test and discovery ---------------------------------------------------------------------------

  function connectionRequest(objectName) {
    const spec = collect();
    const savedTest = form.dataset.savedTestUrl;
    if (savedTest && !spec.connection.password) return [savedTest, {object: objectName || undefined}];
    return [form.dataset.testUrl, {connector: spec.connector, connection: spec.connection, object: objectName || undefined}];
  }

  async function testConnection() {
    clearErrors();
    const result = $("#test-result");
    result.className = "test-result";
    result.textContent = "Connecting…";
    const [url, body] = connectionRequest(null);
    const answer = await Console.api("POST", url, body);
    if (!answer.success) {
      tested = false;
      result.className = "test-result bad-text";
      result.textContent = "";
      showError(answer.error);
      result.textContent = `Failed: ${answer.error.message}`;
      return;
    }
    tested = true;
    const data = answer.data;
    result.className = "test-result ok-text";
    result.textContent = `Connected to ${data.company || "the ERP"}${data.serverVersion ? ` (version ${data.serverVersion})` : ""}: ${data.objectCount} objects.`;
    $("#erp-objects").replaceChildren(...data.objects.map((o) => {
      const option = document.createElement("option");
      option.value = o.name;
      option.label = `${o.name} — ${o.caption || o.type || ""}`;
      return option;
    }));
    const objectInput = $("#f-source-object");
    if (objectInput.value.trim()) loadFields(objectInput.value.trim());
    else objectInput.focus();
  }

  let fieldsOf = null;  // the object whose fields are listed (or being fetched): asked once, ticks kept

  async function loadFields(objectName) {
    if (objectName === fieldsOf) return;
    fieldsOf = objectName;
    const [url, body] = connectionRequest(objectName);
    const answer = await Console.api("POST", url, body);
    if (!answer.success) {
      fieldsOf = null;
      showError({...answer.error, field: "source.object"});
      return;
    }
    const fields = answer.data.fields || [];
    $("#fields-object").textContent = objectName;
    $("#erp-fields").replaceChildren(...fields.map((f) => {
      const option = document.createElement("option");
      option.value = f.fullname || f.name;
      option.label = f.caption || "";
      return option;
    }));
    $("#fields-body").replaceChildren(...fields.map((f) => {
      const row = document.createElement("tr");
      const name = f.fullname || f.name;
      row.dataset.search = `${name} ${f.caption || ""}`.toLowerCase();
      const tick = document.createElement("input");
      tick.type = "checkbox";
      tick.value = name;
      tick.dataset.name = f.name;
      tick.dataset.type = f.type || "";
      tick.setAttribute("aria-label", `Add ${name}`);
      const cell = document.createElement("td");
      cell.append(tick);
      row.append(cell, Console.el("td", name, "mono"), Console.el("td", f.caption || ""), Console.el("td", f.type || ""));
      return row;
    }));
    $("#discovery").hidden = false;
  }

  function addTickedFields() {
    $$(".mapping-row", mappingBody).forEach((row) => {
      const blank = ["source", "target"].every((name) => !$(`[data-m="${name}"]`, row).value.trim());
      if (blank) row.remove();
    });
    const mapped = new Set($$('.mapping-row [data-m="source"]', mappingBody).map((input) => input.value));
    let first = null;
    $$("#fields-body input:checked").forEach((tick) => {
      if (!mapped.has(tick.value)) {
        const row = addRow({source: tick.value, target: tick.dataset.name.toLowerCase(), type: mappingType(tick.dataset.type)}, false);
        first = first || row;
      }
      tick.checked = false;
    });
    if (first) $('[data-m="target"]', first).focus();
  }

  // -- the schedule preview ------------------------------------------------------------------------------------

  let previewTimer = null;
  let previewAsked = 0;

  function zoneFormat(zone) {
    try {
      return new Intl.DateTimeFormat("en-GB", {timeZone: zone, weekday: "short", day: "numeric", month: "short",
                                               year: "numeric", hour: "2-digit", minute: "2-digit"});
    } catch (_) {
      return null;
    }
  }

  async function preview() {
    const asked = ++previewAsked;
    const cron = $("#f-schedule-cronExpression");
    const zone = $("#f-schedule-timezone");
    const answer = await Console.api("POST", form.dataset.previewUrl,
                                     {cronExpression: cron.value, timezone: zone.value.trim() || "UTC", count: 5});
    if (asked !== previewAsked) return;  // a later keystroke asked again
    $$('[data-error-for^="schedule."]').forEach((slot) => { slot.hidden = true; });
    [cron, zone].forEach((input) => input.removeAttribute("aria-invalid"));
    const list = $("#schedule-next");
    if (!answer.success) {
      $("#schedule-description").textContent = "";
      list.replaceChildren();
      const slot = slotFor(answer.error.field || "schedule.cronExpression");
      if (slot) {
        slot.hidden = false;
        slot.textContent = answer.error.message;
        slot.parentElement.querySelector("input").setAttribute("aria-invalid", "true");
      }
      return;
    }
    const data = answer.data;
    const format = zoneFormat(data.timezone);
    $("#schedule-description").textContent = data.description;
    list.replaceChildren(...data.nextRuns.map((run) => {
      const item = document.createElement("li");
      item.dataset.utc = run.utc;
      const time = document.createElement("time");
      time.setAttribute("datetime", run.utc);
      time.dataset.local = "";
      time.textContent = `${format ? format.format(new Date(run.utc)) : run.local} (${data.timezone})`;
      item.append(time);
      return item;
    }));
    Console.addLocalTimes(list);
  }

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 250);
  }

  // -- saving --------------------------------------------------------------------------------------------------

  async function save(event) {
    event.preventDefault();
    clearErrors();
    const button = $("#save");
    button.disabled = true;
    const answer = await Console.api(form.dataset.mode === "edit" ? "PATCH" : "POST", form.dataset.saveUrl, collect());
    button.disabled = false;
    if (answer.success) {
      window.location.assign(form.dataset.doneUrl.replace("{id}", answer.data.id));
      return;
    }
    showError(answer.error);
  }

  // -- wiring --------------------------------------------------------------------------------------------------

  function showConnector() {
    const chosen = $("#f-connector").value;
    form.classList.toggle("soap", chosen === "soap");
    $$("fieldset.connector").forEach((set) => {
      const on = set.dataset.connector === chosen;
      set.hidden = !on;
      set.disabled = !on;
    });
  }

  function showDirection() {
    form.classList.toggle("two-way", $("#f-direction").value === "two_way");
  }

  const initial = JSON.parse($("#initial-mapping").textContent);
  initial.mappings.forEach((m) => addRow(m, initial.keys.includes(m.target)));
  if (!initial.mappings.length) addRow({}, false);
  showConnector();
  showDirection();
  $("#f-connector").addEventListener("change", showConnector);
  $("#f-direction").addEventListener("change", showDirection);
  $("#test-connection").addEventListener("click", testConnection);
  $("#f-source-object").addEventListener("change", (event) => {
    if (tested && event.target.value.trim()) loadFields(event.target.value.trim());
  });
  $("#add-fields").addEventListener("click", addTickedFields);
  $("#add-row").addEventListener("click", () => $('[data-m="source"]', addRow({}, false)).focus());
  $("#field-filter").addEventListener("input", (event) => {
    const needle = event.target.value.trim().toLowerCase();
    $$("#fields-body tr").forEach((row) => { row.hidden = needle !== "" && !row.dataset.search.includes(needle); });
  });
  $("#f-schedule-cronExpression").addEventListener("input", schedulePreview);
  $("#f-schedule-timezone").addEventListener("input", schedulePreview);
  form.addEventListener("submit", save);
  preview();
})();
