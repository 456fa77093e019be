// The CDR browser: filters, paging, sorting, CSV export, and a call's
// page with its quality figures, recordings, SIP ladder and capture.
import { api, blob, can } from './api.js';
import { h, svg, duration, message } from './dom.js';

const filters = ['from', 'to', 'number', 'src', 'dst', 'disposition', 'uniqueid', 'call_id'];
const columns = [
  ['id', 'ID'], ['calldate', 'Date'], ['src', 'From'], ['dst', 'To'], ['disposition', 'Disposition'],
  ['duration', 'Duration'], ['billsec', 'Talk'], ['mos', 'MOS'], ['hangup_by', 'Hung up by'],
];

/** The API query for a filter: "to" is inclusive in the form, exclusive in the API. */
export function apiQuery(f) {
  const q = new URLSearchParams();
  for (const k of filters) {
    let v = (f[k] || '').trim();
    if (!v) continue;
    if (k === 'to' && /^\d{4}-\d{2}-\d{2}$/.test(v)) {
      const d = new Date(`${v}T00:00:00Z`);
      d.setUTCDate(d.getUTCDate() + 1);
      v = d.toISOString().slice(0, 10);
    }
    q.set(k, v);
  }
  return q;
}

function csvCell(v) {
  const s = v === undefined || v === null ? '' : String(v);
  // A leading = + - @ would be a formula to a spreadsheet: quote it away.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCSV(rows) {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0]);
  return [keys.join(','), ...rows.map((r) => keys.map((k) => csvCell(r[k])).join(','))].join('\r\n') + '\r\n';
}

