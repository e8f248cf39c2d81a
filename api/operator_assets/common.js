"use strict";
// Shared by both pages: API calls that keep the function key the page was opened with, and
// DOM helpers that only ever set text (order data is never parsed as HTML).
const query = new URLSearchParams(location.search);
const functionKey = query.get("code");
// The route prefix ("/api" unless host.json says otherwise): everything before /operator.
const prefix = location.pathname.replace(/\/operator(\/.*)?$/, "");

function href(path, params) {
  const url = new URL(prefix + path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  if (functionKey) url.searchParams.set("code", functionKey);
  return url.pathname + url.search;
}

async function api(method, path, params, body) {
  const init = { method, cache: "no-store", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(href(path, params), init);
  let data = null;
  try { data = await response.json(); } catch (error) { data = null; }
  return { status: response.status, ok: response.ok, data };
}

function problemText(result) {
  const detail = result.data && (result.data.detail || result.data.title);
  return `${result.status}: ${detail || "the request failed"}`;
}

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function svg(tag, attributes, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "text") node.textContent = value;
    else if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

function badge(status) {
  return el("span", { class: `badge ${status}`, "data-status": status, text: status });
}

function money(cents) {
  if (cents === null || cents === undefined) return "—";
  return (cents / 100).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function localTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function showBanner(text, info) {
  const banner = document.getElementById("banner");
  banner.textContent = text || "";
  banner.className = info ? "banner info" : "banner";
  banner.hidden = !text;
}

function ready(main) {
  main.setAttribute("aria-busy", "false");
  main.dataset.ready = "true";
}

document.getElementById("home").setAttribute("href", href("/operator"));
