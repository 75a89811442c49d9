// claimstance page. Classify mode: send the text to /classify and highlight each claim by label.
// Compare mode: send several outlets' articles to /compare and show claim groups x outlets.
// User text only ever reaches the page through textContent and attributes, never innerHTML.
"use strict";

// The label names and their order come from the API, never from this file: /model's
// "labels" once it answers, else the score keys of the first labelled claim.
let LABELS = [];
// An article separator: a line holding only ---.
const SEPARATOR = /^[ \t]*---[ \t]*$/m;
// An optional first line naming a pasted article's outlet.
const ID_LINE = /^[ \t]*id:[ \t]*(.*)$/i;
// Characters of a claim shown in a story-table cell; the full text is in the hover title.
const CELL_CHARS = 120;
// Where the page keeps the API key its user typed: this tab only, gone when it closes.
const KEY_STORAGE = "claimstance-api-key";
// The serving model's version (/model), sent with each correction so it names its model.
let MODEL_VERSION = "";

const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

function showError(message, boxId = "error") {
  const box = $(boxId);
  box.textContent = message;
  box.hidden = false;
  // The box sits under a tall text area: bring it into view so the error is not missed.
  box.scrollIntoView({ block: "nearest" });
}

function clearError(boxId = "error") {
  $(boxId).textContent = "";
  $(boxId).hidden = true;
}

// The API's error bodies carry a sentence in "detail"; anything else is shown as it came.
async function errorMessage(response) {
  const prefix = `Error ${response.status}${response.statusText ? " " + response.statusText : ""}`;
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return `${prefix}: ${body.detail}`;
    return `${prefix}: ${JSON.stringify(body.detail ?? body)}`;
  } catch {
    return prefix;
  }
}

// --- API key: the page is open to all, the API behind it may need a key --------------

function storedKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

function askForKey(message) {
  $("key-message").textContent = message;
  $("key-form").hidden = false;
  $("api-key").focus();
}

// fetch with the stored key; a 401 opens the key form.
async function apiFetch(url, options = {}) {
  const headers = new Headers(options.headers || {});
  const key = storedKey();
  if (key) headers.set("X-API-Key", key);
  const response = await fetch(url, { ...options, headers });
  if (response.status === 401) {
    askForKey(key ? "That API key was refused: enter a valid one." : "This service needs an API key.");
  }
  return response;
}

function saveKey(event) {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key) return;
  try {
    sessionStorage.setItem(KEY_STORAGE, key);
  } catch {
    // Storage may be off; the key then lasts as long as the input keeps it.
  }
  $("api-key").value = "";
  $("key-form").hidden = true;
  loadModelInfo();
}

function learnLabels(claims) {
  if (LABELS.length > 0 || claims.length === 0) return;
  LABELS = Object.keys(claims[0].scores);
  renderLegend();
}

function renderLegend() {
  const legend = $("legend");
  legend.replaceChildren();
  for (const label of LABELS) {
    const item = el("li", { "data-label": label });
    item.append(el("span", { class: `swatch label-${label}`, "aria-hidden": "true" }), label);
    legend.append(item);
  }
}

function percent(value) {
  return `${(100 * value).toFixed(1)}%`;
}

