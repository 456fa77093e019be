// The switchboard: every extension as a tile coloured by its device state
// (BLF), who it talks to and for how long, and the call actions the role
// may use; door phones (camera snapshot, open-door relay) at the end.
import { api, blob, can, session } from './api.js';
import { h, duration, message } from './dom.js';

// Device states (docs/pbx.md): value → tile state and label.
const states = {
  0: ['idle', 'idle'], 1: ['inuse', 'in use'], 2: ['inuse', 'busy'], 4: ['unavailable', 'unavailable'],
  8: ['ringing', 'ringing'], 9: ['inuse', 'in use, ringing'], 16: ['hold', 'on hold'], 32: ['ringing', 'dialling'],
};

export function stateOf(x) {
  return states[x.state] || (x.registered ? states[0] : states[4]);
}

/**
 * The live model: extensions and calls from one snapshot plus the events
 * since. While a snapshot loads, events are kept and applied after it:
 * each event carries its whole extension, channel or call, so applying
 * one the snapshot already reflects changes nothing for good.
 */
export class Model {
  constructor() {
    this.exts = new Map();
    this.calls = new Map();
    this.loading = false;
    this.pending = [];
    // What the next render must redraw: every tile, or these numbers.
    this.all = true;
    this.dirty = new Set();
  }

  /** Marks the tiles of every party of a call for redrawing. */
  touchCall(call) {
    for (const c of call?.channels || []) if (!c.trunk) this.dirty.add(c.peer);
  }

  load(exts, calls) {
    this.legs = null;
    this.all = true;
    this.exts = new Map(exts.map((x) => [x.number, x]));
    this.calls = new Map(calls.map((c) => [c.id, c]));
    const pending = this.pending;
    this.pending = [];
    this.loading = false;
    pending.forEach((e) => this.apply(e));
  }

  apply(e) {
    if (this.loading) { this.pending.push(e); return; }
    this.legs = null;
    switch (e.type) {
      case 'extension.state':
        if (!e.extension) break;
        if (!this.exts.has(e.extension.number)) this.all = true; // a new tile
        this.exts.set(e.extension.number, { ...this.exts.get(e.extension.number), ...e.extension });
        this.dirty.add(e.extension.number);
        break;
      case 'call.new': case 'call.answered':
        if (!e.call) break;
        this.touchCall(this.calls.get(e.call.id));
        this.calls.set(e.call.id, e.call);
        this.touchCall(e.call);
        break;
      case 'call.ended':
        if (!e.call) break;
        this.touchCall(this.calls.get(e.call.id));
        this.touchCall(e.call);
        this.calls.delete(e.call.id);
        break;
      case 'channel.new': case 'channel.state': {
        const ch = e.channel;
        if (!ch) break;
        this.touchCall(this.calls.get(ch.call_id));
        this.dirty.add(ch.peer);
        let call = this.calls.get(ch.call_id);
        if (!call) {
          call = { id: ch.call_id, channels: [], created: ch.created };
          this.calls.set(call.id, call);
        }
        const i = (call.channels || []).findIndex((c) => c.uniqueid === ch.uniqueid);
        call.channels = [...(call.channels || [])];
        if (i >= 0) call.channels[i] = ch; else call.channels.push(ch);
        break;
      }
      case 'channel.hangup': {
        const ch = e.channel;
        const call = ch && this.calls.get(ch.call_id);
        if (!call) break;
        this.touchCall(call);
        call.channels = (call.channels || []).filter((c) => c.uniqueid !== ch.uniqueid);
        if (call.channels.length === 0) this.calls.delete(call.id);
        break;
      }
      default:
    }
  }

  /**
   * The extension's live channel, its call and the other party's
   * channel. The index is built once per change, not once per tile (500
   * tiles × 200 calls would be 100 000 steps a frame).
   */
  legOf(number) {
    if (!this.legs) {
      this.legs = new Map();
      for (const call of this.calls.values()) {
        for (const mine of call.channels || []) {
          if (mine.trunk || this.legs.has(mine.peer)) continue;
          const other = (call.channels || []).find((c) => c.uniqueid !== mine.uniqueid);
          this.legs.set(mine.peer, { call, mine, other });
        }
      }
    }
    return this.legs.get(number) || null;
  }
}

function partyName(ch) {
  if (!ch) return '';
  return ch.trunk ? (ch.callerid_num || ch.peer) : (ch.peer || ch.callerid_num);
}

