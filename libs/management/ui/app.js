// The admin page: a single page over the management API, routed on the URL hash. Each page has a
// `setup` that builds what stays (forms: what is typed there survives the refreshes) and a
// `refresh` that fills what changes; the one timer in live.js runs `refresh` every 5 s on every
// page. Lists are paged and filtered by the server (page, page_size, name, use_regex).
import { api, ApiError, forgetCredentials, isAdmin, keepCredentials, loggedIn, me, setCredentials } from './api.js';
import { clearErrors, esc, field } from './dom.js';
import { refreshNow, setRefresher, stopRefreshing } from './live.js';
import { overview } from './page-overview.js';
import { queue, queues } from './page-queues.js';
import { exchange, exchanges } from './page-exchanges.js';
import { channels, connection, connections } from './page-connections.js';
import { lane, lanes } from './page-lanes.js';
import { deliveries, delivery } from './page-deliveries.js';
import { permissions, users, vhosts } from './page-access.js';
import { policies } from './page-policies.js';

const pages = { overview, queues, queue, exchanges, exchange, connections, connection, channels, lanes, lane, deliveries, delivery, users, vhosts, permissions, policies };
/** Detail pages light up their list's nav entry. */
const NAV_OF = { queue: 'queues', exchange: 'exchanges', connection: 'connections', lane: 'lanes', delivery: 'deliveries' };

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const navToggle = document.getElementById('nav-toggle');
let lastUser = '';
/** The page on screen: its hash, module, arguments and element. */
let shown = null;

function parseHash() {
  const [, name = 'overview', ...args] = (location.hash || '#/overview').split('/');
  return { name: pages[name] ? name : 'overview', args: args.map((a) => decodeURIComponent(a)) };
}

/** Builds the page the hash names (after asking who is logged in: the nav follows the tags). */
async function mount() {
  const { name, args } = parseHash();
  const who = await api('GET', '/whoami');
  me.name = who.name;
  me.tags = who.tags;
  const hash = location.hash;
  const page = pages[name];
  shown?.page.teardown?.();
  const view = document.createElement('div');
  view.className = 'page';
  const problem = document.createElement('p');
  problem.className = 'error page-error';
  problem.setAttribute('role', 'alert');
  problem.dataset.testid = 'page-error';
  problem.hidden = true;
  main.replaceChildren(problem, view);
  shown = { hash, name, page, args, view, problem, ready: false };
  showChrome(name);
  if (page.setup) await page.setup(view, ...args);
  // a setup that failed (the broker unreachable, a refusal) is run again on the next tick
  shown.ready = true;
}

function showChrome(name) {
  document.getElementById('who').textContent = me.name;
  document.getElementById('logout').hidden = false;
  nav.hidden = false;
  navToggle.hidden = false;
  const current = NAV_OF[name] ?? name;
  for (const link of nav.querySelectorAll('a')) {
    link.hidden = link.dataset.needs === 'administrator' && !isAdmin();
    if (link.dataset.page === current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** One tick: (re)build the page when the hash changed, then refresh it. Only "unreachable" escapes. */
async function tick() {
  if (!loggedIn()) return;
  try {
    if (shown === null || shown.hash !== location.hash || !shown.ready) await mount();
    const current = shown;
    await current.page.refresh(current.view, ...current.args);
    current.problem.hidden = true;
  } catch (error) {
    if (!(error instanceof ApiError) || error.kind === 'unreachable') throw error;
    if (error.kind === 'login') return logout('Your session has ended: log in again.');
    if (shown === null) return logout(error.message);
    shown.problem.textContent = error.message;
    shown.problem.hidden = false;
  }
}

function showLogin(message) {
  stopRefreshing();
  shown?.page.teardown?.();
  shown = null;
  nav.hidden = true;
  navToggle.hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  document.getElementById('banner').hidden = true;
  main.innerHTML = `
    <form class="login" id="login-form">
      <h1>Log in</h1>
      ${field('Username', `<input name="username" autocomplete="username" data-testid="login-user" value="${esc(lastUser)}" required>`)}
      ${field('Password', '<input name="password" type="password" autocomplete="current-password" data-testid="login-password">')}
      <button class="action" type="submit" data-testid="login-submit">Log in</button>
      <div class="error" role="alert" data-testid="login-error">${esc(message ?? '')}</div>
    </form>`;
  const form = document.getElementById('login-form');
  if (!message) form.elements.username.focus();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    lastUser = form.elements.username.value;
    setCredentials(lastUser, form.elements.password.value);
    try {
      await api('GET', '/whoami');
    } catch (error) {
      forgetCredentials();
      // the server's reason: "Login failed", "Not management user", "User can only log in via localhost"…
      showLogin(error.message);
      return;
    }
    keepCredentials();
    clearErrors();
    if (!location.hash || location.hash === '#/login') location.hash = '#/overview';
    else start();
  });
}

function logout(message) {
  forgetCredentials();
  showLogin(message);
}

function start() {
  setRefresher(tick);
  void refreshNow();
}

document.getElementById('logout').addEventListener('click', () => logout());
navToggle.addEventListener('click', () => {
  const open = nav.classList.toggle('open');
  navToggle.setAttribute('aria-expanded', String(open));
});
nav.addEventListener('click', (event) => {
  if (event.target.closest('a')) {
    nav.classList.remove('open');
    navToggle.setAttribute('aria-expanded', 'false');
  }
});
window.addEventListener('hashchange', () => {
  if (!loggedIn()) return showLogin();
  clearErrors();
  start();
});

if (loggedIn()) start();
else showLogin();