// Code points, not UTF-16 units, so an emoji is never cut in half.
function truncate(text, limit) {
  const chars = Array.from(text);
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join("")}…`;
}

function scoresTitle(claim) {
  const ordered = LABELS.filter((label) => label in claim.scores);
  return ordered.map((label) => `${label}: ${percent(claim.scores[label])}`).join("  ·  ");
}

function countLabels(claims, counts) {
  for (const claim of claims) counts[claim.label] = (counts[claim.label] ?? 0) + 1;
  return counts;
}

function zeroCounts() {
  return Object.fromEntries(LABELS.map((label) => [label, 0]));
}

// A claim's words with its source and cue wrapped in spans of their own (the cue highlighted).
// Offsets, like the claim's, are code points into the cleaned text.
function claimWords(chars, claim) {
  const parts = [];
  let cursor = claim.start;
  const spans = [
    [claim.source, "source"],
    [claim.cue, "cue"],
  ]
    .filter(([span]) => span && span.start >= claim.start && span.end <= claim.end)
    .sort(([a], [b]) => a.start - b.start);
  for (const [span, kind] of spans) {
    if (span.start < cursor) continue; // source and cue never overlap; never garble text
    parts.push(chars.slice(cursor, span.start).join(""));
    parts.push(el("span", { class: kind }, chars.slice(span.start, span.end).join("")));
    cursor = span.end;
  }
  parts.push(chars.slice(cursor, claim.end).join(""));
  return parts;
}

// The line under a claim: who makes its move and the words attributing it.
function attributionLine(claim) {
  const line = el("span", { class: "attribution" });
  if (!claim.source || !claim.cue) {
    line.classList.add("none");
    line.textContent = "no source named in the sentence";
    return line;
  }
  line.append(
    el("span", { class: "attribution-source", "data-kind": claim.source.kind }, claim.source.text),
    ` (${claim.source.kind}) · `,
    el("span", { class: "attribution-cue" }, claim.cue.text),
  );
  return line;
}

// Text between claims after an attribution line: that line already ends one, so a space
// between sentences goes and a paragraph break becomes one blank line.
function gapAfterLine(gap) {
  const trimmed = gap.replace(/^\s+/, "");
  return /^\s*\n/.test(gap) ? `\n${trimmed}` : trimmed;
}

// The server's offsets count Unicode code points, JavaScript strings count UTF-16 units:
// slicing an array of code points keeps highlights exact after emoji and other astral characters.
function renderText(text, claims) {
  const chars = Array.from(text);
  const container = el("div", { class: "article-text" });
  let cursor = 0;
  for (const claim of [...claims].sort((a, b) => a.start - b.start)) {
    if (claim.start < cursor) continue; // overlapping spans are not expected; never garble text
    const gap = chars.slice(cursor, claim.start).join("");
    container.append(document.createTextNode(cursor > 0 ? gapAfterLine(gap) : gap));
    const mark = el("mark", {
      class: `claim label-${claim.label}`,
      "data-label": claim.label,
      title: `${claim.label}\n${scoresTitle(claim)}\n(click to correct the label)`,
      tabindex: "0",
      role: "button",
    });
    mark.append(...claimWords(chars, claim));
    mark.addEventListener("click", () => openCorrection(mark));
    mark.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        openCorrection(mark);
      }
    });
    container.append(mark, attributionLine(claim));
    cursor = claim.end;
  }
  const rest = chars.slice(cursor).join("");
  container.append(document.createTextNode(cursor > 0 ? gapAfterLine(rest) : rest));
  return container;
}

function renderCounts(list, counts) {
  list.replaceChildren();
  for (const label of LABELS) {
    const item = el("li", { "data-label": label });
    item.append(
      el("span", { class: `swatch label-${label}`, "aria-hidden": "true" }),
      `${label}: `,
      el("span", { class: "count" }, String(counts[label] ?? 0)),
    );
    list.append(item);
  }
}

function renderResults(response) {
  learnLabels(response.results.flatMap((result) => result.claims));
  const results = $("results");
  // The correction form and its status live under an article while in use: keep them.
  $("classify-output").append($("feedback-form"), $("feedback-status"));
  $("feedback-form").hidden = true;
  $("feedback-status").textContent = "";
  results.replaceChildren();
  const total = zeroCounts();
  response.results.forEach((result, index) => {
    const counts = countLabels(result.claims, zeroCounts());
    countLabels(result.claims, total);
    const section = el("section", { class: "article", "data-index": String(index) });
    const summary = LABELS.map((label) => `${label} ${counts[label]}`).join(", ");
    const noun = result.claims.length === 1 ? "claim" : "claims";
    section.append(el("h2", {}, `Text ${index + 1}: ${result.claims.length} ${noun} (${summary})`));
    if (result.claims.length === 0) {
      section.append(el("p", { class: "no-claims" }, "No claims found in this text."));
    }
    section.append(renderText(result.text, result.claims));
    results.append(section);
  });
  renderCounts($("counts"), total);
  $("summary").hidden = false;
}

// --- corrections: a claim's label, set right by the reader, sent to /feedback ---------------

// The claim being corrected; the form sits under its article.
let correcting = null;

function openCorrection(mark) {
  correcting = mark;
  const form = $("feedback-form");
  clearError("feedback-error");
  $("feedback-status").textContent = "";
  $("feedback-claim").textContent = mark.textContent;
  $("feedback-given").textContent = mark.dataset.label;
  const select = $("feedback-label");
  select.replaceChildren(...LABELS.map((label) => el("option", { value: label }, label)));
  // The likeliest correction is another label than the model's: start on the first other one.
  select.value = LABELS.find((label) => label !== mark.dataset.label) ?? mark.dataset.label;
  $("feedback-note").value = "";
  mark.closest("section.article").append(form);
  form.hidden = false;
  select.focus();
}

function closeCorrection() {
  $("feedback-form").hidden = true;
  if (correcting) correcting.focus();
  correcting = null;
}

async function sendCorrection(event) {
  event.preventDefault();
  if (!correcting) return;
  clearError("feedback-error");
  const mark = correcting;
  const body = {
    text: mark.textContent,
    model_label: mark.dataset.label,
    correct_label: $("feedback-label").value,
    note: $("feedback-note").value.trim(),
    model_version: MODEL_VERSION,
  };
  const answer = await postJson("/feedback", body, $("feedback-button"), "Sending…", "feedback-error");
  if (!answer) return;
  mark.dataset.corrected = body.correct_label;
  mark.classList.add("corrected");
  mark.title = `${mark.dataset.label}, corrected to ${body.correct_label}\n${mark.title}`;
  $("feedback-form").hidden = true;
  const status = $("feedback-status");
  status.textContent = answer.created
    ? `Correction saved: the model said ${body.model_label}, you said ${body.correct_label}.`
    : "This correction was already saved.";
  mark.closest("section.article").append(status);
  correcting = null;
}

// POST a JSON body with the button showing progress; the parsed answer, or null after
// showing the error in errorBox.
async function postJson(url, body, button, busyText, errorBox) {
  const idleText = button.textContent;
  button.disabled = true;
  button.textContent = busyText;
  document.body.setAttribute("aria-busy", "true");
  try {
    const response = await apiFetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      showError(await errorMessage(response), errorBox);
      return null;
    }
    return await response.json();
  } catch (error) {
    showError(`Could not reach the service: ${error.message}`, errorBox);
    return null;
  } finally {
    button.disabled = false;
    button.textContent = idleText;
    document.body.removeAttribute("aria-busy");
  }
}

function splitArticles(text) {
  return text
    .split(SEPARATOR)
    .map((article) => article.trim())
    .filter((article) => article.length > 0);
}

async function classify(event) {
  event.preventDefault();
  clearError();
  const texts = splitArticles($("input-text").value);
  if (texts.length === 0) {
    showError("Paste some text to classify first.");
    return;
  }
  // Results of an earlier text must not sit under a new error as if they answered it.
  $("results").replaceChildren();
  $("summary").hidden = true;
  const body = { texts, segment: $("segment").checked };
  const response = await postJson("/classify", body, $("classify-button"), "Classifying…", "error");
  if (response) renderResults(response);
}

// --- compare mode: one story across outlets -----------------------------------------

// Pasted articles: "---" lines between them, an optional first line "id: name" each.
function pastedDocuments(text) {
  return splitArticles(text).map((article, index) => {
    const [first, ...rest] = article.split("\n");
    const named = first.match(ID_LINE);
    const id = named ? named[1].trim() : "";
    return {
      id: id || `Article ${index + 1}`,
      text: named ? rest.join("\n").trim() : article,
    };
  });
}

// Uploaded files: the name without .txt is the outlet's id.
async function uploadedDocuments(files) {
  return Promise.all(
    Array.from(files).map(async (file) => ({
      id: file.name.replace(/\.txt$/i, ""),
      text: await file.text(),
    })),
  );
}

function claimsTitle(documentId, member) {
  const claims = member.claims.map(
    (claim) => `${claim.text}\n${claim.label}  ·  ${scoresTitle(claim)}`,
  );
  return [`${documentId}: ${member.label}`, ...claims].join("\n\n");
}

function groupCell(documentId, member) {
  if (!member) {
    return el("td", { class: "cell empty", "data-document": documentId, "aria-label": "not carried" });
  }
  const cell = el("td", {
    class: `cell label-${member.label}`,
    "data-document": documentId,
    "data-label": member.label,
    title: claimsTitle(documentId, member),
    tabindex: "0",
  });
  cell.append(el("span", { class: "cell-text" }, truncate(member.claims[0].text, CELL_CHARS)));
  if (member.claims.length > 1) {
    cell.append(el("span", { class: "more" }, ` (+${member.claims.length - 1} more)`));
  }
  return cell;
}

const STANCE_VERBS = { assertion: "assert", denial: "deny", caveat: "hedge" };

function outletCounts(outlets) {
  return Object.entries(outlets ?? {})
    .map(([label, count]) => `${count} ${STANCE_VERBS[label] ?? label}`)
    .join(" · ");
}

function renderStoryTable(response) {
  const ids = response.documents.map((document) => document.id);
  const table = $("story-table");
  table.replaceChildren();
  const head = el("tr");
  head.append(el("th", { scope: "col" }, "Group"));
  for (const id of ids) head.append(el("th", { scope: "col", "data-document": id }, id));
  table.createTHead().append(head);
  const body = el("tbody");
  response.groups.forEach((group, index) => {
    const row = el("tr", {
      class: group.disagreement ? "group disagreement" : "group",
      "data-disagreement": String(group.disagreement),
      "data-index": String(index),
    });
    const header = el("th", { scope: "row", title: group.representative }, `#${index + 1}`);
    if (group.disagreement) header.append(el("span", { class: "badge" }, "disagree"));
    // The group in one line (its most central claim, reporting frame removed) and how
    // many outlets assert, deny and hedge it.
    header.append(el("span", { class: "proposition" }, truncate(group.proposition, CELL_CHARS)));
    header.append(el("span", { class: "outlets" }, outletCounts(group.outlets)));
    row.append(header);
    const members = new Map(group.members.map((member) => [member.document, member]));
    for (const id of ids) row.append(groupCell(id, members.get(id)));
    body.append(row);
  });
  table.append(body);
}

