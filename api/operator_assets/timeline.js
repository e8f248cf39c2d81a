// Draws GET /orders/{id}/timeline: one lane per step on a shared time axis whose long idle
// stretches are compressed; a fan-out is one lane (its members' bars overlaid) until opened.
const ROW_PX = 20;
const BAR_PX = 12;
const BREAK_PX = 44;
const TICK_PX = 90;
const expanded = new Set();

function scaleFor(axis, width) {
  const gaps = axis.filter((segment) => segment.compressed).length;
  const linearMs = axis.reduce((sum, s) => sum + (s.compressed ? 0 : s.endMs - s.startMs), 0) || 1;
  const pxPerMs = Math.max(0, width - gaps * BREAK_PX) / linearMs;
  let left = 0;
  const placed = axis.map((segment) => {
    const span = segment.compressed ? BREAK_PX : (segment.endMs - segment.startMs) * pxPerMs;
    const entry = { ...segment, left, span };
    left += span;
    return entry;
  });
  const x = (ms) => {
    const segment = placed.find((s) => ms <= s.endMs) || placed[placed.length - 1];
    const within = segment.endMs > segment.startMs ? (ms - segment.startMs) / (segment.endMs - segment.startMs) : 0;
    return segment.left + Math.min(1, Math.max(0, within)) * segment.span;
  };
  return { x, placed, pxPerMs };
}