function save(name, data) {
  const url = URL.createObjectURL(data);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function when(t) {
  return t ? new Date(t).toLocaleString() : '';
}

export function cdrListView(root, { match }) {
  const params = new URLSearchParams((match[1] || '').slice(1));
  const f = Object.fromEntries(filters.map((k) => [k, params.get(k) || '']));
  const limit = Math.min(Math.max(Number(params.get('limit')) || 50, 1), 1000);
  const offset = Math.max(Number(params.get('offset')) || 0, 0);
  const order = params.get('order') === 'asc' ? 'asc' : 'desc';
  let sortKey = params.get('sort') || '';
  let sortDir = params.get('dir') === 'desc' ? -1 : 1;

  // A link may carry an instant (RFC 3339) as from or to, as the
  // VoIPmonitor admin.php links do: shown as text, so it survives a search.
  const dateInput = (v) => !v || /^\d{4}-\d{2}-\d{2}$/.test(v);
  const input = (k, label, type = 'text') => [h('label', { for: `f-${k}` }, label),
    h('input', { id: `f-${k}`, name: k, type: type === 'date' && !dateInput(f[k]) ? 'text' : type, value: f[k] })];
  const disp = h('select', { id: 'f-disposition', name: 'disposition' },
    ['', 'ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED'].map((d) => h('option', { value: d, selected: f.disposition === d }, d || 'any')));
  const size = h('select', { id: 'f-limit', name: 'limit' }, [25, 50, 100, 500].map((n) => h('option', { value: n, selected: n === limit }, String(n))));
  const ord = h('select', { id: 'f-order', name: 'order' }, [['desc', 'newest first'], ['asc', 'oldest first']].map(([v, t]) => h('option', { value: v, selected: v === order }, t)));
  const status = h('p', { class: 'status', role: 'status', id: 'cdr-status' });
  const table = h('table', { class: 'cdrs', id: 'cdr-table' });
  const pager = h('div', { class: 'pager' });
  const form = h('form', { class: 'filters', id: 'cdr-filters', 'aria-label': 'CDR filters' },
    input('from', 'From date', 'date'), input('to', 'To date (inclusive)', 'date'),
    input('number', 'Number (from or to)'), input('src', 'From'), input('dst', 'To'),
    h('label', { for: 'f-disposition' }, 'Disposition'), disp, input('uniqueid', 'Unique ID'), input('call_id', 'SIP Call-ID'),
    h('label', { for: 'f-limit' }, 'Per page'), size, h('label', { for: 'f-order' }, 'Order'), ord,
    h('button', { type: 'submit', id: 'cdr-search' }, 'Search'),
    h('button', { type: 'button', id: 'cdr-csv', onclick: exportCSV }, 'Export CSV'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) q.set(el.name, el.value);
    go(q);
  });
  root.append(h('div', { class: 'bar' }, h('h2', {}, 'Calls (CDR)'), status), form, table, pager);

  function go(q) {
    location.hash = `#/cdrs?${q}`;
  }

  let rows = [];
  function renderTable() {
    const sorted = sortKey ? [...rows].sort((a, b) => {
      const x = a[sortKey], y = b[sortKey];
      return (typeof x === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true })) * sortDir;
    }) : rows;
    table.replaceChildren(
      h('thead', {}, h('tr', {}, columns.map(([k, label]) => h('th', { 'aria-sort': sortKey === k ? (sortDir > 0 ? 'ascending' : 'descending') : 'none' },
        h('button', { type: 'button', class: 'sort', onclick: () => { sortDir = sortKey === k ? -sortDir : 1; sortKey = k; renderTable(); } }, label))))),
      h('tbody', {}, sorted.map((c) => h('tr', { dataset: { id: String(c.id), uniqueid: c.uniqueid } },
        h('td', {}, h('a', { href: `#/cdrs/${c.id}` }, String(c.id))),
        h('td', {}, when(c.calldate)), h('td', {}, c.src), h('td', {}, c.dst),
        h('td', { dataset: { disposition: c.disposition } }, c.disposition),
        h('td', {}, duration(c.duration)), h('td', {}, duration(c.billsec)),
        h('td', {}, c.mos ? c.mos.toFixed(2) : ''), h('td', {}, c.hangup_by)))));
  }

  async function load() {
    const q = apiQuery(f);
    q.set('limit', limit);
    q.set('offset', offset);
    q.set('order', order);
    try {
      const page = await api('GET', `/cdrs?${q}`);
      rows = page.cdrs || [];
      status.textContent = page.total === 0 ? 'No calls match.' : `${offset + 1}–${offset + rows.length} of ${page.total}`;
      renderTable();
      const nav = (o) => { const p = new URLSearchParams(params); p.set('offset', o); go(p); };
      pager.replaceChildren(
        h('button', { type: 'button', disabled: offset === 0, onclick: () => nav(Math.max(0, offset - limit)) }, '← Previous'),
        h('button', { type: 'button', disabled: offset + rows.length >= page.total, onclick: () => nav(offset + limit) }, 'Next →'));
    } catch (err) {
      status.textContent = message(err);
      status.classList.add('error');
    }
  }

  async function exportCSV() {
    const q = apiQuery(f);
    q.set('order', order);
    const all = [];
    try {
      for (let off = 0; off < 100000; off += 10000) {
        q.set('limit', 10000);
        q.set('offset', off);
        const page = await api('GET', `/cdrs?${q}`);
        all.push(...(page.cdrs || []));
        if (all.length >= page.total || (page.cdrs || []).length === 0) break;
      }
      save('cdrs.csv', new Blob([toCSV(all)], { type: 'text/csv' }));
      status.textContent = `Exported ${all.length} calls.`;
    } catch (err) {
      status.textContent = `export: ${message(err)}`;
    }
  }

  load();
}

