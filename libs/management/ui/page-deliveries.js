// Deliveries: counts by state and the dead letters with their attempts; replay one, or all
// (confirmed).
import { api, enc, mayWrite } from './api.js';
import { card, confirmAction, esc, fill, num, table } from './dom.js';
import { act } from './live.js';

const STATES = ['pending', 'in-flight', 'delivered', 'dead', 'cancelled'];

export const deliveries = {
  setup(view) {
    view.innerHTML = `<h1>Deliveries</h1><div class="cards" id="delivery-counts"></div>
      <div class="toolbar"><h2>Dead letters</h2>${mayWrite() ? '<button type="button" class="action" id="replay-all" data-testid="replay-all">Replay all</button>' : ''}</div>
      <div id="dead-list"></div>`;
    view.querySelector('#replay-all')?.addEventListener('click', async () => {
      if (!(await confirmAction('Replay every dead letter? Each is sent again to its destination.', { action: 'Replay all' }))) return;
      void act(() => api('POST', '/deliveries-replay', {}), 'Dead letters replayed');
    });
    view.querySelector('#dead-list').addEventListener('click', (event) => {
      const button = event.target.closest('[data-replay]');
      if (button) void act(() => api('POST', `/deliveries/${enc(button.dataset.replay)}/replay`), 'Replayed');
    });
  },
  async refresh(view) {
    const [summary, dead] = await Promise.all([api('GET', '/deliveries'), api('GET', '/deliveries?state=dead&limit=200')]);
    view.querySelector('#delivery-counts').innerHTML = STATES.map((s) => card(s, num(summary.counts[s]), `deliveries-${s}`)).join('');
    const all = view.querySelector('#replay-all');
    if (all) all.disabled = dead.deliveries.length === 0;
    fill(view.querySelector('#dead-list'), table(
      [
        { title: 'UUID', cell: (d) => esc(d.uuid) },
        { title: 'Destination', cell: (d) => esc(`${d.method} ${d.url}`) },
        { title: 'Attempts', num: true, cell: (d) => num(d.attempts.length) },
        { title: 'Last answer', cell: (d) => esc((d.attempts.at(-1) ?? {}).status ?? (d.attempts.at(-1) ?? {}).error ?? '') },
        { title: 'Why', cell: (d) => esc(d.dead_reason ?? '') },
        ...(mayWrite() ? [{ title: '', cell: (d) => `<button type="button" class="action" data-replay="${esc(d.uuid)}" data-testid="replay">Replay</button>` }] : []),
      ],
      dead.deliveries,
      { testid: 'dead-table', rowId: (d) => `dead-${d.uuid}`, empty: 'No dead letters.' },
    ));
  },
};
