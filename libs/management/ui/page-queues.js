// Queues: the list (paged, filtered and sorted by the server) with "add a queue"; one queue with
// its depths, consumers and bindings (live), publish with properties and headers, get with the
// four ack modes, purge and delete (confirmed).
import { api, enc, mayWrite } from './api.js';
import { card, confirmAction, esc, field, fieldsOf, fill, jsonObjectOf, num, rate, showError, table, vhostOptions } from './dom.js';
import { act, onArgumentsForm, refreshNow } from './live.js';
import { columnsOf, historyParams, onRangeChange, rangePicker, TimeChart } from './charts.js';

const PAGE_SIZE = 100;
let filter = { name: '', regex: false, page: 1, sort: 'name', reverse: false };

export const queues = {
  async setup(view) {
    const vhosts = mayWrite() ? await api('GET', '/vhosts') : [];
    view.innerHTML = `<h1>Queues</h1>
      <div class="toolbar">
        ${field('Filter by name', `<input id="queue-filter" type="search" value="${esc(filter.name)}" data-testid="queue-filter">`)}
        <label><input type="checkbox" id="queue-regex" ${filter.regex ? 'checked' : ''}> regex</label>
        <span class="muted" data-testid="queue-count"></span>
        <button type="button" id="prev" aria-label="Previous page">‹</button><span id="page-of"></span><button type="button" id="next" aria-label="Next page">›</button>
      </div>
      <div id="queue-list"></div>
      ${
        mayWrite()
          ? `<h2>Add a queue</h2>
      <form id="add-queue" class="stack">
        <div class="toolbar">
          ${field('Virtual host', `<select name="vhost" data-testid="new-queue-vhost">${vhostOptions(vhosts, '/')}</select>`)}
          ${field('Name', '<input name="name" required data-testid="new-queue-name">')}
          ${field('Type', '<select name="type"><option value="classic">classic</option><option value="quorum">quorum</option></select>')}
          ${field('Durability', '<select name="durable"><option value="true">durable</option><option value="false">transient</option></select>')}
          <label><input type="checkbox" name="auto_delete"> auto-delete</label>
        </div>
        ${field('Arguments (JSON), e.g. {"x-message-ttl": 60000}', '<textarea name="arguments" data-testid="new-queue-arguments" rows="2"></textarea>')}
        <button class="action" data-testid="new-queue-submit">Add queue</button>
      </form>`
          : ''
      }`;
    const input = view.querySelector('#queue-filter');
    let debounce = null;
    input.addEventListener('input', () => {
      filter = { ...filter, name: input.value, page: 1 };
      clearTimeout(debounce);
      debounce = setTimeout(refreshNow, 250);
    });
    view.querySelector('#queue-regex').addEventListener('change', (e) => ((filter = { ...filter, regex: e.target.checked, page: 1 }), refreshNow()));
    view.querySelector('#prev').addEventListener('click', () => ((filter.page -= 1), refreshNow()));
    view.querySelector('#next').addEventListener('click', () => ((filter.page += 1), refreshNow()));
    view.querySelector('#queue-list').addEventListener('click', (event) => {
      const th = event.target.closest('[data-sort]');
      if (!th) return;
      filter = { ...filter, reverse: filter.sort === th.dataset.sort ? !filter.reverse : false, sort: th.dataset.sort };
      void refreshNow();
    });
    onArgumentsForm(
      view.querySelector('#add-queue'),
      (f, args) => {
        if (f.type === 'quorum') args['x-queue-type'] = 'quorum';
        return api('PUT', `/queues/${enc(f.vhost)}/${enc(f.name)}`, { durable: f.durable === 'true', auto_delete: f.auto_delete, arguments: args });
      },
      (f) => `Queue ${f.name} added`,
    );
  },

  async refresh(view) {
    const q = new URLSearchParams({ page: String(filter.page), page_size: String(PAGE_SIZE), name: filter.name, use_regex: String(filter.regex), sort: filter.sort, sort_reverse: String(filter.reverse) });
    const result = await api('GET', `/queues?${q}`);
    const columns = [
      { title: 'Virtual host', cell: (r) => esc(r.vhost), sort: 'vhost' },
      { title: 'Name', cell: (r) => `<a href="#/queue/${enc(r.vhost)}/${enc(r.name)}" data-testid="queue-link">${esc(r.name)}</a>`, sort: 'name' },
      { title: 'Type', cell: (r) => esc(r.type) },
      { title: 'Policy', cell: (r) => esc(r.policy ?? '') },
      { title: 'Ready', num: true, cell: (r) => `<span data-testid="queue-ready">${num(r.messages_ready)}</span>`, sort: 'messages_ready' },
      { title: 'Unacked', num: true, cell: (r) => num(r.messages_unacknowledged), sort: 'messages_unacknowledged' },
      { title: 'Total', num: true, cell: (r) => num(r.messages), sort: 'messages' },
      { title: 'Consumers', num: true, cell: (r) => num(r.consumers), sort: 'consumers' },
      { title: 'Incoming', num: true, cell: (r) => rate(r.message_stats.publish_details) },
      { title: 'Deliver / get', num: true, cell: (r) => rate(r.message_stats.deliver_get_details) },
    ];
    fill(view.querySelector('#queue-list'), table(columns, result.items, { testid: 'queues-table', rowId: (r) => `queue-row-${r.vhost}-${r.name}`, sort: { by: filter.sort, reverse: filter.reverse } }));
    view.querySelector('[data-testid=queue-count]').textContent = `${result.filtered_count} of ${result.total_count} queues`;
    view.querySelector('#page-of').textContent = `page ${result.page} / ${result.page_count}`;
    view.querySelector('#prev').disabled = result.page <= 1;
    view.querySelector('#next').disabled = result.page >= result.page_count;
  },
};