export function cdrDetailView(root, { match }) {
  const id = match[1];
  const status = h('p', { class: 'status', role: 'status' });
  const body = h('div', { class: 'cdr', id: 'cdr-detail' });
  root.append(h('div', { class: 'bar' }, h('a', { href: '#/cdrs' }, '← Calls'), h('h2', {}, `Call ${id}`), status), body);
  const urls = [];

  (async () => {
    let c;
    try {
      c = await api('GET', `/cdrs/${id}`);
    } catch (err) {
      status.textContent = message(err);
      status.classList.add('error');
      return;
    }
    const facts = [
      ['Date', when(c.calldate)], ['Answered', when(c.answerdate)], ['Ended', when(c.enddate)],
      ['From', `${c.src} (${c.clid})`], ['To', c.dst], ['Disposition', c.disposition], ['End status', c.endstatus],
      ['Duration', duration(c.duration)], ['Talk', duration(c.billsec)], ['Hung up by', c.hangup_by],
      ['Last SIP response', c.last_sip_response || ''], ['Post-dial delay', `${c.pdd_ms} ms`], ['Codec', c.codec],
      ['Caller', `${c.src_ip} ${c.src_ua}`], ['Callee', `${c.dst_ip} ${c.dst_ua}`],
      ['Channels', `${c.channel} → ${c.dstchannel}`], ['Unique ID', c.uniqueid], ['SIP Call-ID', c.callid],
    ];
    body.append(
      h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v ?? ''))])),
      h('h3', {}, 'Quality'),
      h('table', { class: 'quality' },
        h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'Caller → callee'), h('th', {}, 'Callee → caller'))),
        h('tbody', {},
          h('tr', {}, h('th', {}, 'RTP packets'), h('td', {}, String(c.rtp_packets_ab)), h('td', {}, String(c.rtp_packets_ba))),
          h('tr', {}, h('th', {}, 'Loss'), h('td', {}, `${(c.loss_ab * 100).toFixed(2)} %`), h('td', {}, `${(c.loss_ba * 100).toFixed(2)} %`)),
          h('tr', {}, h('th', {}, 'Jitter'), h('td', {}, `${c.jitter_ab_ms.toFixed(1)} ms`), h('td', {}, `${c.jitter_ba_ms.toFixed(1)} ms`)))),
      h('p', {}, `MOS ${c.mos ? c.mos.toFixed(2) : '—'}`),
      qualityCharts(c.quality_series),
    );
    if (can('calls.read')) await legs(c);
    if (can('recordings.read')) await recordings(c);
    if (can('pcap.read')) await capture(c);
  })();

  // The call's legs from its dossier: every channel it had, the ones a
  // transfer or pickup replaced included, and its transfers.
  async function legs(c) {
    const sec = h('section', { id: 'legs', 'aria-label': 'Legs' }, h('h3', {}, 'Legs'));
    body.append(sec);
    try {
      const d = await api('GET', `/calls/${encodeURIComponent(c.uniqueid)}/dossier`);
      const byId = new Map((d.parties || []).map((p) => [p.uniqueid, p]));
      sec.append(h('table', { class: 'legs' },
        h('thead', {}, h('tr', {}, ['Channel', 'Party', 'Direction', 'Started', 'Answered', 'Ended', 'Cause', 'Replaced by'].map((x) => h('th', {}, x)))),
        h('tbody', {}, (d.parties || []).map((p) => h('tr', { dataset: { peer: p.peer } },
          h('td', {}, p.name), h('td', {}, p.peer), h('td', {}, p.direction),
          h('td', {}, when(p.created)), h('td', {}, when(p.answered)), h('td', {}, when(p.ended)),
          h('td', {}, p.hangup_cause || ''), h('td', {}, byId.get(p.replaced_by)?.name || p.replaced_by || ''))))));
      if ((d.transfers || []).length) {
        sec.append(h('ul', { class: 'transfers' }, d.transfers.map((t) => h('li', {},
          `${when(t.time)}: ${t.pickup ? 'picked up by' : 'transferred to'} ${t.channel?.peer || '?'}${t.replaces ? ` (replacing ${byId.get(t.replaces)?.name || t.replaces})` : ''}`))));
      }
    } catch (err) {
      sec.append(h('p', {}, err.status === 404 ? 'No record of this call\'s legs (the event log keeps them for a limited time).' : message(err)));
    }
  }

  async function recordings(c) {
    const sec = h('section', { id: 'recordings', 'aria-label': 'Recordings' }, h('h3', {}, 'Recordings'));
    body.append(sec);
    try {
      const { recordings: recs = [] } = await api('GET', `/recordings?call=${encodeURIComponent(c.uniqueid)}`);
      if (recs.length === 0) { sec.append(h('p', {}, 'No recording of this call.')); return; }
      for (const r of recs) {
        const row = h('div', { class: 'rec' }, h('p', {}, `${r.file} · ${duration(r.duration_ms / 1000)} · ${r.state}`));
        sec.append(row);
        if (!can('recordings.download')) continue;
        const audio = h('audio', { controls: true, preload: 'metadata', 'aria-label': `Recording ${r.id}` });
        try {
          const data = await blob(`/recordings/${encodeURIComponent(r.id)}/audio`);
          const url = URL.createObjectURL(data);
          urls.push(url);
          audio.src = url;
          row.append(waveform(await data.arrayBuffer(), audio), audio, h('a', { href: url, download: r.file }, 'Download WAV'));
        } catch (err) {
          row.append(h('p', { class: 'error' }, message(err)));
        }
      }
    } catch (err) {
      sec.append(h('p', { class: 'error' }, message(err)));
    }
  }

  async function capture(c) {
    const sec = h('section', { id: 'capture', 'aria-label': 'SIP capture' }, h('h3', {}, 'SIP'));
    body.append(sec);
    try {
      const { messages = [] } = await api('GET', `/cdrs/${c.id}/sip`);
      sec.append(h('button', {
        type: 'button', id: 'pcap-download',
        onclick: async () => { try { save(`${c.uniqueid}.pcap`, await blob(`/cdrs/${c.id}/pcap`)); } catch (err) { sec.append(h('p', { class: 'error' }, message(err))); } },
      }, 'Download PCAP'), ladder(messages));
    } catch (err) {
      sec.append(h('p', {}, err.status === 404 || err.status === 501 ? 'No capture of this call.' : message(err)));
    }
  }

  return () => urls.forEach((u) => URL.revokeObjectURL(u));
}

