// The dashboard: calls per hour, answer-seizure ratio, average call
// duration and the MOS distribution of the last 24 hours, computed in the
// browser from /api/v1/cdrs, and today's queue service levels from
// /api/v1/queues/stats, drawn as plain SVG.
import { api } from './api.js';
import { h, svg, duration, message } from './dom.js';
import { serviceLevel, statsQuery } from './queues.js';

/** Figures of a list of CDRs: hourly buckets ending at `now` (ms). */
export function summarize(cdrs, now, hours = 24) {
  const start = now - hours * 3600e3;
  const buckets = Array.from({ length: hours }, (_, i) => ({ t: start + i * 3600e3, answered: 0, other: 0 }));
  let answered = 0, talk = 0;
  const mos = [0, 0, 0, 0, 0]; // <2, 2-3, 3-3.6, 3.6-4, >=4
  for (const c of cdrs) {
    const t = Date.parse(c.calldate);
    const i = Math.floor((t - start) / 3600e3);
    if (i < 0 || i >= hours) continue;
    const ok = c.disposition === 'ANSWERED';
    buckets[i][ok ? 'answered' : 'other']++;
    if (ok) { answered++; talk += c.billsec; }
    if (c.mos > 0) mos[c.mos < 2 ? 0 : c.mos < 3 ? 1 : c.mos < 3.6 ? 2 : c.mos < 4 ? 3 : 4]++;
  }
  const total = buckets.reduce((n, b) => n + b.answered + b.other, 0);
  return { buckets, total, answered, asr: total ? answered / total : 0, acd: answered ? talk / answered : 0, mos };
}

function bars(values, labels, { id, title, w = 720, hgt = 180 }) {
  const max = Math.max(1, ...values.map((v) => v.reduce((a, b) => a + b, 0)));
  const bw = w / values.length;
  const scale = (hgt - 30) / max;
  return svg('svg', { id, class: 'chart', viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, role: 'img', 'aria-label': title },
    svg('title', {}, title),
    values.map((stack, i) => {
      let y = hgt - 20;
      return svg('g', {}, stack.map((v, k) => {
        const bh = v * scale;
        y -= bh;
        return svg('rect', { x: i * bw + 2, y, width: Math.max(bw - 4, 1), height: bh, class: `s${k}` }, svg('title', {}, `${labels[i]}: ${v}`));
      }), svg('text', { x: i * bw + bw / 2, y: hgt - 6, 'text-anchor': 'middle', class: 'axis' }, labels[i]));
    }),
    svg('text', { x: 4, y: 12, class: 'axis' }, `max ${max}`));
}

/** One bar per queue: the share of offered calls answered within the service level. */
function levels(queues, { id, title, w = 720 }) {
  const row = 24, lw = 140, bw = w - lw - 170;
  const hgt = queues.length * row + 8;
  return svg('svg', { id, class: 'chart', viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, role: 'img', 'aria-label': title },
    svg('title', {}, title),
    queues.map((q, i) => {
      const y = 4 + i * row;
      const pct = q.offered ? q.service_level_pct : 0;
      const text = q.offered ? `${pct.toFixed(0)} % of ${q.offered} offered` : 'no calls';
      return svg('g', { 'data-queue': q.queue, 'data-pct': String(pct) },
        svg('text', { x: 4, y: y + 15, class: 'axis' }, q.queue),
        svg('rect', { x: lw, y, width: bw, height: row - 6, class: 's1' }),
        svg('rect', { x: lw, y, width: (bw * pct) / 100, height: row - 6, class: 's0' }, svg('title', {}, `${q.queue}: ${text}`)),
        svg('text', { x: lw + bw + 8, y: y + 15, class: 'axis' }, text));
    }));
}

export function dashboardView(root) {
  const status = h('p', { class: 'status', role: 'status' });
  const body = h('div', { class: 'dash', id: 'dashboard' });
  root.append(h('div', { class: 'bar' }, h('h2', {}, 'Dashboard · last 24 hours'), status), body);
  let stopped = false;

  async function load() {
    const now = Date.now();
    const from = new Date(now - 24 * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
    try {
      const cdrs = [];
      for (let off = 0; off < 50000; off += 10000) {
        const page = await api('GET', `/cdrs?from=${encodeURIComponent(from)}&limit=10000&offset=${off}`);
        cdrs.push(...(page.cdrs || []));
        if (cdrs.length >= page.total || (page.cdrs || []).length === 0) break;
      }
      // Today's queue figures, the queues view's (no queue log: none).
      const qs = await api('GET', `/queues/stats?${statsQuery()}`).then((r) => r.queues || []).catch(() => []);
      if (stopped) return;
      const s = summarize(cdrs, now);
      const hourLabel = (t) => String(new Date(t + 3600e3 - 1).getHours()).padStart(2, '0');
      body.replaceChildren(
        h('div', { class: 'kpis' },
          h('div', { class: 'kpi', id: 'kpi-calls' }, h('span', {}, 'Calls'), h('strong', {}, String(s.total))),
          h('div', { class: 'kpi', id: 'kpi-asr' }, h('span', {}, 'Answer-seizure ratio'), h('strong', {}, `${(s.asr * 100).toFixed(1)} %`)),
          h('div', { class: 'kpi', id: 'kpi-acd' }, h('span', {}, 'Average call duration'), h('strong', {}, duration(s.acd)))),
        h('h3', {}, 'Calls per hour (answered, other)'),
        bars(s.buckets.map((b) => [b.answered, b.other]), s.buckets.map((b) => hourLabel(b.t)), { id: 'chart-hourly', title: 'Calls per hour' }),
        h('h3', {}, 'MOS distribution'),
        bars(s.mos.map((v) => [v]), ['<2', '2–3', '3–3.6', '3.6–4', '≥4'], { id: 'chart-mos', title: 'MOS distribution', w: 360 }),
        h('h3', {}, `Queue service level today (answered within ${serviceLevel} s)`),
        qs.length ? levels(qs, { id: 'chart-sl', title: 'Queue service level today' }) : h('p', { id: 'chart-sl-none' }, 'No queue calls today.'));
      status.textContent = `Updated ${new Date(now).toLocaleTimeString()}`;
    } catch (err) {
      status.textContent = message(err);
      status.classList.add('error');
    }
  }
  load();
  const timer = setInterval(load, 60000);
  return () => { stopped = true; clearInterval(timer); };
}
