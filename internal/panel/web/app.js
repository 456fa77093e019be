// The panel's entry point: login, navigation, and the one live event
// stream the views share.
import { login, logout, session, can, setUnauthorizedHandler, EventStream } from './api.js';
import { h } from './dom.js';
import { switchboardView } from './switchboard.js';
import { queuesView } from './queues.js';
import { cdrListView, cdrDetailView } from './cdrs.js';
import { dashboardView } from './dashboard.js';

const $ = (id) => document.getElementById(id);

/** The live hub: views subscribe to events and to "load afresh" calls. */
class Live {
  constructor() {
    this.subs = new Set();
    this.stream = new EventStream({
      onEvent: (e) => this.subs.forEach((s) => s.event?.(e)),
      onResync: () => this.subs.forEach((s) => s.resync?.()),
      onState: (st) => {
        const el = $('conn-state');
        el.textContent = st === 'live' ? 'live' : 'reconnecting…';
        el.dataset.state = st;
        this.state = st;
      },
    });
    this.state = 'connecting';
  }
  /** sub: {event(e), resync()}; returns the unsubscribe function. */
  subscribe(sub) {
    this.subs.add(sub);
    // While the first connection opens, its open loads every view; later
    // (live, or reconnecting after a drop) a new view loads at once.
    if (this.state !== 'connecting') sub.resync?.();
    return () => this.subs.delete(sub);
  }
}

let live = null;
let leave = null; // the current view's teardown

const routes = [
  { re: /^#\/switchboard$/, right: 'directory.read', view: switchboardView },
  { re: /^#\/queues$/, right: 'calls.read', view: queuesView },
  { re: /^#\/cdrs\/(\d+)$/, right: 'cdr.read', view: cdrDetailView },
  { re: /^#\/cdrs(\?.*)?$/, right: 'cdr.read', view: cdrListView },
  { re: /^#\/dashboard$/, right: 'cdr.read', view: dashboardView },
];

// The view a bare "#" opens: the first the role may use.
const homes = [['#/switchboard', 'directory.read'], ['#/queues', 'calls.read'], ['#/cdrs', 'cdr.read']];

function route() {
  if (!session()) return;
  if (leave) { leave(); leave = null; }
  const view = $('view');
  view.replaceChildren();
  const hash = location.hash;
  if (!hash || hash === '#' || hash === '#/') {
    const home = homes.find(([, right]) => can(right));
    if (home) location.hash = home[0];
    else view.append(h('p', { class: 'error', role: 'alert' }, 'Your role may use none of the panel\'s views.'));
    return;
  }
  const r = routes.find((x) => x.re.test(hash));
  if (!r) {
    view.append(h('p', { class: 'error', role: 'alert' }, 'No such view.'));
    return;
  }
  if (!can(r.right)) {
    view.append(h('p', { class: 'error', role: 'alert' }, 'Your role may not open this view.'));
    return;
  }
  document.querySelectorAll('nav a').forEach((a) => {
    a.toggleAttribute('aria-current', hash.startsWith(a.getAttribute('href')));
  });
  leave = r.view(view, { live, match: hash.match(r.re) }) || null;
}

function showApp() {
  const me = session().me;
  $('login-view').hidden = true;
  $('app').hidden = false;
  $('whoami').textContent = `${me.user}@${me.tenant} (${me.role})`;
  document.querySelectorAll('[data-right]').forEach((el) => { el.hidden = !can(el.dataset.right); });
  if (can('events.read')) {
    live = new Live();
    live.stream.start();
  } else {
    live = null;
    $('conn-state').textContent = '';
  }
  route();
}

function showLogin(msg = '') {
  if (leave) { leave(); leave = null; }
  if (live) { live.stream.stop(); live = null; }
  $('app').hidden = true;
  $('view').replaceChildren();
  $('login-view').hidden = false;
  $('login-error').textContent = msg;
  $('login-user').focus();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    await login($('login-user').value.trim(), $('login-password').value);
    $('login-password').value = '';
    showApp();
  } catch (err) {
    $('login-error').textContent = err.status === 401 ? 'Wrong user or password.' : err.message;
  }
});

$('logout').addEventListener('click', async () => {
  await logout();
  showLogin();
});

setUnauthorizedHandler(() => {
  sessionStorage.clear();
  showLogin('Your session has ended: log in again.');
});

window.addEventListener('hashchange', route);

if (session()?.me) showApp(); else showLogin();
