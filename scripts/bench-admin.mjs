// `npm run bench:admin`: the back office's budget (issue 16), measured in
// headless Chromium against the local Worker (release build on workerd
// through Miniflare, with the static-assets router and fresh state),
// written to the "Back office budget" section of BENCHMARKS.md.
//
// - Bytes: every JavaScript module under static/admin/ as the Worker serves
//   it (all of them, though a visit loads the shell and only the pages it
//   opens): decoded and gzipped at level 9; the stylesheet too.
// - Charts: the dashboard with 30 days × 1,000 orders, against the real
//   Worker. A local Worker cannot take 30,000 checkouts in reasonable time
//   (nor hold their objects), so the store's Reports object is filled as
//   the events consumer fills it: 30,000 generated orders (random times
//   over the 30 days, two currencies, random totals and units, some
//   refunded, some partly paid with points), each as the order event its
//   order object would send, handed to `reports:default` with the same
//   `accept` command in batches. The Reports API's answers are then checked
//   against the sums over the generated orders (exactly, in minor units),
//   and the page is timed with nothing stubbed:
//   (1) a cold load of /admin/#/dashboard, signed in, from navigation start
//   until both charts are drawn and laid out (modules, four report
//   requests to the Worker, tiles, charts, best sellers), over
//   BENCH_ADMIN_LOADS loads;
//   (2) the chart module alone drawing the Worker's hourly report of the
//   same orders (720 hours × 2 currencies, summed per day) into the page
//   and laid out, median of 20.
//
// Targets: under 100 KB of JavaScript gzipped; charts drawn in under 1 s.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { buildWorker, CACHE, freePort, log, randomSecret, ROOT, setup, startDirectWorker, writeBenchmarkSection } from './lib.mjs';

const LOADS = Math.min(50, Math.max(3, Number(process.env.BENCH_ADMIN_LOADS) || 9));
const SECTION = '## Back office budget';
const DAYS = 30;
const PER_DAY = 1000;

