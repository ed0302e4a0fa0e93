// The admin page: a single page over the management API. It logs in with HTTP basic auth (the
// credentials stay in sessionStorage, as RabbitMQ's UI keeps them), routes on the URL hash, and
// polls every 5 s. Lists are paged and filtered by the server (page, page_size, name, use_regex).
'use strict';

const POLL_MS = 5000;
const PAGE_SIZE = 100;
const main = document.getElementById('main');
let credentials = sessionStorage.getItem('credentials');
let lastUser = '';
let pollTimer = null;
const history = { at: [], publish: [], deliver: [], ack: [], ready: [], unacked: [] };
const HISTORY_POINTS = 120;

// ---- helpers -----------------------------------------------------------------------------------

const esc = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const enc = encodeURIComponent;
const num = (value) => (typeof value === 'number' ? value.toLocaleString() : esc(value ?? '—'));
const rate = (details) => (details && typeof details.rate === 'number' ? `${details.rate.toFixed(1)}/s` : '—');

async function api(method, path, body, headers = {}) {
  const response = await fetch(`/api${path}`, {
    method,
    headers: { authorization: `Basic ${credentials}`, 'x-requested-with': 'XMLHttpRequest', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text === '' ? null : JSON.parse(text);
  // 401 not_authorised refuses what this user may do (shown with its reason); any other 401 is a failed login
  if (response.status === 401 && !(data && data.error === 'not_authorised')) {
    logout('Your session has ended: log in again.');
    throw new Error('not logged in');
  }
  if (!response.ok) throw new Error(data && data.reason ? data.reason : `${response.status}`);
  return data;
}

function toast(message) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.classList.add('show');
  setTimeout(() => el.classList.remove('show'), 2500);
}

async function act(fn, done) {
  try {
    await fn();
    if (done) toast(done);
    renderedHash = null; // the action is done: its form starts empty again
    await route();
  } catch (error) {
    toast(`Failed: ${error.message}`);
  }
}

function table(columns, rows, options = {}) {
  const head = columns.map((c) => `<th class="${c.num ? 'num' : ''}" data-sort="${esc(c.sort ?? '')}">${esc(c.title)}</th>`).join('');
  const body = rows.length === 0 ? `<tr><td colspan="${columns.length}" class="muted">${esc(options.empty ?? 'Nothing here.')}</td></tr>` : rows.map((row) => `<tr data-testid="${esc(options.rowId ? options.rowId(row) : '')}">${columns.map((c) => `<td class="${c.num ? 'num' : ''}">${c.cell(row)}</td>`).join('')}</tr>`).join('');
  return `<table data-testid="${esc(options.testid ?? '')}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

// ---- login -------------------------------------------------------------------------------------

function showLogin(message) {
  stopPolling();
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  main.innerHTML = `
    <form class="login" id="login-form">
      <h1>Log in</h1>
      <input name="username" placeholder="Username" autocomplete="username" data-testid="login-user" value="${esc(lastUser)}" required>
      <input name="password" type="password" placeholder="Password" autocomplete="current-password" data-testid="login-password">
      <button class="action" type="submit" data-testid="login-submit">Log in</button>
      <div class="error" data-testid="login-error">${esc(message ?? '')}</div>
    </form>`;
  document.getElementById('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    lastUser = String(form.get('username'));
    credentials = btoa(unescape(encodeURIComponent(`${form.get('username')}:${form.get('password')}`)));
    try {
      await api('GET', '/whoami');
      sessionStorage.setItem('credentials', credentials);
      if (!location.hash || location.hash === '#/login') location.hash = '#/overview';
      else await route();
    } catch (error) {
      credentials = null;
      showLogin(error.message === 'not logged in' ? 'Login failed' : error.message);
    }
  });
}

function logout(message) {
  credentials = null;
  sessionStorage.removeItem('credentials');
  showLogin(message);
}

document.getElementById('logout').addEventListener('click', () => logout());

// ---- routing -----------------------------------------------------------------------------------

/** Pages that refresh themselves every 5 s; detail pages refresh after an action only. */
const LIVE_PAGES = new Set(['overview', 'queues', 'exchanges', 'connections', 'lanes', 'deliveries']);

const pages = {
  overview: renderOverview,
  queues: renderQueues,
  queue: renderQueue,
  exchanges: renderExchanges,
  exchange: renderExchange,
  connections: renderConnections,
  lanes: renderLanes,
  lane: renderLane,
  deliveries: renderDeliveries,
};

function stopPolling() {
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = null;
}

/** What was typed into the page's forms, so a re-render of the same page keeps it. */
function typedValues() {
  const values = new Map();
  for (const form of main.querySelectorAll('form[data-keep]')) {
    for (const field of form.elements) if (field.name) values.set(`${form.id}/${field.name}`, field.type === 'checkbox' ? field.checked : field.value);
  }
  return values;
}

function restoreTyped(values) {
  for (const form of main.querySelectorAll('form[data-keep]')) {
    for (const field of form.elements) {
      const key = `${form.id}/${field.name}`;
      if (!field.name || !values.has(key)) continue;
      if (field.type === 'checkbox') field.checked = values.get(key);
      else field.value = values.get(key);
    }
  }
}

let renderedHash = null;

async function route() {
  stopPolling();
  if (!credentials) return showLogin();
  const typed = renderedHash === location.hash ? typedValues() : new Map();
  renderedHash = location.hash;
  const [, page = 'overview', ...args] = (location.hash || '#/overview').split('/');
  const render = pages[page] ?? renderOverview;
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('active', link.dataset.page === page || link.dataset.page === `${page}s`);
  try {
    const me = await api('GET', '/whoami');
    document.getElementById('who').textContent = me.name;
    await render(...args.map(decodeURIComponent));
    restoreTyped(typed);
  } catch (error) {
    if (error.message !== 'not logged in') main.innerHTML = `<p class="error">${esc(error.message)}</p>`;
    return;
  }
  if (LIVE_PAGES.has(page)) schedulePoll();
}

/** Live pages refresh every 5 s, but never under someone filling in a form. */
function schedulePoll() {
  stopPolling();
  pollTimer = setTimeout(() => (formsInUse() ? schedulePoll() : route()), POLL_MS);
}

function formsInUse() {
  for (const form of main.querySelectorAll('form[data-keep]')) {
    if (form.contains(document.activeElement)) return true;
    for (const field of form.querySelectorAll('input:not([type=checkbox]):not([type=number]), textarea')) if (field.value !== '') return true;
  }
  return main.querySelector('#got')?.childElementCount > 0;
}

window.addEventListener('hashchange', route);

// ---- overview ----------------------------------------------------------------------------------

let charts = null;

async function renderOverview() {
  const o = await api('GET', '/overview');
  const s = o.message_stats;
  history.at.push(Date.now() / 1000);
  history.publish.push(s.publish_details.rate);
  history.deliver.push(s.deliver_get_details.rate);
  history.ack.push(s.ack_details.rate);
  history.ready.push(o.queue_totals.messages_ready);
  history.unacked.push(o.queue_totals.messages_unacknowledged);
  for (const series of Object.values(history)) if (series.length > HISTORY_POINTS) series.shift();
  const t = o.object_totals;
  const card = (label, value, id) => `<div class="card"><div class="label">${esc(label)}</div><div class="value" data-testid="${id}">${num(value)}</div></div>`;
  if (!main.querySelector('#overview')) {
    charts = null;
    main.innerHTML = `<div id="overview"><h1>Overview</h1><div class="cards" id="cards"></div>
      <div class="charts"><div class="panel"><h2>Message rates</h2><div id="rates-chart" data-testid="rates-chart"></div></div>
      <div class="panel"><h2>Queued messages</h2><div id="depth-chart" data-testid="depth-chart"></div></div></div>
      <div id="alarm"></div></div>`;
  }
  document.getElementById('cards').innerHTML = [
    card('Connections', t.connections, 'total-connections'),
    card('Channels', t.channels, 'total-channels'),
    card('Queues', t.queues, 'total-queues'),
    card('Consumers', t.consumers, 'total-consumers'),
    card('Ready', o.queue_totals.messages_ready, 'total-ready'),
    card('Unacked', o.queue_totals.messages_unacknowledged, 'total-unacked'),
    card('Publish/s', s.publish_details.rate, 'rate-publish'),
    card('Deliver/s', s.deliver_get_details.rate, 'rate-deliver'),
  ].join('');
  document.getElementById('alarm').innerHTML = o.alarm ? `<p class="error" data-testid="alarm">Resource alarm: ${esc(o.alarm)}</p>` : '';
  drawCharts();
}

function drawCharts() {
  if (typeof uPlot !== 'function') return;
  const width = Math.max(300, (document.getElementById('rates-chart').clientWidth || 600) - 10);
  const rates = [history.at, history.publish, history.deliver, history.ack];
  const depth = [history.at, history.ready, history.unacked];
  if (charts === null) {
    const base = { width, height: 220, scales: { x: { time: true } }, axes: [{}, { size: 60 }] };
    charts = {
      rates: new uPlot({ ...base, series: [{}, { label: 'publish', stroke: '#0b63c5' }, { label: 'deliver', stroke: '#2e9d4c' }, { label: 'ack', stroke: '#ff6600' }] }, rates, document.getElementById('rates-chart')),
      depth: new uPlot({ ...base, series: [{}, { label: 'ready', stroke: '#0b63c5', fill: 'rgba(11,99,197,.1)' }, { label: 'unacked', stroke: '#c5300b' }] }, depth, document.getElementById('depth-chart')),
    };
  } else {
    charts.rates.setData(rates);
    charts.depth.setData(depth);
  }
}

// ---- queues ------------------------------------------------------------------------------------

let queueFilter = { name: '', regex: false, page: 1, sort: 'name', reverse: false };

async function renderQueues() {
  const q = new URLSearchParams({ page: String(queueFilter.page), page_size: String(PAGE_SIZE), name: queueFilter.name, use_regex: String(queueFilter.regex), sort: queueFilter.sort, sort_reverse: String(queueFilter.reverse) });
  const result = await api('GET', `/queues?${q}`);
  const columns = [
    { title: 'Virtual host', cell: (r) => esc(r.vhost), sort: 'vhost' },
    { title: 'Name', cell: (r) => `<a href="#/queue/${enc(r.vhost)}/${enc(r.name)}" data-testid="queue-link">${esc(r.name)}</a>`, sort: 'name' },
    { title: 'Features', cell: (r) => esc([r.durable ? 'D' : '', r.auto_delete ? 'AD' : '', r.exclusive ? 'Excl' : '', Object.keys(r.arguments ?? {}).join(' ')].filter(Boolean).join(' ')) },
    { title: 'Ready', num: true, cell: (r) => `<span data-testid="queue-ready">${num(r.messages_ready)}</span>`, sort: 'messages_ready' },
    { title: 'Unacked', num: true, cell: (r) => num(r.messages_unacknowledged), sort: 'messages_unacknowledged' },
    { title: 'Total', num: true, cell: (r) => `<span data-testid="queue-messages">${num(r.messages)}</span>`, sort: 'messages' },
    { title: 'Consumers', num: true, cell: (r) => num(r.consumers), sort: 'consumers' },
    { title: 'Incoming', num: true, cell: (r) => rate(r.message_stats.publish_details) },
    { title: 'Deliver', num: true, cell: (r) => rate(r.message_stats.deliver_get_details) },
  ];
  const focused = document.activeElement && document.activeElement.id === 'queue-filter';
  main.innerHTML = `<h1>Queues</h1>
    <div class="toolbar"><input id="queue-filter" placeholder="Filter by name" value="${esc(queueFilter.name)}" data-testid="queue-filter">
      <label><input type="checkbox" id="queue-regex" ${queueFilter.regex ? 'checked' : ''}> regex</label>
      <span class="muted" data-testid="queue-count">${result.filtered_count} of ${result.total_count} queues</span>
      <button id="prev" ${result.page <= 1 ? 'disabled' : ''}>‹</button><span>page ${result.page} / ${result.page_count}</span><button id="next" ${result.page >= result.page_count ? 'disabled' : ''}>›</button></div>
    ${table(columns, result.items, { testid: 'queues-table', rowId: (r) => `queue-row-${r.vhost}-${r.name}` })}
    <h2>Add a queue</h2>
    <form class="inline" id="add-queue" data-keep><input name="name" placeholder="Name" required data-testid="new-queue-name"><select name="durable"><option value="true">durable</option><option value="false">transient</option></select>
      <button class="action" data-testid="new-queue-submit">Add queue</button></form>`;
  const filter = document.getElementById('queue-filter');
  if (focused) {
    filter.focus();
    filter.setSelectionRange(filter.value.length, filter.value.length);
  }
  filter.addEventListener('input', () => {
    queueFilter = { ...queueFilter, name: filter.value, page: 1 };
    // the same timer as the page's refresh: a route elsewhere cancels it
    stopPolling();
    pollTimer = setTimeout(route, 250);
  });
  document.getElementById('queue-regex').addEventListener('change', (e) => ((queueFilter = { ...queueFilter, regex: e.target.checked, page: 1 }), route()));
  document.getElementById('prev').addEventListener('click', () => ((queueFilter.page -= 1), route()));
  document.getElementById('next').addEventListener('click', () => ((queueFilter.page += 1), route()));
  for (const th of main.querySelectorAll('th[data-sort]')) {
    if (!th.dataset.sort) continue;
    th.addEventListener('click', () => {
      queueFilter = { ...queueFilter, reverse: queueFilter.sort === th.dataset.sort ? !queueFilter.reverse : false, sort: th.dataset.sort };
      route();
    });
  }
  document.getElementById('add-queue').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    act(() => api('PUT', `/queues/%2F/${enc(form.get('name'))}`, { durable: form.get('durable') === 'true' }), `Queue ${form.get('name')} added`);
  });
}

async function renderQueue(vhost, name) {
  const path = `/queues/${enc(vhost)}/${enc(name)}`;
  const [q, bindings] = await Promise.all([api('GET', path), api('GET', `${path}/bindings`)]);
  const consumers = q.consumer_details ?? [];
  main.innerHTML = `<h1>Queue <span data-testid="queue-title">${esc(name)}</span> <span class="muted">in ${esc(vhost)}</span></h1>
    <div class="cards">
      <div class="card"><div class="label">Ready</div><div class="value" data-testid="detail-ready">${num(q.messages_ready)}</div></div>
      <div class="card"><div class="label">Unacked</div><div class="value" data-testid="detail-unacked">${num(q.messages_unacknowledged)}</div></div>
      <div class="card"><div class="label">Delayed</div><div class="value">${num(q.messages_delayed)}</div></div>
      <div class="card"><div class="label">Paged out</div><div class="value">${num(q.messages_paged_out)}</div></div>
      <div class="card"><div class="label">Consumers</div><div class="value">${num(q.consumers)}</div></div>
      <div class="card"><div class="label">Publish</div><div class="value">${rate(q.message_stats.publish_details)}</div></div>
    </div>
    <div class="panel"><b>Arguments</b> <code>${esc(JSON.stringify(q.arguments))}</code> · durable ${q.durable} · auto-delete ${q.auto_delete} · exclusive ${q.exclusive}</div>
    <h2>Consumers</h2>${table([{ title: 'Tag', cell: (c) => esc(c.consumer_tag) }, { title: 'Channel', cell: (c) => esc(c.channel_details.name) }, { title: 'Ack required', cell: (c) => esc(c.ack_required) }, { title: 'Prefetch', num: true, cell: (c) => num(c.prefetch_count) }], consumers, { empty: 'No consumers.' })}
    <h2>Bindings</h2>${table([{ title: 'From', cell: (b) => esc(b.source || '(default exchange)') }, { title: 'Routing key', cell: (b) => esc(b.routing_key) }, { title: 'Arguments', cell: (b) => esc(JSON.stringify(b.arguments)) }], bindings)}
    <h2>Publish a message</h2>
    <form id="publish" data-keep><textarea name="payload" placeholder="Payload" data-testid="publish-payload"></textarea>
      <div class="toolbar"><label><input type="checkbox" name="persistent" checked> persistent</label><button class="action" data-testid="publish-submit">Publish</button></div></form>
    <h2>Get messages</h2>
    <form class="inline" id="get" data-keep><input name="count" type="number" min="1" value="1" data-testid="get-count">
      <select name="ackmode" data-testid="get-ackmode"><option value="ack_requeue_true">Nack, requeue</option><option value="ack_requeue_false">Ack (remove)</option></select>
      <button class="action" data-testid="get-submit">Get messages</button></form>
    <div id="got" data-testid="got-messages"></div>
    <h2>Purge or delete</h2>
    <div class="toolbar"><button class="action danger" id="purge" data-testid="purge">Purge messages</button><button class="action danger" id="delete" data-testid="delete-queue">Delete queue</button><a href="#/queues">Back to the queues</a></div>`;
  document.getElementById('publish').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    act(async () => {
      const result = await api('POST', `/exchanges/${enc(vhost)}/amq.default/publish`, { routing_key: name, payload: form.get('payload'), payload_encoding: 'string', properties: { delivery_mode: form.get('persistent') ? 2 : 1 } });
      if (!result.routed) throw new Error('not routed');
    }, 'Message published');
  });
  document.getElementById('get').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const messages = await api('POST', `${path}/get`, { count: Number(form.get('count')), ackmode: form.get('ackmode'), encoding: 'auto' });
      document.getElementById('got').innerHTML = messages.length === 0 ? '<p class="muted">Queue is empty.</p>' : messages.map((m) => `<div class="panel"><b>Routing key</b> ${esc(m.routing_key)} · <b>Redelivered</b> ${m.redelivered} · <b>Properties</b> <code>${esc(JSON.stringify(m.properties))}</code><pre data-testid="got-payload">${esc(m.payload)}</pre></div>`).join('');
    } catch (error) {
      toast(`Failed: ${error.message}`);
    }
  });
  document.getElementById('purge').addEventListener('click', () => act(() => api('DELETE', `${path}/contents`), 'Queue purged'));
  document.getElementById('delete').addEventListener('click', () => {
    if (!confirm(`Delete queue ${name}?`)) return;
    act(async () => {
      await api('DELETE', path);
      location.hash = '#/queues';
    }, 'Queue deleted');
  });
}

// ---- exchanges ---------------------------------------------------------------------------------

async function renderExchanges() {
  const exchanges = await api('GET', '/exchanges');
  main.innerHTML = `<h1>Exchanges</h1>${table(
    [
      { title: 'Virtual host', cell: (e) => esc(e.vhost) },
      { title: 'Name', cell: (e) => `<a href="#/exchange/${enc(e.vhost)}/${enc(e.name || 'amq.default')}">${esc(e.name || '(AMQP default)')}</a>` },
      { title: 'Type', cell: (e) => esc(e.type) },
      { title: 'Features', cell: (e) => esc([e.durable ? 'D' : '', e.auto_delete ? 'AD' : '', e.internal ? 'I' : ''].filter(Boolean).join(' ')) },
    ],
    exchanges,
    { testid: 'exchanges-table' },
  )}`;
}

async function renderExchange(vhost, name) {
  const path = `/exchanges/${enc(vhost)}/${enc(name)}`;
  const [e, bindings] = await Promise.all([api('GET', path), api('GET', `${path}/bindings/source`).catch(() => [])]);
  main.innerHTML = `<h1>Exchange ${esc(e.name || '(AMQP default)')} <span class="muted">${esc(e.type)} in ${esc(vhost)}</span></h1>
    <h2>Bindings</h2>${table([{ title: 'To', cell: (b) => esc(`${b.destination_type} ${b.destination}`) }, { title: 'Routing key', cell: (b) => esc(b.routing_key) }, { title: 'Arguments', cell: (b) => esc(JSON.stringify(b.arguments)) }], bindings)}
    <h2>Publish a test message</h2>
    <form id="publish" data-keep><div class="toolbar"><input name="routing_key" placeholder="Routing key" data-testid="exchange-routing-key"></div><textarea name="payload" placeholder="Payload" data-testid="exchange-payload"></textarea>
      <button class="action" data-testid="exchange-publish">Publish</button></form>
    <p id="published" data-testid="exchange-published"></p>`;
  document.getElementById('publish').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const result = await api('POST', `${path}/publish`, { routing_key: form.get('routing_key'), payload: form.get('payload'), payload_encoding: 'string', properties: {} });
      document.getElementById('published').textContent = result.routed ? 'Message published and routed.' : 'Message published, but not routed.';
    } catch (error) {
      toast(`Failed: ${error.message}`);
    }
  });
}

// ---- connections -------------------------------------------------------------------------------

async function renderConnections() {
  const [connections, channels] = await Promise.all([api('GET', '/connections'), api('GET', '/channels')]);
  main.innerHTML = `<h1>Connections</h1>${table(
    [
      { title: 'Name', cell: (c) => esc(c.name) },
      { title: 'Client', cell: (c) => esc(c.user_provided_name ?? c.client_properties.product ?? '') },
      { title: 'User', cell: (c) => esc(c.user) },
      { title: 'Vhost', cell: (c) => esc(c.vhost) },
      { title: 'Channels', num: true, cell: (c) => num(c.channels) },
      { title: 'Since', cell: (c) => esc(new Date(c.connected_at).toLocaleTimeString()) },
      { title: '', cell: (c) => `<button class="action danger" data-close="${esc(c.name)}" data-testid="close-connection">Close</button>` },
    ],
    connections,
    { testid: 'connections-table', rowId: (c) => `connection-${c.user_provided_name ?? c.name}`, empty: 'No connections.' },
  )}
    <h2>Channels</h2>${table(
      [
        { title: 'Channel', cell: (c) => esc(c.name) },
        { title: 'Mode', cell: (c) => esc(c.confirm ? 'confirm' : c.transactional ? 'tx' : '') },
        { title: 'Consumers', num: true, cell: (c) => num(c.consumer_count) },
        { title: 'Unacked', num: true, cell: (c) => num(c.messages_unacknowledged) },
        { title: 'Prefetch', num: true, cell: (c) => num(c.prefetch_count) },
      ],
      channels,
      { empty: 'No channels.' },
    )}`;
  for (const button of main.querySelectorAll('[data-close]')) {
    button.addEventListener('click', () => {
      const reason = prompt('Reason sent to the client', 'Closed via the admin page');
      if (reason === null) return;
      act(() => api('DELETE', `/connections/${enc(button.dataset.close)}`, undefined, { 'X-Reason': reason }), 'Connection closed');
    });
  }
}

// ---- job lanes ---------------------------------------------------------------------------------

async function renderLanes() {
  const lanes = await api('GET', '/jobs/lanes');
  main.innerHTML = `<h1>Job lanes</h1>${table(
    [
      { title: 'Lane', cell: (l) => `<a href="#/lane/${enc(l.lane)}">${esc(l.lane)}</a>` },
      { title: 'Queued', num: true, cell: (l) => `<span data-testid="lane-queued">${num(l.queued)}</span>` },
      { title: 'Delayed', num: true, cell: (l) => num(l.delayed) },
      { title: 'Leased / in flight', num: true, cell: (l) => num(l.leased_or_in_flight) },
      { title: 'Idle receivers', num: true, cell: (l) => num(l.idle_receivers) },
      { title: 'Scheduled', num: true, cell: (l) => rate(l.scheduled_details) },
    ],
    lanes,
    { testid: 'lanes-table', rowId: (l) => `lane-${l.lane}` },
  )}`;
}

async function renderLane(lane) {
  const { jobs } = await api('GET', `/jobs/lanes/${enc(lane)}`);
  main.innerHTML = `<h1>Lane ${esc(lane)}</h1>${table(
    [
      { title: 'Job', num: true, cell: (j) => num(j.job_num) },
      { title: 'Priority', num: true, cell: (j) => num(j.priority) },
      { title: 'Scheduled', cell: (j) => esc(j.timestamp) },
      { title: 'Message', cell: (j) => `<code>${esc(String(j.message).slice(0, 120))}</code>` },
      { title: '', cell: (j) => `<button class="action danger" data-job="${esc(j.job_num)}" data-testid="delete-job">Delete</button>` },
    ],
    jobs,
    { testid: 'jobs-table', empty: 'No jobs queued.' },
  )}<p><a href="#/lanes">Back to the lanes</a></p>`;
  for (const button of main.querySelectorAll('[data-job]')) button.addEventListener('click', () => act(() => api('DELETE', `/jobs/${button.dataset.job}`), `Job ${button.dataset.job} deleted`));
}

// ---- deliveries --------------------------------------------------------------------------------

async function renderDeliveries() {
  const [summary, dead] = await Promise.all([api('GET', '/deliveries'), api('GET', '/deliveries?state=dead&limit=200')]);
  const c = summary.counts;
  main.innerHTML = `<h1>Deliveries</h1>
    <div class="cards">${['pending', 'in-flight', 'delivered', 'dead', 'cancelled'].map((s) => `<div class="card"><div class="label">${s}</div><div class="value" data-testid="deliveries-${s}">${num(c[s])}</div></div>`).join('')}</div>
    <div class="toolbar"><h2>Dead letters</h2><button class="action" id="replay-all" data-testid="replay-all" ${dead.deliveries.length === 0 ? 'disabled' : ''}>Replay all</button></div>
    ${table(
      [
        { title: 'UUID', cell: (d) => esc(d.uuid) },
        { title: 'Destination', cell: (d) => esc(`${d.method} ${d.url}`) },
        { title: 'Attempts', num: true, cell: (d) => num(d.attempts.length) },
        { title: 'Last answer', cell: (d) => esc((d.attempts.at(-1) ?? {}).status ?? (d.attempts.at(-1) ?? {}).error ?? '') },
        { title: 'Why', cell: (d) => esc(d.dead_reason ?? '') },
        { title: '', cell: (d) => `<button class="action" data-replay="${esc(d.uuid)}" data-testid="replay">Replay</button>` },
      ],
      dead.deliveries,
      { testid: 'dead-table', rowId: (d) => `dead-${d.uuid}`, empty: 'No dead letters.' },
    )}`;
  for (const button of main.querySelectorAll('[data-replay]')) button.addEventListener('click', () => act(() => api('POST', `/deliveries/${enc(button.dataset.replay)}/replay`), 'Replayed'));
  const all = document.getElementById('replay-all');
  if (all) all.addEventListener('click', () => act(() => api('POST', '/deliveries-replay', {}), 'Dead letters replayed'));
}

route();