function renderStoryCounts(response) {
  const table = $("story-counts");
  table.replaceChildren();
  const head = el("tr");
  head.append(el("th", { scope: "col" }, "Outlet"), el("th", { scope: "col" }, "Claims"));
  for (const label of LABELS) {
    const th = el("th", { scope: "col", "data-label": label });
    th.append(el("span", { class: `swatch label-${label}`, "aria-hidden": "true" }), label);
    head.append(th);
  }
  head.append(el("th", { scope: "col" }, "In groups"));
  table.createTHead().append(head);
  const body = el("tbody");
  for (const document of response.documents) {
    const row = el("tr", { "data-document": document.id });
    row.append(el("th", { scope: "row" }, document.id));
    row.append(el("td", { class: "count total" }, String(document.claims.length)));
    for (const label of LABELS) {
      row.append(el("td", { class: "count", "data-label": label }, String(document.counts[label] ?? 0)));
    }
    const grouped = response.groups.filter((group) =>
      group.members.some((member) => member.document === document.id),
    ).length;
    row.append(el("td", { class: "count grouped" }, String(grouped)));
    body.append(row);
  }
  table.append(body);
}

// Per group: whose claims assert, deny or hedge it, and in how many outlets each.
const SOURCE_VERBS = { assertion: "asserts", denial: "denies", caveat: "hedges" };
const UNATTRIBUTED = "no source named";

