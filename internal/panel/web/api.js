// The native API client: every call the panel makes goes through here.
// REST requests carry the session id in the Authorization header (never
// the cookie), so another page cannot make them on the user's behalf.

const base = document.querySelector('meta[name="sb-api"]').content;
const key = 'sb.session';

export class APIError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

let onUnauthorized = () => {};

/** Called with no arguments whenever the API answers 401. */
export function setUnauthorizedHandler(f) { onUnauthorized = f; }

export function session() {
  const raw = sessionStorage.getItem(key);
  return raw ? JSON.parse(raw) : null;
}

function headers(extra = {}) {
  const s = session();
  const h = { ...extra };
  if (s) h.Authorization = `Session ${s.sid}`;
  return h;
}

async function check(res) {
  if (res.ok) return res;
  let code = '', message = '';
  try {
    const body = await res.json();
    code = body.error?.code;
    message = body.error?.message;
  } catch { /* not JSON */ }
  if (res.status === 401) onUnauthorized();
  throw new APIError(res.status, code, message);
}

/** A JSON request; resolves to the decoded body (null for 202/204). */
export async function api(method, path, body) {
  const init = { method, headers: headers(), credentials: 'omit' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await check(await fetch(base + path, init));
  if (res.status === 204 || res.status === 202) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : null;
}

/** A binary download (recording, capture, snapshot) as a Blob. */
export async function blob(path) {
  const res = await check(await fetch(base + path, { headers: headers(), credentials: 'omit' }));
  return res.blob();
}

/**
 * Logs in. The API also sets its HttpOnly session cookie (hence
 * credentials: same-origin): the event WebSocket, which a browser cannot
 * give headers, authenticates with it, and the API refuses WebSocket
 * handshakes from other origins.
 */
export async function login(user, password) {
  const res = await check(await fetch(base + '/sessions', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, password }),
  }));
  const s = await res.json();
  sessionStorage.setItem(key, JSON.stringify({ sid: s.sid }));
  const me = await api('GET', '/sessions/current');
  sessionStorage.setItem(key, JSON.stringify({ sid: s.sid, me }));
  return me;
}

export async function logout() {
  const s = session();
  sessionStorage.removeItem(key);
  if (!s) return;
  try {
    await fetch(base + '/sessions/current', {
      method: 'DELETE', credentials: 'same-origin', headers: { Authorization: `Session ${s.sid}` },
    });
  } catch { /* the session expires by itself */ }
}

/** Whether the logged-in principal holds a right (the UI hides the rest). */
export function can(right) {
  return !!session()?.me?.rights?.includes(right);
}

/**
 * The live event stream. It remembers the last sequence number and
 * reconnects with since=N, so events missed while the connection was down
 * (a sleeping laptop) are replayed in order; when the server cannot
 * replay (its numbering restarted, or it has no log) onResync asks the
 * views to load their state afresh.
 */
export class EventStream {
  constructor({ onEvent, onResync, onState }) {
    this.onEvent = onEvent;
    this.onResync = onResync;
    this.onState = onState;
    this.last = null;
    this.stopped = true;
    this.delay = 500;
    this.ws = null;
    this.timer = 0;
    this.kick = () => { if (this.ws && this.ws.readyState !== WebSocket.OPEN) this.reconnectNow(); };
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.kick);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.kick);
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    this.ws = null;
  }

  reconnectNow() {
    clearTimeout(this.timer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(); }
    this.connect();
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const replay = this.last !== null;
    const url = `${scheme}//${location.host}${base}/events` + (replay ? `?since=${this.last}` : '');
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.delay = 500;
      this.onState('live');
      // A fresh stream: the views load a snapshot now that no event can
      // fall between it and the stream (events that arrive meanwhile are
      // applied after it).
      if (!replay) this.onResync();
    };
    ws.onmessage = (m) => {
      const e = JSON.parse(m.data);
      if (e.type === 'replay.reset' || e.type === 'replay.truncated') {
        this.last = e.last_seq ?? this.last;
        this.onResync();
        return;
      }
      if (typeof e.seq === 'number') {
        if (this.last !== null && e.seq <= this.last) return;
        this.last = e.seq;
      }
      this.onEvent(e);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      // A replay the server refused (no event log): start afresh.
      if (replay && !opened) this.last = null;
      this.onState('reconnecting');
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
  }
}
