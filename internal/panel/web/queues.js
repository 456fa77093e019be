// Queues: waiting callers with position and wait time (move, remove),
// agents with status and pause reason, and today's service level.
import { api, can } from './api.js';
import { h, duration, message } from './dom.js';

// Queue member status (Asterisk's values): label and colour class.
const memberStates = {
  0: ['unknown', 'unavailable'], 1: ['free', 'idle'], 2: ['in use', 'inuse'], 3: ['busy', 'inuse'],
  4: ['invalid', 'unavailable'], 5: ['unavailable', 'unavailable'], 6: ['ringing', 'ringing'],
  7: ['ringing, in use', 'inuse'], 8: ['on hold', 'hold'],
};

/** Seconds within which an answer counts for the service level (the API's default). */
export const serviceLevel = 20;

/** The /queues/stats query for today's figures, shared with the dashboard. */
export function statsQuery() {
  return `from=${new Date().toISOString().slice(0, 10)}&service_level=${serviceLevel}`;
}

export function queuesView(root, { live }) {
  const status = h('p', { class: 'status', role: 'status' });
  const body = h('div', { class: 'queues', id: 'queues' });
  root.append(h('div', { class: 'bar' }, h('h2', {}, 'Queues'), status), body);
  const say = (text, bad = false) => { status.textContent = text; status.classList.toggle('error', bad); };
  const act = async (label, f) => {
    try { await f(); say(`${label}: done`); await load(); } catch (err) { say(`${label}: ${message(err)}`, true); }
  };
  let stopped = false;
  let generation = 0; // only the latest load is shown
  const reasons = new Map(); // typed pause reasons survive reloads

  async function load() {
    const mine = ++generation;
    try {
      const { queues = [] } = await api('GET', '/queues');
      const callers = await Promise.all(queues.map((q) => api('GET', `/queues/${encodeURIComponent(q.name)}/calls`).then((r) => r.calls || [])));
      let stats = new Map();
      if (can('cdr.read')) {
        const s = await api('GET', `/queues/stats?${statsQuery()}`).catch(() => null);
        stats = new Map((s?.queues || []).map((x) => [x.queue, x]));
      }
      if (!stopped && mine === generation) render(queues, callers, stats);
    } catch (err) {
      say(`loading: ${message(err)}`, true);
    }
  }

  function render(queues, callers, stats) {
    body.replaceChildren(...queues.map((q, i) => {
      const st = stats.get(q.name);
      const waiting = callers[i];
      const qn = encodeURIComponent(q.name);
      return h('section', { class: 'queue', id: `queue-${q.name}`, 'aria-label': `Queue ${q.name}` },
        h('h3', {}, `${q.name} (${q.number}) · ${q.strategy}`),
        st ? h('p', { class: 'sl' }, `Today: ${st.offered} offered, ${st.answered} answered, ${st.abandoned} abandoned, service level ${st.service_level_pct.toFixed(0)} % (${serviceLevel} s), average wait ${duration(st.avg_wait)}`) : null,
        h('h4', {}, `Waiting (${waiting.length})`),
        waiting.length === 0 ? h('p', {}, 'Nobody is waiting.') : h('table', {},
          h('thead', {}, h('tr', {}, h('th', {}, 'Pos'), h('th', {}, 'Caller'), h('th', {}, 'Waiting'), h('th', {}, ''))),
          h('tbody', {}, waiting.map((c) => h('tr', {
            draggable: can('queues.supervise') ? 'true' : null,
            dataset: { queue: q.name, call: c.call_id, position: String(c.position) },
          },
            h('td', {}, String(c.position)),
            h('td', {}, `${c.callerid_num}${c.callerid_name ? ` ${c.callerid_name}` : ''}`),
            h('td', { class: 'dur', dataset: { joined: c.joined } }, duration((Date.now() - Date.parse(c.joined)) / 1000)),
            h('td', {}, can('queues.supervise') ? [
              c.position > 1 ? h('button', { type: 'button', 'aria-label': `Move ${c.callerid_num} up`, onclick: () => act('move', () => api('POST', `/queues/${qn}/calls/${encodeURIComponent(c.call_id)}/position`, { position: c.position - 1 })) }, '↑') : null,
              c.position < waiting.length ? h('button', { type: 'button', 'aria-label': `Move ${c.callerid_num} down`, onclick: () => act('move', () => api('POST', `/queues/${qn}/calls/${encodeURIComponent(c.call_id)}/position`, { position: c.position + 1 })) }, '↓') : null,
              h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${c.callerid_num}`, onclick: () => act('remove', () => api('DELETE', `/queues/${qn}/calls/${encodeURIComponent(c.call_id)}`)) }, 'Remove'),
            ] : null))))),
        h('h4', {}, `Agents (${(q.members || []).length})`),
        h('table', {},
          h('thead', {}, h('tr', {}, h('th', {}, 'Agent'), h('th', {}, 'Status'), h('th', {}, 'Calls'), h('th', {}, 'Paused'), h('th', {}, ''))),
          h('tbody', {}, (q.members || []).map((m) => {
            const key = `${q.name}/${m.number}`;
            const reason = h('input', { size: 10, 'aria-label': `Pause reason for ${m.number}`, placeholder: 'reason', value: reasons.get(key) || '' });
            reason.addEventListener('input', () => reasons.set(key, reason.value));
            return h('tr', { dataset: { agent: m.number } },
              h('td', {}, `${m.number} ${m.name}`),
              h('td', { dataset: { state: (memberStates[m.status] || memberStates[0])[1] } }, (memberStates[m.status] || memberStates[0])[0]),
              h('td', {}, String(m.calls_taken)),
              h('td', {}, m.paused ? `paused${m.reason ? `: ${m.reason}` : ''}` : ''),
              h('td', {}, can('calls.control') ? (m.paused
                ? h('button', { type: 'button', onclick: () => act('unpause', () => api('POST', `/queues/${qn}/members/${encodeURIComponent(m.number)}/pause`, { paused: false })) }, 'Unpause')
                : [reason, h('button', { type: 'button', onclick: () => { reasons.delete(key); act('pause', () => api('POST', `/queues/${qn}/members/${encodeURIComponent(m.number)}/pause`, { paused: true, reason: reason.value.trim() })); } }, 'Pause')]) : null));
          }))));
    }));
  }

  // Reordering by drag: a waiting caller dropped on another caller of
  // its queue takes that one's position (the request the ↑ ↓ buttons make).
  let dragged = null;
  const target = (ev) => {
    const tr = ev.target.closest?.('tr[data-call]');
    return tr && dragged && tr.dataset.queue === dragged.queue && tr.dataset.call !== dragged.call ? tr : null;
  };
  body.addEventListener('dragstart', (ev) => {
    const tr = ev.target.closest?.('tr[data-call]');
    if (!tr) return;
    dragged = { queue: tr.dataset.queue, call: tr.dataset.call };
    ev.dataTransfer.setData('text/plain', tr.dataset.call);
    ev.dataTransfer.effectAllowed = 'move';
  });
  body.addEventListener('dragover', (ev) => { if (target(ev)) ev.preventDefault(); });
  body.addEventListener('drop', (ev) => {
    const tr = target(ev);
    const d = dragged;
    dragged = null;
    if (!tr) return;
    ev.preventDefault();
    act('move', () => api('POST', `/queues/${encodeURIComponent(d.queue)}/calls/${encodeURIComponent(d.call)}/position`, { position: Number(tr.dataset.position) }));
  });
  body.addEventListener('dragend', () => { dragged = null; });

  const ticker = setInterval(() => {
    body.querySelectorAll('.dur').forEach((el) => { el.textContent = duration((Date.now() - Date.parse(el.dataset.joined)) / 1000); });
  }, 1000);
  // Queue events change positions of everyone behind: reload the queues
  // (debounced) rather than patch them.
  let pending = 0;
  const reload = () => { if (!pending) pending = setTimeout(() => { pending = 0; load(); }, 200); };
  const unsubscribe = live ? live.subscribe({
    event: (e) => { if (e.type.startsWith('queue.')) reload(); },
    resync: reload,
  }) : null;
  const poll = live ? 0 : setInterval(load, 5000);
  if (!live) load();
  return () => {
    stopped = true;
    clearInterval(ticker);
    clearInterval(poll);
    clearTimeout(pending);
    if (unsubscribe) unsubscribe();
  };
}
