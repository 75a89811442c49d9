// claimstance page: send the text to /classify and highlight each claim by label.
// User text only ever reaches the page through textContent and attributes, never innerHTML.
"use strict";

// Fallback until /model answers; the API's label list is the source when available.
let LABELS = ["assertion", "denial", "caveat"];
// An article separator: a line holding only ---.
const SEPARATOR = /^[ \t]*---[ \t]*$/m;

const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  // The box sits under a tall text area: bring it into view so the error is not missed.
  box.scrollIntoView({ block: "nearest" });
}

function clearError() {
  $("error").textContent = "";
  $("error").hidden = true;
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

// The server's offsets count Unicode code points, JavaScript strings count UTF-16 units:
// slicing an array of code points keeps highlights exact after emoji and other astral characters.
function renderText(text, claims) {
  const chars = Array.from(text);
  const container = el("div", { class: "article-text" });
  let cursor = 0;
  for (const claim of [...claims].sort((a, b) => a.start - b.start)) {
    if (claim.start < cursor) continue; // overlapping spans are not expected; never garble text
    container.append(document.createTextNode(chars.slice(cursor, claim.start).join("")));
    const mark = el(
      "mark",
      {
        class: `claim label-${claim.label}`,
        "data-label": claim.label,
        title: `${claim.label}\n${scoresTitle(claim)}`,
        tabindex: "0",
      },
      chars.slice(claim.start, claim.end).join(""),
    );
    container.append(mark);
    cursor = claim.end;
  }
  container.append(document.createTextNode(chars.slice(cursor).join("")));
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
  const results = $("results");
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

async function classify(event) {
  event.preventDefault();
  clearError();
  const texts = $("input-text")
    .value.split(SEPARATOR)
    .map((text) => text.trim())
    .filter((text) => text.length > 0);
  if (texts.length === 0) {
    showError("Paste some text to classify first.");
    return;
  }
  // Results of an earlier text must not sit under a new error as if they answered it.
  $("results").replaceChildren();
  $("summary").hidden = true;
  const button = $("classify-button");
  button.disabled = true;
  button.textContent = "Classifying…";
  document.body.setAttribute("aria-busy", "true");
  try {
    const response = await fetch("/classify", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ texts, segment: $("segment").checked }),
    });
    if (!response.ok) {
      showError(await errorMessage(response));
      return;
    }
    renderResults(await response.json());
  } catch (error) {
    showError(`Could not reach the service: ${error.message}`);
  } finally {
    button.disabled = false;
    button.textContent = "Classify";
    document.body.removeAttribute("aria-busy");
  }
}

async function loadModelInfo() {
  const info = $("model-info");
  try {
    const response = await fetch("/model");
    if (!response.ok) {
      info.textContent = await errorMessage(response);
      info.classList.add("error");
      return;
    }
    const model = await response.json();
    if (Array.isArray(model.labels) && model.labels.length > 0) LABELS = model.labels;
    const version = model.version ? ` version ${model.version}` : "";
    info.textContent = `Model: ${model.name}${version} on ${model.device}`;
  } catch (error) {
    info.textContent = `Could not reach the service: ${error.message}`;
  }
  renderLegend();
}

document.addEventListener("DOMContentLoaded", () => {
  renderLegend();
  $("classify-form").addEventListener("submit", classify);
  loadModelInfo();
});