function groupSources(group) {
  const byLabel = new Map(LABELS.map((label) => [label, new Map()]));
  for (const member of group.members) {
    for (const claim of member.claims) {
      if (!byLabel.has(claim.label)) byLabel.set(claim.label, new Map());
      const who = claim.source ? claim.source.text : UNATTRIBUTED;
      // One speaker however an outlet capitalises it ("the ministry", "The ministry").
      const key = who.toLowerCase();
      const sources = byLabel.get(claim.label);
      if (!sources.has(key)) sources.set(key, { who, outlets: new Set() });
      sources.get(key).outlets.add(member.document);
    }
  }
  return byLabel;
}

function renderStorySources(response) {
  const list = $("story-sources-list");
  list.replaceChildren();
  response.groups.forEach((group, index) => {
    const item = el("li", { "data-index": String(index) });
    item.append(el("span", { class: "group-name" }, `#${index + 1} ${truncate(group.representative, CELL_CHARS)}`));
    const stances = el("ul", { class: "stances" });
    for (const [label, sources] of groupSources(group)) {
      if (sources.size === 0) continue;
      const who = [...sources.values()]
        .sort((a, b) => b.outlets.size - a.outlets.size)
        .map(({ who, outlets }) => `${who} (${outlets.size} ${outlets.size === 1 ? "outlet" : "outlets"})`);
      const line = el("li", { "data-label": label });
      line.append(
        el("span", { class: `swatch label-${label}`, "aria-hidden": "true" }),
        el("span", { class: "stance" }, `${SOURCE_VERBS[label] ?? label}: `),
        who.join(", "),
      );
      stances.append(line);
    }
    item.append(stances);
    list.append(item);
  });
  $("story-sources").hidden = response.groups.length === 0;
}