export function switchboardView(root, { live }) {
  const me = session().me;
  const model = new Model();
  let selected = null;
  const status = h('p', { class: 'status', role: 'status', id: 'sb-status' });
  const myExt = h('input', { id: 'my-ext', size: 6, value: localStorage.getItem('sb.myext') || me.extension || '', 'aria-label': 'My extension' });
  myExt.addEventListener('change', () => localStorage.setItem('sb.myext', myExt.value.trim()));
  const tiles = h('div', {
    class: 'tiles', id: 'tiles', role: 'group', 'aria-label': 'Extensions',
    onclick: (ev) => {
      const t = ev.target.closest('.tile');
      if (!t) return;
      if (selected) model.dirty.add(selected);
      selected = selected === t.dataset.number ? null : t.dataset.number;
      model.dirty.add(t.dataset.number);
      render();
    },
  });
  const canDrag = can('calls.control');
  const drawer = h('aside', { class: 'drawer', id: 'drawer', 'aria-label': 'Extension actions', hidden: true });
  const doors = h('section', { class: 'doors', id: 'doors', 'aria-label': 'Door phones' });
  root.append(
    h('div', { class: 'bar' }, h('h2', {}, 'Switchboard'), h('label', { for: 'my-ext' }, 'My extension '), myExt, status),
    h('div', { class: 'split' }, tiles, drawer),
    doors,
  );

  const say = (text, bad = false) => { status.textContent = text; status.classList.toggle('error', bad); };
  const act = async (label, f) => {
    try {
      await f();
      say(`${label}: done`);
    } catch (err) {
      say(`${label}: ${message(err)}`, true);
    }
  };

  // Drag and drop: a tile dropped on another calls from the one to the
  // other, or, when the dragged extension is in a call, sends its partner
  // there: the Call and Transfer actions (which stay, for the keyboard).
  let dragged = '';
  const mark = (t) => tiles.querySelectorAll('.tile.over').forEach((el) => { if (el !== t) el.classList.remove('over'); });
  const target = (ev) => {
    const t = ev.target.closest?.('.tile');
    return t && dragged && t.dataset.number !== dragged ? t : null;
  };
  if (canDrag) {
    tiles.addEventListener('dragstart', (ev) => {
      const t = ev.target.closest?.('.tile');
      if (!t) return;
      dragged = t.dataset.number;
      ev.dataTransfer.setData('text/plain', dragged);
      ev.dataTransfer.effectAllowed = 'link';
    });
    tiles.addEventListener('dragover', (ev) => {
      const t = target(ev);
      mark(t);
      if (!t) return;
      ev.preventDefault(); // a place to drop
      t.classList.add('over');
    });
    tiles.addEventListener('drop', (ev) => {
      const t = target(ev);
      const from = dragged;
      dragged = '';
      mark(null);
      if (!t) return;
      ev.preventDefault();
      dropped(from, t.dataset.number);
    });
    tiles.addEventListener('dragend', () => { dragged = ''; mark(null); });
  }
  function dropped(from, to) {
    const leg = model.legOf(from);
    if (leg) act(`transfer to ${to}`, () => api('POST', `/channels/${encodeURIComponent((leg.other || leg.mine).uniqueid)}/redirect`, { to }));
    else act(`call ${from} → ${to}`, () => api('POST', '/calls', { from, to }));
  }

  // Only the latest snapshot counts: an older one answering late could
  // be older than events already applied.
  let generation = 0;
  async function resync() {
    const mine = ++generation;
    model.loading = true;
    model.pending = [];
    try {
      const [exts, calls] = await Promise.all([
        api('GET', '/extensions'),
        can('calls.read') ? api('GET', '/calls') : [],
      ]);
      if (mine !== generation) return;
      model.load(exts || [], calls || []);
    } catch (err) {
      if (mine !== generation) return;
      model.loading = false;
      say(`loading: ${message(err)}`, true);
    }
    render();
  }

  function tile(x) {
    const [st, label] = stateOf(x);
    const leg = model.legOf(x.number);
    let who = '', since = 0;
    if (leg) {
      who = partyName(leg.other) || leg.call.to || leg.call.from || '';
      const t = leg.mine.answered || leg.mine.created || leg.call.created;
      since = t ? (Date.now() - Date.parse(t)) / 1000 : 0;
    }
    return h('button', {
      type: 'button', class: 'tile', id: `tile-${x.number}`, draggable: canDrag ? 'true' : null,
      dataset: { state: st, number: x.number },
      'aria-pressed': selected === x.number ? 'true' : 'false',
      'aria-label': `${x.number} ${x.name}: ${label}${who ? `, with ${who}` : ''}`,
    },
    h('span', { class: 'num' }, x.number),
    h('span', { class: 'name' }, x.name),
    h('span', { class: 'st' }, label),
    leg ? h('span', { class: 'peer' }, `↔ ${who}`) : null,
    leg ? h('span', { class: 'dur', dataset: { since: String(Date.now() - since * 1000) } }, duration(since)) : null);
  }

  function field(id, label, value = '') {
    const input = h('input', { id, value, size: 8 });
    return [h('label', { for: id }, label), input];
  }

  function actions(x) {
    const leg = model.legOf(x.number);
    const [, label] = stateOf(x);
    const out = [h('h3', {}, `${x.number} ${x.name}`), h('p', {}, label)];
    const mine = () => myExt.value.trim();
    if (can('calls.control')) {
      const [fl, from] = field('call-from', 'Call from', mine());
      out.push(h('form', {
        class: 'act', onsubmit: (ev) => {
          ev.preventDefault();
          act('call', () => api('POST', '/calls', { from: from.value.trim(), to: x.number }));
        },
      }, fl, from, h('button', { id: 'act-call' }, `Call ${x.number}`)));
    }
    if (leg) {
      const { call, mine: ch, other } = leg;
      out.push(h('p', { class: 'peer' }, `with ${partyName(other) || '?'} · call ${call.id}`));
      if (can('calls.control')) {
        out.push(h('button', { type: 'button', id: 'act-hangup', class: 'danger', onclick: () => act('hang up', () => api('DELETE', `/calls/${encodeURIComponent(call.id)}`)) }, 'Hang up'));
        const [tl, to] = field('transfer-to', 'Transfer the other party to');
        out.push(h('form', {
          class: 'act', onsubmit: (ev) => {
            ev.preventDefault();
            act('transfer', () => api('POST', `/channels/${encodeURIComponent((other || ch).uniqueid)}/redirect`, { to: to.value.trim() }));
          },
        }, tl, to, h('button', { id: 'act-transfer' }, 'Transfer')));
        if (ch.state === 'ringing' || x.state === 8) {
          out.push(h('button', { type: 'button', id: 'act-pickup', onclick: () => act('pick up', () => api('POST', `/channels/${encodeURIComponent(ch.uniqueid)}/pickup`, mine() ? { by: mine() } : {})) }, 'Pick up here'));
        }
        const [dl, digits] = field('dtmf-digits', 'DTMF to the other party');
        out.push(h('form', {
          class: 'act', onsubmit: (ev) => {
            ev.preventDefault();
            act('DTMF', () => api('POST', `/channels/${encodeURIComponent((other || ch).uniqueid)}/dtmf`, { digits: digits.value.trim() }));
          },
        }, dl, digits, h('button', { id: 'act-dtmf' }, 'Send')));
      }
      if (can('calls.listen')) {
        out.push(h('button', { type: 'button', id: 'act-spy', onclick: () => act('spy', () => api('POST', `/channels/${encodeURIComponent(ch.uniqueid)}/monitor`, mine() ? { listener: mine() } : {})) }, 'Listen (spy)'));
      }
      if (can('recordings.control')) {
        out.push(h('button', { type: 'button', id: 'act-record', onclick: () => act('record', () => api('POST', '/recordings', { call: call.id })) }, 'Record'));
      }
    }
    return out;
  }

  // Tiles are updated in place, keyed by number: an element that is
  // being clicked or has the keyboard focus is never swapped under the
  // user when an event arrives.
  const shown = new Map();
  let drawerKey = '';
  function render() {
    const update = (x) => {
      const fresh = tile(x);
      let el = shown.get(x.number);
      if (!el) {
        el = fresh;
        shown.set(x.number, el);
      } else {
        for (const a of [...el.attributes]) if (!fresh.hasAttribute(a.name)) el.removeAttribute(a.name);
        for (const a of [...fresh.attributes]) if (el.getAttribute(a.name) !== a.value) el.setAttribute(a.name, a.value);
        el.replaceChildren(...fresh.childNodes);
      }
      return el;
    };
    if (model.all) {
      // Every tile, in number order (a snapshot, or a new extension).
      const list = [...model.exts.values()].sort((a, b) => a.number.localeCompare(b.number, undefined, { numeric: true }));
      const order = list.map(update);
      for (const [number, el] of shown) if (!model.exts.has(number)) { el.remove(); shown.delete(number); }
      if (order.some((el, i) => tiles.children[i] !== el) || tiles.children.length !== order.length) tiles.replaceChildren(...order);
    } else {
      // Only the tiles the events touched: one event costs one tile, not 500.
      for (const number of model.dirty) {
        const x = model.exts.get(number);
        if (x && shown.has(number)) update(x);
      }
    }
    model.all = false;
    model.dirty.clear();
    const x = selected && model.exts.get(selected);
    drawer.hidden = !x;
    // The actions are rebuilt only when what they act on changed.
    const leg = x && model.legOf(x.number);
    const key = x ? JSON.stringify([x.number, x.state, leg?.call.id, leg?.mine.uniqueid, leg?.mine.state, leg?.other?.uniqueid]) : '';
    if (key === drawerKey) return;
    drawerKey = key;
    if (x) {
      // Keep what the user is typing when the state changes under it.
      const focused = document.activeElement?.id;
      const values = {};
      drawer.querySelectorAll('input').forEach((i) => { values[i.id] = i.value; });
      drawer.replaceChildren(...actions(x));
      drawer.querySelectorAll('input').forEach((i) => { if (values[i.id] !== undefined) i.value = values[i.id]; });
      if (focused && drawer.querySelector(`#${focused}`)) drawer.querySelector(`#${focused}`).focus();
    }
  }

  // Durations tick without re-rendering the tiles.
  const ticker = setInterval(() => {
    tiles.querySelectorAll('.dur').forEach((el) => { el.textContent = duration((Date.now() - Number(el.dataset.since)) / 1000); });
  }, 1000);

  let rerender = 0;
  const unsubscribe = live ? live.subscribe({
    event: (e) => {
      model.apply(e);
      if (!rerender) rerender = requestAnimationFrame(() => { rerender = 0; render(); });
    },
    resync,
  }) : null;
  // Without the events right the view polls.
  const poll = live ? 0 : setInterval(resync, 3000);
  if (!live) resync();

  const stopDoors = doorPhones(doors, act);
  return () => {
    clearInterval(ticker);
    clearInterval(poll);
    cancelAnimationFrame(rerender);
    if (unsubscribe) unsubscribe();
    stopDoors();
  };
}