function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
  const [big, small, bigUnit, smallUnit] = ms < 3600000
    ? [Math.floor(ms / 60000), Math.round((ms % 60000) / 1000), "min", "s"]
    : [Math.floor(ms / 3600000), Math.round((ms % 3600000) / 60000), "h", "min"];
  return small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`;
}

function niceStep(ms) {
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000,
    120000, 300000, 600000, 1800000, 3600000];
  return steps.find((step) => step >= ms) || 7200000;
}

function axisLane(scale, width, timeline) {
  const lane = svg("svg", { class: "tl-lane tl-axis", width, height: 30 });
  const step = niceStep(TICK_PX / Math.max(scale.pxPerMs, 1e-9));
  for (const segment of scale.placed) {
    if (segment.compressed) {
      lane.append(svg("rect", { class: "tl-break", x: segment.left, y: 4, width: segment.span, height: 26 }),
        svg("text", { x: segment.left + 2, y: 26, text: `⋯ ${duration(segment.endMs - segment.startMs)}` }));
      continue;
    }
    for (let ms = Math.ceil(segment.startMs / step) * step; ms <= segment.endMs; ms += step) {
      const x = scale.x(ms);
      lane.append(svg("line", { x1: x, x2: x, y1: 14, y2: 30 }),
        svg("text", { x: x + 2, y: 12, text: `+${duration(ms)}` }));
    }
  }
  for (const event of timeline.events) {
    const x = scale.x(event.atMs);
    lane.append(svg("line", { class: "tl-event", x1: x, x2: x, y1: 16, y2: 30 }),
      svg("text", { x: x + 2, y: 24, "data-event": event.name, text: event.detail ? `${event.name}: ${event.detail}` : event.name }));
  }
  return lane;
}

function barTitle(row, bar) {
  const end = bar.endMs === null ? "still going" : duration(bar.endMs - bar.startMs);
  const what = { action: "attempt", compensation: "compensation attempt", backoff: "retry wait before attempt", gate: "waiting" }[bar.kind];
  return `${row.name}: ${what} ${bar.kind === "gate" ? "" : bar.attempt} · ${bar.outcome}${bar.code ? ` ${bar.code}` : ""} · ${end}`;
}

function drawBar(lane, scale, row, bar, endMs, extraClass, labelled) {
  const x1 = scale.x(bar.startMs);
  const x2 = scale.x(bar.endMs === null ? endMs : bar.endMs);
  const width = Math.max(2, x2 - x1);
  const y = (ROW_PX - BAR_PX) / 2;
  const classes = `bar bar-${bar.kind} ${bar.outcome}${extraClass ? ` ${extraClass}` : ""}`;
  const shape = bar.kind === "backoff"
    ? svg("line", { class: classes, x1, x2: x1 + width, y1: ROW_PX / 2, y2: ROW_PX / 2 })
    : svg("rect", { class: classes, x: x1, y: bar.kind === "compensation" ? y + 3 : y, width,
      height: bar.kind === "compensation" ? BAR_PX - 3 : BAR_PX, rx: 2 });
  if (!extraClass) {
    shape.dataset.kind = bar.kind;
    shape.dataset.outcome = bar.outcome;
  }
  shape.append(svg("title", { text: barTitle(row, bar) }));
  lane.append(shape);
  if (labelled && bar.code) {
    lane.append(svg("text", { class: "code", x: x1 + width + 3, y: ROW_PX - 6, text: bar.code }));
  }
}

function rowLabel(row, member, redraw) {
  const label = el("div", { class: "tl-label", title: `${row.name}: ${row.status}` });
  if (row.kind === "fan-out") {
    const open = expanded.has(row.name);
    label.append(el("button", { type: "button", "aria-expanded": String(open), "data-toggle": row.name,
      text: open ? "▾" : "▸",
      onclick: () => { if (open) expanded.delete(row.name); else expanded.add(row.name); redraw(); } }));
  }
  label.append(row.name);
  if (row.kind === "fan-out") {
    const counts = {};
    for (const m of row.members) counts[m.status] = (counts[m.status] || 0) + 1;
    const retried = row.members.filter((m) => m.attempts > 1).length;
    const parts = Object.entries(counts).map(([status, n]) => `${n} ${status}`);
    if (retried) parts.push(`${retried} retried`);
    label.append(el("span", { class: "sub", text: `${row.members.length} member${row.members.length === 1 ? "" : "s"} · ${parts.join(" · ")}` }));
  } else {
    label.append(el("span", { class: "sub", text: row.attempts > 1 ? `${row.status} · ${row.attempts} attempts` : row.status }));
  }
  if (row.cause) label.append(el("span", { class: "tag", text: "caused compensation" }));
  if (row.attention) label.append(el("span", { class: "tag attention", text: "needs attention" }));
  return label;
}

function lane(row, scale, width, timeline, member, redraw) {
  const classes = ["tl-row", member ? "member" : "", row.cause ? "cause" : "", row.attention ? "attention" : ""];
  const laneSvg = svg("svg", { class: "tl-lane", width, height: ROW_PX });
  for (const event of timeline.events) {
    const x = scale.x(event.atMs);
    laneSvg.append(svg("line", { class: "tl-event", x1: x, x2: x, y1: 0, y2: ROW_PX }));
  }
  if (row.kind === "fan-out" && !expanded.has(row.name)) {
    for (const m of row.members) {
      for (const bar of m.bars) if (bar.kind !== "backoff") drawBar(laneSvg, scale, m, bar, timeline.endMs, "density");
    }
  }
  // Only the row's last failure is labelled with its code: retries would overprint each other.
  const failures = row.bars.filter((bar) => bar.outcome === "failed" || bar.outcome === "fault");
  const last = failures[failures.length - 1];
  for (const bar of row.bars) drawBar(laneSvg, scale, row, bar, timeline.endMs, "", bar === last);
  return el("div", { class: classes.filter(Boolean).join(" "), "data-step": row.name, "data-kind": row.kind,
    "data-status": row.status }, rowLabel(row, member, redraw), laneSvg);
}

function legend() {
  const item = (cls, text, line) => el("span", {},
    svg("svg", { width: 18, height: 12 }, line
      ? svg("line", { class: cls, x1: 0, x2: 18, y1: 6, y2: 6 })
      : svg("rect", { class: cls, x: 0, y: 1, width: 18, height: 10, rx: 2 })), text);
  return el("div", { class: "legend" },
    item("bar-action ok", "step succeeded"), item("bar-action failed", "business failure"),
    item("bar-action fault", "fault (retried)"), item("bar-action running", "running"),
    item("bar-action no-result", "no result (timed out)"), item("bar-backoff", "retry wait", true),
    item("bar-gate", "waiting for approval"), item("bar-compensation ok", "compensation"));
}

function drawTimeline(container, timeline) {
  const redraw = () => drawTimeline(container, timeline);
  const width = Math.max(360, container.clientWidth - 330);
  const scale = scaleFor(timeline.axis, width);
  const rows = [el("div", { class: "tl-row tl-head" }, el("div", { class: "tl-label", text: `started ${localTime(timeline.startedAt)}` }),
    axisLane(scale, width, timeline))];
  for (const row of timeline.rows) {
    rows.push(lane(row, scale, width, timeline, false, redraw));
    if (row.kind === "fan-out" && expanded.has(row.name)) {
      for (const member of row.members) rows.push(lane(member, scale, width, timeline, true, redraw));
    }
  }
  container.replaceChildren(legend(), el("div", { class: "timeline", id: "timeline" }, rows));
}