function renderStory(response) {
  learnLabels(response.documents.flatMap((document) => document.claims));
  const disagreements = response.groups.filter((group) => group.disagreement).length;
  const noun = response.groups.length === 1 ? "group" : "groups";
  $("story-heading").textContent =
    `${response.groups.length} claim ${noun} across ${response.documents.length} outlets ` +
    `(${disagreements} with disagreement)`;
  renderStoryTable(response);
  $("story-table").hidden = response.groups.length === 0;
  $("story-no-groups").hidden = response.groups.length > 0;
  renderStoryCounts(response);
  renderStorySources(response);
  $("story-groups").hidden = false;
  $("story-summary").hidden = false;
}

async function compare(event) {
  event.preventDefault();
  clearError("story-error");
  $("story-groups").hidden = true;
  $("story-summary").hidden = true;
  $("story-sources").hidden = true;
  let documents;
  try {
    documents = [
      ...pastedDocuments($("story-text").value),
      ...(await uploadedDocuments($("story-files").files)),
    ];
  } catch (error) {
    showError(`Could not read the files: ${error.message}`, "story-error");
    return;
  }
  if (documents.length < 2) {
    showError("Paste or upload at least two articles to compare.", "story-error");
    return;
  }
  const blank = documents.find((document) => document.text.trim().length === 0);
  if (blank) {
    showError(`"${blank.id}" has no text to compare.`, "story-error");
    return;
  }
  const button = $("compare-button");
  const response = await postJson("/compare", { documents }, button, "Comparing…", "story-error");
  if (response) renderStory(response);
}

// --- modes ------------------------------------------------------------------------------

const MODES = {
  classify: { tab: "tab-classify", panel: "classify-panel", output: "classify-output" },
  story: { tab: "tab-story", panel: "story-panel", output: "story-output" },
};

function selectMode(mode) {
  for (const [name, parts] of Object.entries(MODES)) {
    const selected = name === mode;
    $(parts.tab).setAttribute("aria-selected", String(selected));
    $(parts.tab).tabIndex = selected ? 0 : -1;
    $(parts.panel).hidden = !selected;
    $(parts.output).hidden = !selected;
  }
  // A link to /#compare opens the story view directly.
  history.replaceState(null, "", mode === "story" ? "#compare" : location.pathname);
}

function setUpTabs() {
  const names = Object.keys(MODES);
  names.forEach((name, index) => {
    const tab = $(MODES[name].tab);
    tab.addEventListener("click", () => selectMode(name));
    // Arrow keys move between tabs, as the ARIA tabs pattern expects.
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = names[(index + step + names.length) % names.length];
      selectMode(next);
      $(MODES[next].tab).focus();
    });
  });
  selectMode(location.hash === "#compare" ? "story" : "classify");
}

async function loadModelInfo() {
  const info = $("model-info");
  try {
    const response = await apiFetch("/model");
    if (!response.ok) {
      info.textContent = await errorMessage(response);
      info.classList.add("error");
      return;
    }
    info.classList.remove("error");
    const model = await response.json();
    if (Array.isArray(model.labels) && model.labels.length > 0) LABELS = model.labels;
    MODEL_VERSION = model.version ? String(model.version) : "";
    const version = model.version ? ` version ${model.version}` : "";
    info.textContent = `Model: ${model.name}${version} on ${model.device}`;
  } catch (error) {
    info.textContent = `Could not reach the service: ${error.message}`;
  }
  renderLegend();
}

document.addEventListener("DOMContentLoaded", () => {
  renderLegend();
  setUpTabs();
  $("classify-form").addEventListener("submit", classify);
  $("story-form").addEventListener("submit", compare);
  $("key-form").addEventListener("submit", saveKey);
  $("feedback-form").addEventListener("submit", sendCorrection);
  $("feedback-cancel").addEventListener("click", closeCorrection);
  loadModelInfo();
});
