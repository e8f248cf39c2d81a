// An order: its facts, what went wrong, the actions its status allows, and its saga timeline.
const orderId = decodeURIComponent(location.pathname.split("/").pop());
const FINISHED = ["Completed", "Compensated", "Cancelled", "Failed"];
const POLL_MS = 2000;
let current = null;
let sending = false;

function actionsFor(order) {
  const send = (label, path, body, cls) => el("button", { type: "button", class: cls, "data-action": label,
    onclick: () => act(path, body ? body() : undefined), text: label });
  const comment = () => document.getElementById("comment").value.trim();
  const decision = (approved) => () => (comment() ? { approved, comment: comment() } : { approved });
  switch (order.status) {
    case "AwaitingApproval":
      return [
        el("label", {}, "Comment", el("br"), el("textarea", { id: "comment", maxlength: "500" })),
        send("Approve", "approval", decision(true), "primary"),
        send("Reject", "approval", decision(false), "danger"),
        send("Cancel", "cancel", null, ""),
      ];
    case "Running":
      return [send("Cancel", "cancel", null, "")];
    case "NeedsAttention":
      return [send("Retry compensation", "retry-compensation", null, "primary")];
    default:
      return [el("span", { class: "sub", text: `No action applies to a ${order.status} order.` })];
  }
}

async function act(path, body) {
  if (sending) return;
  sending = true;
  for (const button of document.querySelectorAll(".actions button")) button.disabled = true;
  const result = await api("POST", `/orders/${encodeURIComponent(orderId)}/${path}`, null, body ?? null);
  sending = false;
  if (result.ok) {
    showBanner(`Sent: the order was ${result.data.status} when the saga received it.`, true);
  } else {
    showBanner(problemText(result));
    for (const button of document.querySelectorAll(".actions button")) button.disabled = false;
  }
  await refresh();
}

function facts(order) {
  const fact = (name, value) => [el("dt", { text: name }), el("dd", {}, value)];
  return el("dl", { class: "facts" },
    fact("Status", badge(order.status)), fact("Customer", order.customerId),
    fact("Lines", String(order.items.length)), fact("Total", money(order.totalCents)),
    fact("Created", localTime(order.createdAt)), fact("Updated", localTime(order.updatedAt)));
}

function notice(kind, value) {
  if (!value) return null;
  const title = kind === "attention" ? "Needs attention" : "Failure";
  return el("p", { class: `notice ${kind}`, id: kind },
    el("strong", { text: `${title}: ${value.step} — ${value.code}` }), el("br"), value.message);
}

function items(order) {
  return el("details", {}, el("summary", { text: `${order.items.length} line${order.items.length === 1 ? "" : "s"}` }),
    el("table", {}, el("tbody", {}, order.items.map((line) =>
      el("tr", {}, el("td", { text: line.sku }), el("td", { class: "num", text: String(line.quantity) }))))));
}

function render(order, timeline) {
  const main = document.getElementById("main");
  const sameStatus = current && current.status === order.status;
  current = order;
  const parts = main.dataset.ready ? {
    actions: sameStatus ? document.getElementById("actions") : null,
    lines: main.querySelector("details"),
  } : {};
  const actions = parts.actions || el("div", { class: "actions", id: "actions" }, actionsFor(order));
  const drawing = el("div", { id: "drawing" });
  const sections = [facts(order), notice("failure", order.failure), notice("attention", order.attention),
    actions, el("h2", { text: "Saga timeline" }), drawing, parts.lines || items(order)];
  main.replaceChildren(...sections.filter(Boolean));
  document.querySelector(".bar .title").textContent = order.orderId;
  if (timeline) drawTimeline(drawing, timeline);
  ready(main);
}

async function refresh() {
  const path = `/orders/${encodeURIComponent(orderId)}`;
  const [order, timeline] = await Promise.all([api("GET", path), api("GET", `${path}/timeline`)]);
  if (!order.ok) {
    showBanner(problemText(order));
    ready(document.getElementById("main"));
    return;
  }
  render(order.data, timeline.ok ? timeline.data : null);
  if (!timeline.ok) showBanner(`Timeline: ${problemText(timeline)}`);
}

async function poll() {
  if (!document.hidden && !sending && !(current && FINISHED.includes(current.status))) await refresh();
  setTimeout(poll, POLL_MS);
}

refresh().then(() => setTimeout(poll, POLL_MS));
let resizing = null;
window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(refresh, 200); });