/** A SIP ladder: one column per address, one arrow per message. */
export function ladder(messages) {
  const hosts = [];
  for (const m of messages) for (const a of [m.src, m.dst]) if (!hosts.includes(a)) hosts.push(a);
  const colW = 220, rowH = 28, top = 40;
  const width = Math.max(hosts.length, 2) * colW, height = top + messages.length * rowH + 20;
  const x = (a) => colW / 2 + hosts.indexOf(a) * colW;
  const t0 = messages.length ? Date.parse(messages[0].time) : 0;
  return svg('svg', { class: 'ladder', id: 'sip-ladder', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'SIP ladder diagram' },
    hosts.map((a) => [
      svg('text', { x: x(a), y: 16, 'text-anchor': 'middle', class: 'host' }, a),
      svg('line', { x1: x(a), y1: 24, x2: x(a), y2: height, class: 'life' }),
    ]),
    messages.map((m, i) => {
      const y = top + i * rowH, x1 = x(m.src), x2 = x(m.dst), dir = x2 >= x1 ? 1 : -1;
      return svg('g', { class: m.status ? 'resp' : 'req' },
        svg('line', { x1, y1: y, x2, y2: y }),
        svg('polygon', { points: `${x2},${y} ${x2 - 8 * dir},${y - 4} ${x2 - 8 * dir},${y + 4}` }),
        svg('text', { x: (x1 + x2) / 2, y: y - 5, 'text-anchor': 'middle' }, `${m.method || m.status} ${m.status ? m.line.replace(/^SIP\/2\.0 \d+ /, '') : ''}`.trim()),
        svg('text', { x: 4, y: y + 4, class: 'time' }, `+${((Date.parse(m.time) - t0) / 1000).toFixed(3)}s`));
    }));
}

/**
 * The peaks of a 16-bit PCM WAV file: for each of n columns the lowest
 * and highest sample (all channels), scaled to -1..1. Anything else (a
 * truncated file, another encoding) gives an empty list.
 */