let queueCharts = null;

const PROPERTY_FIELDS = ['content_type', 'content_encoding', 'correlation_id', 'reply_to', 'expiration', 'message_id', 'type', 'user_id', 'app_id', 'priority'];

export const queue = {
  setup(view, vhost, name) {
    const path = `/queues/${enc(vhost)}/${enc(name)}`;
    view.innerHTML = `<h1>Queue <span data-testid="queue-title">${esc(name)}</span> <span class="muted">in ${esc(vhost)}</span></h1>
      <div class="cards" id="queue-cards"></div>
      <div class="panel" id="queue-features"></div>
      ${rangePicker()}
      <div class="charts"><div class="panel"><h2>Message rates</h2><div id="queue-rates-chart" data-testid="queue-rates-chart"></div></div>
      <div class="panel"><h2>Queued messages</h2><div id="queue-depth-chart" data-testid="queue-depth-chart"></div></div></div>
      <h2>Consumers</h2><div id="queue-consumers"></div>
      <h2>Bindings</h2><div id="queue-bindings"></div>
      ${
        mayWrite()
          ? `<h2>Publish a message</h2>
      <form id="publish" class="stack">
        ${field('Payload', '<textarea name="payload" data-testid="publish-payload"></textarea>')}
        <details><summary>Properties and headers</summary>
          <div class="toolbar">${PROPERTY_FIELDS.map((p) => field(p, `<input name="${p}" ${p === 'priority' ? 'type="number" min="0" max="255"' : ''}>`)).join('')}</div>
          ${field('Headers (JSON object)', '<textarea name="headers" rows="2" data-testid="publish-headers"></textarea>')}
        </details>
        <div class="toolbar"><label><input type="checkbox" name="persistent" checked> persistent</label><button class="action" data-testid="publish-submit">Publish</button></div>
      </form>
      <h2>Get messages</h2>
      <form id="get" class="toolbar">
        ${field('Messages', '<input name="count" type="number" min="1" value="1" data-testid="get-count">')}
        ${field('Ack mode', `<select name="ackmode" data-testid="get-ackmode">
          <option value="ack_requeue_true">Nack, requeue</option><option value="reject_requeue_true">Reject, requeue</option>
          <option value="ack_requeue_false">Ack (remove)</option><option value="reject_requeue_false">Reject (remove; dead-letters)</option></select>`)}
        <button class="action" data-testid="get-submit">Get messages</button>
      </form>
      <div id="got" data-testid="got-messages"></div>
      <h2>Purge or delete</h2>
      <div class="toolbar"><button type="button" class="action danger" id="purge" data-testid="purge">Purge messages</button><button type="button" class="action danger" id="delete" data-testid="delete-queue">Delete queue</button></div>`
          : ''
      }
      <p><a href="#/queues">Back to the queues</a></p>`;
    queueCharts = {
      rates: new TimeChart(view.querySelector('#queue-rates-chart'), [
        { label: 'incoming', stroke: '#0b63c5' },
        { label: 'deliver / get', stroke: '#2e9d4c' },
        { label: 'ack', stroke: '#ff6600' },
      ]),
      depth: new TimeChart(view.querySelector('#queue-depth-chart'), [
        { label: 'ready', stroke: '#0b63c5', fill: 'rgba(11,99,197,.1)' },
        { label: 'unacked', stroke: '#c5300b' },
      ]),
    };
    onRangeChange(view, refreshNow);
    if (!mayWrite()) return;
    view.querySelector('#publish').addEventListener('submit', (event) => {
      event.preventDefault();
      const form = event.target;
      const f = fieldsOf(form);
      const properties = { delivery_mode: f.persistent ? 2 : 1 };
      try {
        const headers = jsonObjectOf(f.headers, 'Headers');
        if (Object.keys(headers).length > 0) properties.headers = headers;
      } catch (error) {
        return showError(error.message);
      }
      for (const p of PROPERTY_FIELDS) if (f[p] !== '') properties[p] = p === 'priority' ? Number(f[p]) : f[p];
      void act(async () => {
        const result = await api('POST', `/exchanges/${enc(vhost)}/amq.default/publish`, { routing_key: name, payload: f.payload, payload_encoding: 'string', properties });
        if (!result.routed) throw new Error('the message was not routed');
        form.elements.payload.value = '';
      }, 'Message published');
    });
    view.querySelector('#get').addEventListener('submit', (event) => {
      event.preventDefault();
      const f = fieldsOf(event.target);
      void act(async () => {
        const messages = await api('POST', `${path}/get`, { count: Number(f.count), ackmode: f.ackmode, encoding: 'auto' });
        view.querySelector('#got').innerHTML =
          messages.length === 0
            ? '<p class="muted">Queue is empty.</p>'
            : messages
                .map((m) => `<div class="panel"><b>Routing key</b> ${esc(m.routing_key)} · <b>Redelivered</b> ${m.redelivered} · <b>Properties</b> <code>${esc(JSON.stringify(m.properties))}</code><pre data-testid="got-payload">${esc(m.payload)}</pre></div>`)
                .join('');
      });
    });
    view.querySelector('#purge').addEventListener('click', async () => {
      if (!(await confirmAction(`Purge every ready message of queue ${name}?`, { action: 'Purge' }))) return;
      void act(() => api('DELETE', `${path}/contents`), 'Queue purged');
    });
    view.querySelector('#delete').addEventListener('click', async () => {
      if (!(await confirmAction(`Delete queue ${name} and its messages?`, { action: 'Delete' }))) return;
      void act(async () => {
        await api('DELETE', path);
        location.hash = '#/queues';
      }, 'Queue deleted');
    });
  },

  teardown() {
    queueCharts?.rates.destroy();
    queueCharts?.depth.destroy();
    queueCharts = null;
  },

  async refresh(view, vhost, name) {
    const path = `/queues/${enc(vhost)}/${enc(name)}`;
    const [q, bindings] = await Promise.all([api('GET', `${path}?${historyParams()}`), api('GET', `${path}/bindings`)]);
    const stats = q.message_stats;
    queueCharts.rates.update(columnsOf([stats.publish_details.samples, stats.deliver_get_details.samples, stats.ack_details.samples], true));
    queueCharts.depth.update(columnsOf([q.messages_ready_details.samples, q.messages_unacknowledged_details.samples], false));
    view.querySelector('#queue-cards').innerHTML = [
      card('Ready', num(q.messages_ready), 'detail-ready'),
      card('Unacked', num(q.messages_unacknowledged), 'detail-unacked'),
      card('Delayed', num(q.messages_delayed)),
      card('Paged out', num(q.messages_paged_out)),
      card('Consumers', num(q.consumers), 'detail-consumers'),
      card('Incoming', rate(q.message_stats.publish_details)),
      card('Deliver / get', rate(q.message_stats.deliver_get_details)),
    ].join('');
    view.querySelector('#queue-features').innerHTML = `<b>Type</b> ${esc(q.type)} · <b>Arguments</b> <code>${esc(JSON.stringify(q.arguments))}</code> · durable ${q.durable} · auto-delete ${q.auto_delete} · exclusive ${q.exclusive}${q.policy ? ` · <b>Policy</b> ${esc(q.policy)} <code>${esc(JSON.stringify(q.effective_policy_definition))}</code>` : ''}`;
    fill(view.querySelector('#queue-consumers'), table(
      [{ title: 'Tag', cell: (c) => esc(c.consumer_tag) }, { title: 'Channel', cell: (c) => esc(c.channel_details.name) }, { title: 'Ack required', cell: (c) => esc(c.ack_required) }, { title: 'Prefetch', num: true, cell: (c) => num(c.prefetch_count) }],
      q.consumer_details ?? [],
      { empty: 'No consumers.', testid: 'consumers-table' },
    ));
    fill(view.querySelector('#queue-bindings'), table(
      [{ title: 'From', cell: (b) => esc(b.source || '(default exchange)') }, { title: 'Routing key', cell: (b) => esc(b.routing_key) }, { title: 'Arguments', cell: (b) => esc(JSON.stringify(b.arguments)) }],
      bindings,
    ));
  },
};
