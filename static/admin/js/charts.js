// Hand-drawn SVG charts for the dashboard: no library. Pure apart from
// creating elements: a report's buckets go in, an <svg> comes out. Each bar
// carries its value (`data-value`) and a <title> (its tooltip, read by
// screen readers); the chart is an image with a text summary.

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

/** Every UTC day from `from` to `to` (YYYY-MM-DD, inclusive). */
export function days(from, to) {
  const out = [];
  for (let t = Date.parse(`${from}T00:00:00Z`), end = Date.parse(`${to}T00:00:00Z`); t <= end; t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/**
 * A sales report's buckets summed per UTC day for every day of its range:
 * [{label: 'YYYY-MM-DD', value}] of `metric` ('orders', 'revenue', …), of one
 * `currency` (null: all currencies, for counts).
 */
export function perDay(report, metric, currency = null) {
  const sums = new Map(days(report.from, report.to).map((d) => [d, 0]));
  for (const b of report.buckets) {
    if (currency && b.currency !== currency) continue;
    const day = b.start.slice(0, 10);
    if (sums.has(day)) sums.set(day, sums.get(day) + (b[metric] ?? 0));
  }
  return [...sums].map(([label, value]) => ({ label, value }));
}

/** A round axis maximum at or above `max` (1, 2, 2.5 or 5 × 10^n). */
function niceMax(max) {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/**
 * A bar chart of `points` ([{label, value}]): `name` identifies it
 * (`data-chart`), `title` is its accessible name, `format` writes a value.
 */
export function barChart({ name, title, points, format = String, width = 640, height = 220 }) {
  const pad = { top: 12, right: 8, bottom: 28, left: 64 };
  const w = width - pad.left - pad.right;
  const hgt = height - pad.top - pad.bottom;
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const step = w / Math.max(points.length, 1);
  const bar = Math.max(1, step * 0.75);
  const total = points.reduce((a, p) => a + p.value, 0);
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'chart',
    role: 'img',
    'data-chart': name,
    'data-total': total,
    'aria-label': `${title}: ${format(total)} in all over ${points.length} ${points.length === 1 ? 'bar' : 'bars'}`,
    preserveAspectRatio: 'none',
  });
  svg.append(s('title', {}, title));
  // Grid lines and the axis's values: 0, half and the maximum.
  for (const f of [0, 0.5, 1]) {
    const y = pad.top + hgt - f * hgt;
    svg.append(s('line', { x1: pad.left, x2: pad.left + w, y1: y, y2: y, class: 'grid' }));
    svg.append(s('text', { x: pad.left - 6, y: y + 4, 'text-anchor': 'end', class: 'tick' }, format(max * f)));
  }
  const bars = s('g', { class: 'bars' });
  points.forEach((p, i) => {
    const bh = (p.value / max) * hgt;
    const rect = s('rect', {
      x: (pad.left + i * step + (step - bar) / 2).toFixed(2),
      y: (pad.top + hgt - bh).toFixed(2),
      width: bar.toFixed(2),
      height: Math.max(bh, p.value > 0 ? 1 : 0).toFixed(2),
      class: 'bar',
      'data-label': p.label,
      'data-value': p.value,
    });
    rect.append(s('title', {}, `${p.label}: ${format(p.value)}`));
    bars.append(rect);
  });
  svg.append(bars);
  // First, middle and last labels along the bottom.
  const marks = [...new Set([0, Math.floor((points.length - 1) / 2), points.length - 1])].filter((i) => i >= 0);
  for (const i of marks) {
    svg.append(
      s('text', { x: pad.left + i * step + step / 2, y: height - 8, 'text-anchor': 'middle', class: 'tick' }, points[i].label.slice(5)),
    );
  }
  return svg;
}