/** Door phones: each camera's snapshot (refreshed) and each relay's open button. */
function doorPhones(root, act) {
  const urls = [];
  let timer = 0;
  let stopped = false;
  async function load() {
    const [cams, relays] = await Promise.all([
      can('cameras.view') ? api('GET', '/cameras').then((r) => r.cameras || []).catch(() => []) : [],
      api('GET', '/relays').then((r) => r.relays || []).catch(() => []),
    ]);
    if (stopped || (cams.length === 0 && relays.length === 0)) return;
    const imgs = cams.map((c) => h('img', { id: `camera-${c.id}`, alt: `Camera ${c.id} ${c.name}`, width: 320, height: 240 }));
    root.replaceChildren(h('h2', {}, 'Door phones'), h('div', { class: 'doorrow' },
      ...cams.map((c, i) => h('figure', { class: 'door' }, imgs[i], h('figcaption', {}, `${c.name} (camera ${c.id})`))),
      ...relays.map((rl) => h('div', { class: 'door relay' },
        h('p', {}, `${rl.name} (relay ${rl.id})`),
        can('relays.switch') ? h('button', {
          type: 'button', id: `open-${rl.id}`,
          onclick: () => act(`open ${rl.name}`, () => api('PUT', `/relays/${rl.id}`, { state: 1, pulse_ms: 0 })),
        }, 'Open door') : null))));
    const refresh = async () => {
      for (const [i, c] of cams.entries()) {
        try {
          const url = URL.createObjectURL(await blob(`/cameras/${c.id}/snapshot`));
          if (stopped) { URL.revokeObjectURL(url); return; }
          imgs[i].src = url;
          urls.push(url);
          while (urls.length > cams.length * 2) URL.revokeObjectURL(urls.shift());
        } catch { /* the next refresh tries again */ }
      }
      if (!stopped) timer = setTimeout(refresh, 5000);
    };
    refresh();
  }
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
    urls.forEach((u) => URL.revokeObjectURL(u));
  };
}
