// Exchanges: the list with "add an exchange"; one exchange with its bindings (add, delete), a test
// publish, and delete (confirmed).
import { api, enc, mayWrite } from './api.js';
import { confirmAction, esc, field, fieldsOf, fill, table, vhostOptions } from './dom.js';
import { act, onArgumentsForm } from './live.js';

const TYPES = ['direct', 'fanout', 'topic', 'headers', 'x-delayed-message'];
const exchangeHref = (vhost, name) => `#/exchange/${enc(vhost)}/${enc(name || 'amq.default')}`;

export const exchanges = {
  async setup(view) {
    const vhosts = mayWrite() ? await api('GET', '/vhosts') : [];
    view.innerHTML = `<h1>Exchanges</h1><div id="exchange-list"></div>
      ${
        mayWrite()
          ? `<h2>Add an exchange</h2>
      <form id="add-exchange" class="stack"><div class="toolbar">
        ${field('Virtual host', `<select name="vhost">${vhostOptions(vhosts, '/')}</select>`)}
        ${field('Name', '<input name="name" required data-testid="new-exchange-name">')}
        ${field('Type', `<select name="type" data-testid="new-exchange-type">${TYPES.map((t) => `<option>${t}</option>`).join('')}</select>`)}
        ${field('Durability', '<select name="durable"><option value="true">durable</option><option value="false">transient</option></select>')}
        <label><input type="checkbox" name="auto_delete"> auto-delete</label><label><input type="checkbox" name="internal"> internal</label></div>
        ${field('Arguments (JSON)', '<textarea name="arguments" rows="2"></textarea>')}
        <button class="action" data-testid="new-exchange-submit">Add exchange</button></form>`
          : ''
      }`;
    onArgumentsForm(
      view.querySelector('#add-exchange'),
      (f, args) => api('PUT', `/exchanges/${enc(f.vhost)}/${enc(f.name)}`, { type: f.type, durable: f.durable === 'true', auto_delete: f.auto_delete, internal: f.internal, arguments: args }),
      (f) => `Exchange ${f.name} added`,
    );
  },

  async refresh(view) {
    const list = await api('GET', '/exchanges');
    fill(view.querySelector('#exchange-list'), table(
      [
        { title: 'Virtual host', cell: (e) => esc(e.vhost) },
        { title: 'Name', cell: (e) => `<a href="${exchangeHref(e.vhost, e.name)}">${esc(e.name || '(AMQP default)')}</a>` },
        { title: 'Type', cell: (e) => esc(e.type) },
        { title: 'Features', cell: (e) => esc([e.durable ? 'D' : '', e.auto_delete ? 'AD' : '', e.internal ? 'I' : ''].filter(Boolean).join(' ')) },
      ],
      list,
      { testid: 'exchanges-table', rowId: (e) => `exchange-row-${e.vhost}-${e.name}` },
    ));
  },
};

export const exchange = {
  setup(view, vhost, name) {
    const path = `/exchanges/${enc(vhost)}/${enc(name)}`;
    const isDefault = name === 'amq.default';
    view.innerHTML = `<h1>Exchange ${esc(isDefault ? '(AMQP default)' : name)} <span class="muted" id="exchange-type"></span></h1>
      <h2>Bindings from this exchange</h2><div id="exchange-bindings"></div>
      ${
        mayWrite()
          ? `${
              isDefault
                ? ''
                : `<form id="add-binding" class="stack"><div class="toolbar">
        ${field('To', '<select name="kind"><option value="q">queue</option><option value="e">exchange</option></select>')}
        ${field('Destination', '<input name="destination" required data-testid="binding-destination">')}
        ${field('Routing key', '<input name="routing_key" data-testid="binding-key">')}</div>
        ${field('Arguments (JSON)', '<textarea name="arguments" rows="2"></textarea>')}
        <button class="action" data-testid="binding-submit">Bind</button></form>`
            }
      <h2>Publish a test message</h2>
      <form id="publish" class="stack">${field('Routing key', '<input name="routing_key" data-testid="exchange-routing-key">')}
        ${field('Payload', '<textarea name="payload" data-testid="exchange-payload"></textarea>')}
        <button class="action" data-testid="exchange-publish">Publish</button></form>
      <p id="published" data-testid="exchange-published"></p>
      ${isDefault ? '' : '<h2>Delete</h2><button type="button" class="action danger" id="delete-exchange" data-testid="delete-exchange">Delete exchange</button>'}`
          : ''
      }
      <p><a href="#/exchanges">Back to the exchanges</a></p>`;
    if (!mayWrite()) return;
    view.querySelector('#publish').addEventListener('submit', (event) => {
      event.preventDefault();
      const f = fieldsOf(event.target);
      void act(async () => {
        const result = await api('POST', `${path}/publish`, { routing_key: f.routing_key, payload: f.payload, payload_encoding: 'string', properties: {} });
        view.querySelector('#published').textContent = result.routed ? 'Message published and routed.' : 'Message published, but not routed.';
      });
    });
    onArgumentsForm(
      view.querySelector('#add-binding'),
      (f, args) => api('POST', `/bindings/${enc(vhost)}/e/${enc(name)}/${f.kind}/${enc(f.destination)}`, { routing_key: f.routing_key, arguments: args }),
      () => 'Binding added',
    );
    view.querySelector('#exchange-bindings').addEventListener('click', async (event) => {
      const button = event.target.closest('[data-unbind]');
      if (!button) return;
      if (!(await confirmAction(`Delete the binding to ${button.dataset.destination}?`, { action: 'Delete' }))) return;
      void act(() => api('DELETE', button.dataset.unbind), 'Binding deleted');
    });
    view.querySelector('#delete-exchange')?.addEventListener('click', async () => {
      if (!(await confirmAction(`Delete exchange ${name} and its bindings?`, { action: 'Delete' }))) return;
      void act(async () => {
        await api('DELETE', path);
        location.hash = '#/exchanges';
      }, 'Exchange deleted');
    });
  },

  async refresh(view, vhost, name) {
    const path = `/exchanges/${enc(vhost)}/${enc(name)}`;
    const [e, bindings] = await Promise.all([api('GET', path), api('GET', `${path}/bindings/source`)]);
    view.querySelector('#exchange-type').textContent = `${e.type} in ${vhost}`;
    const unbind = (b) => `/bindings/${enc(vhost)}/e/${enc(name)}/${b.destination_type === 'queue' ? 'q' : 'e'}/${enc(b.destination)}/${enc(b.properties_key)}`;
    fill(view.querySelector('#exchange-bindings'), table(
      [
        { title: 'To', cell: (b) => esc(`${b.destination_type} ${b.destination}`) },
        { title: 'Routing key', cell: (b) => esc(b.routing_key) },
        { title: 'Arguments', cell: (b) => esc(JSON.stringify(b.arguments)) },
        ...(mayWrite() ? [{ title: '', cell: (b) => `<button type="button" class="action danger" data-unbind="${esc(unbind(b))}" data-destination="${esc(b.destination)}" data-testid="unbind">Unbind</button>` }] : []),
      ],
      bindings,
      { testid: 'bindings-table', empty: 'No bindings.' },
    ));
  },
};