/** A small deterministic PRNG (mulberry32). */
function prng(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 30 days × 1,000 paid orders ending today (UTC), some refunded. */
function generateOrders() {
  const random = prng(16);
  const end = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`) + 86_400_000;
  const start = end - DAYS * 86_400_000;
  const orders = [];
  for (let d = 0; d < DAYS; d++) {
    for (let i = 0; i < PER_DAY; i++) {
      const units = 1 + Math.floor(random() * 4);
      orders.push({
        at: start + d * 86_400_000 + Math.floor(random() * 86_400_000),
        currency: random() < 0.7 ? 'USD' : 'EUR',
        total: units * (500 + Math.floor(random() * 20_000)),
        units,
        points: random() < 0.1 ? 1 + Math.floor(random() * 5_000) : 0,
        refunded: random() < 0.03,
        sku: `SKU-${Math.floor(random() * 500)}`,
      });
    }
  }
  return { orders, from: new Date(start).toISOString().slice(0, 10), to: new Date(end - 1).toISOString().slice(0, 10) };
}

/** GET /admin/v1/reports/sales's answer over `orders`, as the reports contract defines it. */
function salesReport(orders, from, to, granularity) {
  const lo = Date.parse(`${from}T00:00:00Z`);
  const hi = Date.parse(`${to}T00:00:00Z`) + 86_400_000;
  const size = granularity === 'hour' ? 3_600_000 : 86_400_000;
  const buckets = new Map();
  const totals = new Map();
  const add = (map, key, o, extra) => {
    const b = map.get(key) ?? { ...extra, currency: o.currency, orders: 0, revenue: 0, items: 0, refunds: 0, refunded: 0, points_redeemed: 0 };
    b.orders += 1;
    b.revenue += o.total;
    b.items += o.units;
    b.points_redeemed += o.points;
    if (o.refunded) {
      b.refunds += 1;
      b.refunded += o.total;
    }
    map.set(key, b);
  };
  for (const o of orders) {
    if (o.at < lo || o.at >= hi) continue;
    const startMs = Math.floor(o.at / size) * size;
    add(buckets, `${startMs}|${o.currency}`, o, { start: new Date(startMs).toISOString().replace('.000Z', 'Z') });
    add(totals, o.currency, o, {});
  }
  const sorted = [...buckets.values()].sort((a, b) => a.start.localeCompare(b.start) || a.currency.localeCompare(b.currency));
  return {
    store: 'default',
    from,
    to,
    granularity,
    time_zone: 'UTC',
    buckets: sorted,
    totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)).map((t) => ({ ...t, average_order_value: Math.round(t.revenue / t.orders) })),
  };
}

function bestSellers(orders, from, to) {
  const by = new Map();
  for (const o of orders) {
    if (o.refunded) continue;
    const k = `${o.sku}|${o.currency}`;
    const b = by.get(k) ?? { sku: o.sku, title: null, currency: o.currency, units: 0, revenue: 0 };
    b.units += o.units;
    b.revenue += o.total;
    by.set(k, b);
  }
  const items = [...by.values()].sort((a, b) => b.units - a.units || b.revenue - a.revenue || a.sku.localeCompare(b.sku)).slice(0, 10);
  return { store: 'default', from, to, items };
}


/** The order event `o`'s order object would send last: the order as recorded (paid, or refunded later). */
function orderEvent(o, i) {
  const id = `ord_${i.toString(16).padStart(24, '0')}`;
  const history = [
    { at_ms: o.at, status: 'pending_payment' },
    { at_ms: o.at + 1_000, status: 'paid' },
    ...(o.refunded ? [{ at_ms: o.at + 60_000, status: 'refunded' }] : []),
  ];
  const last = history[history.length - 1];
  return {
    id: `evt_${id}_${o.refunded ? 'refunded' : 'paid'}_${history.length - 1}`,
    store: 'default',
    occurred_at_ms: last.at_ms,
    type: o.refunded ? 'order.refunded' : 'order.paid',
    data: {
      schema: 1,
      id,
      cart_id: `crt_${i.toString(16).padStart(24, '0')}`,
      currency: o.currency,
      prices_include_tax: false,
      lines: [{ sku: o.sku, quantity: o.units, unit_price: o.total / o.units, discount: 0, tax: 0, line_total: o.total }],
      totals: { subtotal: o.total, discount_total: 0, shipping: 0, tax_total: 0, grand_total: o.total },
      promotions: [],
      email: `shopper${i}@example.com`,
      shipping_address: { name: 'Bench Shopper', line1: '1 Main St', city: 'New York', region: 'NY', postal_code: '10001', country: 'US' },
      shipping_method: 'standard',
      payment: { provider: 'test', reference: `test_${id}` },
      ...(o.points ? { points: { member: `m-${i}`, unit: 'points', spent: o.points, value: Math.min(o.points, o.total - 1), earned: 0 } } : {}),
      status: last.status,
      history,
      created_at_ms: o.at,
    },
  };
}

/** The figures of a sales report's totals or bucket that the check compares. */
const FIGURES = ['currency', 'orders', 'revenue', 'items', 'refunds', 'refunded', 'points_redeemed'];
function sameFigures(what, got, want) {
  const pick = (rows) => rows.map((r) => [r.start ? Date.parse(r.start) : '', ...FIGURES.map((f) => r[f])].join('|')).join('\n');
  if (pick(got) !== pick(want)) throw new Error(`${what}: the Worker's report differs from the sum over the generated orders`);
}

setup({ browser: true });
buildWorker();
const { launch } = await import('../tests/browser/browser.mjs');

const { orders, from, to } = generateOrders();
const expected = {
  day: salesReport(orders, from, to, 'day'),
  today: salesReport(orders, to, to, 'hour'),
  hour: salesReport(orders, from, to, 'hour'),
  best: bestSellers(orders, from, to),
};
log(`generated ${orders.length.toLocaleString('en-US')} orders: ${expected.day.buckets.length} daily buckets, ${expected.hour.buckets.length} hourly buckets`);

const STATE_PARENT = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const state = fs.mkdtempSync(path.join(STATE_PARENT, 'edgecart-bench-admin-'));
const logFile = path.join(CACHE, 'bench-admin-worker.log');
fs.writeFileSync(logFile, '');
const token = randomSecret();
const worker = await startDirectWorker({ port: await freePort(), persistTo: state, logFile, vars: { ADMIN_TOKENS: `bench:operator:${token}` } });
let browser;
try {
  const base = worker.url;
  // Bytes: every module and stylesheet of the back office, as served.
  const files = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(js|css|html)$/.test(e.name)) files.push(`/${path.relative(path.join(ROOT, 'static'), p).split(path.sep).join('/')}`);
    }
  };
  walk(path.join(ROOT, 'static', 'admin'));
  const assets = [];
  for (const url of files.sort()) {
    const r = await fetch(base + url);
    if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
    const body = Buffer.from(await r.arrayBuffer());
    assets.push({ url, type: url.endsWith('.js') ? 'script' : url.endsWith('.css') ? 'stylesheet' : 'document', raw: body.length, gzip: zlib.gzipSync(body, { level: 9 }).length });
  }
  const sum = (type, key) => assets.filter((a) => a.type === type).reduce((n, a) => n + a[key], 0);

  // The store's Reports object, filled as the events consumer fills it.
  const reports = await worker.object('REPORTS', 'reports:default');
  const events = orders.map(orderEvent);
  const fillStart = performance.now();
  for (let i = 0; i < events.length; i += 500) {
    const r = await reports.fetch('https://object/command', { method: 'POST', body: JSON.stringify({ command: 'accept', events: events.slice(i, i + 500) }) });
    const text = await r.text();
    if (!JSON.parse(text).ok) throw new Error(`the Reports object refused a batch: ${text.slice(0, 300)}`);
  }
  const fillMs = performance.now() - fillStart;
  log(`${events.length.toLocaleString('en-US')} order events taken in by reports:default in ${(fillMs / 1000).toFixed(1)} s`);
  // Its answers equal the sums over the generated orders.
  const report = async (route, query) => {
    const r = await fetch(`${base}/admin/v1/reports/${route}?${new URLSearchParams(query)}`, { headers: { Authorization: `Bearer ${token}` } });
    if (r.status !== 200) throw new Error(`${route}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const day = await report('sales', { from, to, granularity: 'day' });
  const today = await report('sales', { from: to, to, granularity: 'hour' });
  const hourly = await report('sales', { from, to, granularity: 'hour' });
  const best = await report('best-sellers', { from, to, limit: 10 });
  sameFigures('30 days by day, buckets', day.buckets, expected.day.buckets);
  sameFigures('30 days by day, totals', day.totals, expected.day.totals);
  sameFigures('today by hour, buckets', today.buckets, expected.today.buckets);
  sameFigures('30 days by hour, buckets', hourly.buckets, expected.hour.buckets);
  if (day.totals.some((t, i) => t.average_order_value !== expected.day.totals[i].average_order_value)) throw new Error('average order value differs');
  if (JSON.stringify(best.items.map(({ sku, currency, units, revenue }) => ({ sku, currency, units, revenue }))) !== JSON.stringify(expected.best.items.map(({ sku, currency, units, revenue }) => ({ sku, currency, units, revenue })))) {
    throw new Error('best sellers differ from the generated orders');
  }
  log('the Reports API answers the exact sums over the generated orders');

  browser = await launch();
  const session = JSON.stringify({ token, role: 'operator', store: 'default', stores: ['default'] });
  const probe = () => {
    const tick = () => {
      const charts = document.querySelectorAll('svg.chart');
      if (charts.length >= 3 && document.querySelectorAll('svg[data-chart="orders"] rect.bar').length === 30 && charts[0].getBoundingClientRect().height > 0) {
        window.__charts = performance.now();
      } else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
  const loads = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext();
    await context.addInitScript(([s]) => sessionStorage.setItem('edgecart.admin.session', s), [session]);
    await context.addInitScript(probe);
    const page = await context.newPage();
    await page.goto(`${base}/admin/#/dashboard`);
    await page.waitForFunction(() => window.__charts !== undefined, null, { timeout: 20_000 });
    loads.push(await page.evaluate(() => window.__charts));
    await context.close();
  }
  // The chart module alone: the hourly report of the same orders.
  const context = await browser.newContext();
  await context.addInitScript(([s]) => sessionStorage.setItem('edgecart.admin.session', s), [session]);
  const page = await context.newPage();
  await page.goto(`${base}/admin/#/dashboard`);
  await page.locator('svg[data-chart="orders"]').waitFor();
  const draws = await page.evaluate(async (report) => {
    const { drawCharts } = await import('/admin/js/pages/dashboard.js');
    const times = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const charts = drawCharts(report);
      document.querySelector('#charts').replaceWith(charts);
      charts.getBoundingClientRect();
      document.body.offsetHeight;
      times.push(performance.now() - t0);
    }
    return times;
  }, hourly);
  await context.close();

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const load = median(loads);
  const draw = median(draws);
  const jsGzip = sum('script', 'gzip');
  const kb = (n) => (n / 1024).toFixed(1);
  const n = (x) => x.toLocaleString('en-US');
  const section = [
    SECTION,
    '',
    `Written by \`npm run bench:admin\` (scripts/bench-admin.mjs) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: headless Chromium (Debian's package, driven by playwright-core) against the release build on workerd with the static-assets router, ${os.cpus().length} CPUs shared by the browser, Node and workerd.`,
    '',
    'Every file of the back office (static/admin/), as the Worker serves it; a visit loads index.html, the stylesheet, app.js, api.js, ui.js and the modules of the pages it opens (charts.js with the dashboard):',
    '',
    '| file | type | bytes | gzip -9 |',
    '|---|---|---:|---:|',
    ...assets.map((a) => `| \`${a.url}\` | ${a.type} | ${n(a.raw)} | ${n(a.gzip)} |`),
    '',
    `- JavaScript, every module: ${kb(sum('script', 'raw'))} KB, **${kb(jsGzip)} KB gzipped** (target under 100 KB: **${jsGzip < 100 * 1024 ? 'PASS' : 'FAIL'}**)`,
    `- CSS: ${kb(sum('stylesheet', 'raw'))} KB, ${kb(sum('stylesheet', 'gzip'))} KB gzipped`,
    `- The store's Reports object filled with 30 days × 1,000 orders (${n(orders.length)} generated orders in two currencies, 3 % refunded, 10 % partly paid with points, each handed over as its order event, batches of 500, as the events consumer does): ${(fillMs / 1000).toFixed(1)} s; the Reports API's answers (30 days by day and by hour, today by hour, best sellers) equal the sums over the generated orders, exactly`,
    `- Dashboard over those orders, served by the Worker (nothing stubbed): cold load of \`/admin/#/dashboard\`, signed in, from navigation start until the orders and both revenue charts are drawn and laid out, median of ${LOADS}: **${load.toFixed(0)} ms** (worst ${Math.max(...loads).toFixed(0)} ms; target under 1 s: **${load < 1000 ? 'PASS' : 'FAIL'}**)`,
    `- The chart module alone (\`drawCharts\`): the hourly report of the same orders (${n(hourly.buckets.length)} buckets over 720 hours, summed per day into three 30-bar charts), drawn into the page and laid out, median of 20: **${draw.toFixed(1)} ms** (worst ${Math.max(...draws).toFixed(1)} ms)`,
    '',
    'The orders are generated, not placed: a local Worker cannot take 30,000 checkouts in reasonable time (nor hold their objects). Everything after the order events is the real path: the Reports object, the Reports API, the page.',
  ].join('\n');
  writeBenchmarkSection(section, SECTION);
  log(`JS ${kb(jsGzip)} KB gzipped (all modules); dashboard charts ${load.toFixed(0)} ms cold (median of ${LOADS}); drawCharts on ${hourly.buckets.length} hourly buckets ${draw.toFixed(1)} ms`);
} finally {
  await browser?.close();
  await worker.stop();
  fs.rmSync(state, { recursive: true, force: true });
}