export function peaks(buf, n) {
  const v = new DataView(buf);
  const tag = (o) => String.fromCharCode(v.getUint8(o), v.getUint8(o + 1), v.getUint8(o + 2), v.getUint8(o + 3));
  if (buf.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return [];
  let bits = 0, data = -1, size = 0;
  for (let o = 12; o + 8 <= buf.byteLength;) {
    const id = tag(o), len = v.getUint32(o + 4, true);
    if (id === 'fmt ' && o + 24 <= buf.byteLength) {
      if (v.getUint16(o + 8, true) !== 1) return []; // not PCM
      bits = v.getUint16(o + 22, true);
    } else if (id === 'data') {
      data = o + 8;
      size = Math.min(len, buf.byteLength - data);
      break;
    }
    o += 8 + len + (len % 2);
  }
  if (bits !== 16 || data < 0) return [];
  const samples = Math.floor(size / 2);
  const per = Math.max(1, Math.ceil(samples / n));
  const out = [];
  for (let i = 0; i < samples; i += per) {
    let lo = 0, hi = 0;
    for (let j = i; j < Math.min(i + per, samples); j++) {
      const s = v.getInt16(data + j * 2, true);
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    out.push([lo / 32768, hi / 32768]);
  }
  return out;
}

/** The recording's waveform; a click seeks the player there. */
// qualityCharts draws each stream's quality over time (a point per 5 s
// while the call was bridged): MOS, loss and jitter, caller's and
// callee's audio as two lines, with the points as a table for screen
// readers and copying.
function qualityCharts(series) {
  const a = series?.a || [], b = series?.b || [];
  if (a.length === 0 && b.length === 0) return h('p', { id: 'quality-over-time' }, 'No quality over time for this call (no audio was bridged).');
  const all = [...a, ...b];
  const t0 = Math.min(...all.map((p) => Date.parse(p.at))) - 5000;
  const t1 = Math.max(...all.map((p) => Date.parse(p.at)));
  const loss = (p) => (p.packets + p.lost ? (100 * p.lost) / (p.packets + p.lost) : 0);
  const charts = [
    ['MOS', (p) => p.mos, 1, 4.5, (v) => v.toFixed(1)],
    ['Loss %', loss, 0, Math.max(1, ...all.map(loss)), (v) => v.toFixed(1)],
    ['Jitter ms', (p) => p.jitter_ms, 0, Math.max(10, ...all.map((p) => p.jitter_ms)), (v) => v.toFixed(0)],
  ];
  const w = 600, ht = 90, pad = 34;
  // Each point covers the 5 s before its time: drawn as a step, so a
  // single point is a visible segment.
  const xt = (ms) => pad + ((ms - t0) / Math.max(1, t1 - t0)) * (w - pad - 4);
  const chart = ([name, f, lo, hi, fmt]) => {
    const y = (v) => 4 + (1 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo || 1)) * (ht - 18);
    const line = (pts, cls) => pts.length ? svg('polyline', {
      class: cls,
      points: pts.flatMap((p) => {
        const end = Date.parse(p.at), yy = y(f(p)).toFixed(1);
        return [`${xt(end - 5000).toFixed(1)},${yy}`, `${xt(end).toFixed(1)},${yy}`];
      }).join(' '),
    }) : null;
    return svg('svg', { class: 'qchart', viewBox: `0 0 ${w} ${ht}`, width: w, height: ht, role: 'img', 'aria-label': `${name} over time`, 'data-metric': name },
      svg('text', { x: 2, y: 12, class: 'axis' }, fmt(hi)),
      svg('text', { x: 2, y: ht - 14, class: 'axis' }, fmt(lo)),
      svg('text', { x: w - 4, y: ht - 2, 'text-anchor': 'end', class: 'axis' }, `${name} · ${Math.round((t1 - t0) / 1000)} s`),
      line(a, 'a'), line(b, 'b'));
  };
  const rows = (label, pts) => pts.map((p) => h('tr', {},
    h('td', {}, label), h('td', {}, `+${Math.round((Date.parse(p.at) - t0) / 1000)} s`), h('td', {}, String(p.packets)),
    h('td', {}, `${loss(p).toFixed(2)} %`), h('td', {}, p.jitter_ms.toFixed(1)), h('td', {}, p.mos.toFixed(2))));
  return h('section', { id: 'quality-over-time', 'aria-label': 'Quality over time' },
    h('h4', {}, 'Over time'),
    h('p', { class: 'legend' }, h('span', { class: 'a' }, '— caller → callee'), ' ', h('span', { class: 'b' }, '— callee → caller')),
    charts.map(chart),
    h('details', {}, h('summary', {}, 'Points'),
      h('table', { class: 'qpoints' },
        h('thead', {}, h('tr', {}, ['Stream', 'Time', 'Packets', 'Loss', 'Jitter ms', 'MOS'].map((t) => h('th', {}, t)))),
        h('tbody', {}, rows('caller → callee', a), rows('callee → caller', b)))));
}

function waveform(buf, audio) {
  const w = 600, ht = 80;
  const p = peaks(buf, w);
  const d = p.map(([lo, hi], x) => `M${x} ${(ht / 2 - hi * ht / 2).toFixed(1)}V${(ht / 2 - lo * ht / 2 + 0.5).toFixed(1)}`).join('');
  const head = svg('line', { x1: 0, y1: 0, x2: 0, y2: ht, class: 'head' });
  const el = svg('svg', { class: 'wave', viewBox: `0 0 ${w} ${ht}`, width: w, height: ht, role: 'img', 'aria-label': 'Waveform: click to seek' },
    svg('path', { d }), head);
  el.addEventListener('click', (ev) => {
    const r = el.getBoundingClientRect();
    if (audio.duration) audio.currentTime = ((ev.clientX - r.left) / r.width) * audio.duration;
  });
  audio.addEventListener('timeupdate', () => {
    const x = audio.duration ? (audio.currentTime / audio.duration) * w : 0;
    head.setAttribute('x1', x);
    head.setAttribute('x2', x);
  });
  return el;
}
