// The vhost limits part of the virtual hosts page (administrators only, as the page): RabbitMQ's
// max-connections and max-queues per vhost, shown, set and cleared (clearing asks first).
import { api, enc } from './api.js';
import { confirmAction, esc, field, fieldsOf, fill, num, showError, table, vhostOptions } from './dom.js';
import { act } from './live.js';

const NAMES = ['max-connections', 'max-queues'];

export const limitsSection = () => `<h2>Limits</h2>
  <p class="muted">Connections and queues at most per virtual host (RabbitMQ's vhost limits). -1 is no limit; 0 admits none.</p>
  <div id="limit-list"></div>
  <form id="set-limit" class="toolbar">
    ${field('Virtual host', '<select name="vhost" data-testid="limit-vhost"></select>')}
    ${field('Limit', `<select name="name" data-testid="limit-name">${NAMES.map((n) => `<option>${n}</option>`).join('')}</select>`)}
    ${field('Value', '<input name="value" type="number" step="1" min="-1" required data-testid="limit-value">')}
    <button class="action" data-testid="limit-submit">Set limit</button>
  </form>`;

export function bindLimits(view) {
  view.querySelector('#set-limit').addEventListener('submit', (event) => {
    event.preventDefault();
    const f = fieldsOf(event.target);
    const value = Number(f.value);
    if (f.value.trim() === '' || !Number.isInteger(value)) return showError('Failed: the limit must be a whole number (-1 for no limit)');
    void act(async () => {
      await api('PUT', `/vhost-limits/${enc(f.vhost)}/${enc(f.name)}`, { value });
      event.target.elements.value.value = '';
    }, `${f.name} of ${f.vhost} set to ${value}`);
  });
  view.querySelector('#limit-list').addEventListener('click', async (event) => {
    const button = event.target.closest('[data-clear-limit]');
    if (!button) return;
    const { vhost, clearLimit: name } = button.dataset;
    if (!(await confirmAction(`Clear ${name} of virtual host ${vhost}? It will have no such limit.`, { action: 'Clear' }))) return;
    void act(() => api('DELETE', `/vhost-limits/${enc(vhost)}/${enc(name)}`), `${name} of ${vhost} cleared`);
  });
}

export async function refreshLimits(view, vhostList) {
  const limits = await api('GET', '/vhost-limits');
  const rows = limits.flatMap((l) => NAMES.filter((n) => l.value[n] !== undefined).map((name) => ({ vhost: l.vhost, name, value: l.value[name] })));
  fill(view.querySelector('#limit-list'), table(
    [
      { title: 'Virtual host', cell: (r) => esc(r.vhost) },
      { title: 'Limit', cell: (r) => esc(r.name) },
      { title: 'Value', num: true, cell: (r) => `<span data-testid="limit-shown">${r.value < 0 ? 'no limit' : num(r.value)}</span>` },
      { title: '', cell: (r) => `<button type="button" class="action danger" data-vhost="${esc(r.vhost)}" data-clear-limit="${esc(r.name)}" data-testid="limit-clear">Clear</button>` },
    ],
    rows,
    { testid: 'limits-table', rowId: (r) => `limit-${r.vhost}-${r.name}`, empty: 'No limits set.' },
  ));
  // the choice survives the refresh: only the options are replaced, the selected vhost kept
  const select = view.querySelector('[data-testid=limit-vhost]');
  const chosen = select.value || '/';
  const options = vhostOptions(vhostList, chosen);
  if (select.innerHTML !== options) select.innerHTML = options;
}
