// The orders list: those waiting for a person first (AwaitingApproval, NeedsAttention), then
// the newest; or the orders of one status.
const STATUSES = ["AwaitingApproval", "NeedsAttention", "Running", "Compensating", "Completed",
  "Compensated", "Cancelled", "Failed"];
const URGENT = ["AwaitingApproval", "NeedsAttention"];
const LIMIT = 100;
const REFRESH_MS = 5000;

async function loadOrders(status) {
  if (status) return fetchOrders({ status, limit: LIMIT });
  const lists = await Promise.all([
    ...URGENT.map((urgent) => fetchOrders({ status: urgent, limit: LIMIT })),
    fetchOrders({ limit: LIMIT }),
  ]);
  const seen = new Set();
  return lists.flat().filter((order) => !seen.has(order.orderId) && seen.add(order.orderId));
}

async function fetchOrders(params) {
  const result = await api("GET", "/orders", params);
  if (!result.ok) throw new Error(problemText(result));
  return result.data.orders;
}

function orderRow(order) {
  const notice = order.attention || order.failure;
  return el("tr", { class: URGENT.includes(order.status) ? "urgent" : null, "data-order": order.orderId },
    el("td", {}, badge(order.status)),
    el("td", {}, el("a", { href: href(`/operator/orders/${encodeURIComponent(order.orderId)}`), text: order.orderId })),
    el("td", { text: order.customerId }),
    el("td", { class: "num", text: String(order.items.length) }),
    el("td", { class: "num", text: money(order.totalCents) }),
    el("td", { text: localTime(order.createdAt) }),
    el("td", { text: localTime(order.updatedAt) }),
    el("td", { text: notice ? `${notice.step}: ${notice.code}` : "" }));
}

function renderShell() {
  const status = query.get("status") || "";
  const select = el("select", { id: "status",
    onchange: (event) => { location.href = href("/operator", { status: event.target.value }); } },
    el("option", { value: "", text: "All (waiting for a person first)" }),
    STATUSES.map((name) => el("option", { value: name, text: name, selected: name === status })));
  const head = el("tr", {}, ["Status", "Order", "Customer", "Lines", "Total", "Created", "Updated", "Note"]
    .map((name) => el("th", { text: name })));
  document.getElementById("main").replaceChildren(
    el("div", { class: "filters" }, el("label", { for: "status", text: "Status" }), select,
      el("button", { type: "button", onclick: refresh, text: "Refresh" }),
      el("span", { id: "count", class: "sub" })),
    el("table", { id: "orders" }, el("thead", {}, head), el("tbody", {})));
}

async function refresh() {
  let orders;
  try {
    orders = await loadOrders(query.get("status") || "");
    showBanner("");
  } catch (error) {
    showBanner(String(error.message || error));
    return;
  }
  const rows = orders.length
    ? orders.map(orderRow)
    : [el("tr", {}, el("td", { colspan: "8", text: "No orders." }))];
  document.querySelector("#orders tbody").replaceChildren(...rows);
  document.getElementById("count").textContent = `${orders.length} order${orders.length === 1 ? "" : "s"}`;
  ready(document.getElementById("main"));
}

renderShell();
refresh();
setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
