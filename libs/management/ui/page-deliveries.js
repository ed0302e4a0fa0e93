// Deliveries: counts by state, the list filtered by state and destination host (paged by the
// server), selection for "replay selected", cancel and replay per row, the hosts' circuits; one
// delivery with every attempt.
import { api, enc, mayWrite } from './api.js';
import { card, confirmAction, esc, field, fill, num, table } from './dom.js';
import { act, refreshNow } from './live.js';

const STATES = ['pending', 'retrying', 'in-flight', 'delivered', 'dead', 'cancelled'];
const PAGE_SIZE = 50;
let filter = { state: '', host: '', page: 1 };
/** uuids ticked for "replay selected": kept across refreshes while they stay on the page. */
const selected = new Set();

const stateOf = (d) => (d.state === 'pending' && d.next_attempt_at && d.attempts.length > 0 ? 'retrying' : d.state);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');
const lastAnswer = (d) => {
  const last = d.attempts.at(-1);
  return last ? esc(last.status ?? last.error ?? '') : '';
};

function cancelDelivery(uuid) {
  return (async () => {
    if (!(await confirmAction(`Cancel delivery ${uuid}? It will not be sent.`, { action: 'Cancel delivery' }))) return;
    await act(() => api('DELETE', `/deliveries/${enc(uuid)}`), 'Delivery cancelled');
  })();
}

export const deliveries = {
  setup(view) {
    view.innerHTML = `<h1>Deliveries</h1><div class="cards" id="delivery-counts"></div>
      <div class="toolbar">
        ${field('State', `<select id="delivery-state" data-testid="delivery-state"><option value="">all</option>${STATES.map((s) => `<option${s === filter.state ? ' selected' : ''}>${s}</option>`).join('')}</select>`)}
        ${field('Destination host', `<input id="delivery-host" type="search" value="${esc(filter.host)}" placeholder="host:port" data-testid="delivery-host">`)}
        <span class="muted" data-testid="delivery-count"></span>
        <button type="button" id="prev" aria-label="Previous page">‹</button><span id="page-of"></span><button type="button" id="next" aria-label="Next page">›</button>
      </div>
      ${mayWrite() ? `<div class="toolbar"><button type="button" class="action" id="replay-selected" data-testid="replay-selected">Replay selected</button>
        <button type="button" class="action" id="replay-all" data-testid="replay-all">Replay all dead</button></div>` : ''}
      <div id="delivery-list"></div>
      <h2>Circuits</h2><div id="circuit-list"></div>`;
    view.querySelector('#delivery-state').addEventListener('change', (e) => ((filter = { ...filter, state: e.target.value, page: 1 }), refreshNow()));
    let debounce = null;
    view.querySelector('#delivery-host').addEventListener('input', (e) => {
      filter = { ...filter, host: e.target.value.trim(), page: 1 };
      clearTimeout(debounce);
      debounce = setTimeout(refreshNow, 250);
    });
    view.querySelector('#prev').addEventListener('click', () => ((filter.page -= 1), refreshNow()));
    view.querySelector('#next').addEventListener('click', () => ((filter.page += 1), refreshNow()));
    view.querySelector('#replay-all')?.addEventListener('click', async () => {
      const host = filter.host;
      if (!(await confirmAction(`Replay every dead delivery${host ? ` to ${host}` : ''}? Each is sent again to its destination.`, { action: 'Replay all' }))) return;
      void act(() => api('POST', '/deliveries-replay', host ? { host } : {}), 'Dead deliveries replayed');
    });
    view.querySelector('#replay-selected')?.addEventListener('click', async () => {
      const uuids = [...selected];
      if (uuids.length === 0) return;
      if (!(await confirmAction(`Replay ${uuids.length} selected deliveries?`, { action: 'Replay selected' }))) return;
      void act(async () => {
        const result = await api('POST', '/deliveries-replay', { uuids });
        selected.clear();
        if (result.not_replayed.length > 0) throw new Error(`${result.replayed} replayed; not replayed: ${result.not_replayed.map((n) => `${n.uuid} (${n.reason})`).join('; ')}`);
      }, 'Selected deliveries replayed');
    });
    view.querySelector('#delivery-list').addEventListener('click', (event) => {
      const replay = event.target.closest('[data-replay]');
      if (replay) void act(() => api('POST', `/deliveries/${enc(replay.dataset.replay)}/replay`), 'Replayed');
      const cancel = event.target.closest('[data-cancel]');
      if (cancel) void cancelDelivery(cancel.dataset.cancel);
    });
    view.querySelector('#delivery-list').addEventListener('change', (event) => {
      const box = event.target.closest('[data-select]');
      if (!box) return;
      if (box.checked) selected.add(box.dataset.select);
      else selected.delete(box.dataset.select);
      updateSelected(view);
    });
  },
  async refresh(view) {
    const q = new URLSearchParams({ page: String(filter.page), page_size: String(PAGE_SIZE) });
    if (filter.state) q.set('state', filter.state);
    if (filter.host) q.set('host', filter.host);
    const result = await api('GET', `/deliveries?${q}`);
    filter.page = result.page;
    view.querySelector('#delivery-counts').innerHTML = STATES.map((s) => card(s, num(result.counts[s]), `deliveries-${s}`)).join('');
    const onPage = new Set(result.deliveries.map((d) => d.uuid));
    for (const uuid of selected) if (!onPage.has(uuid)) selected.delete(uuid);
    const write = mayWrite();
    fill(view.querySelector('#delivery-list'), table(
      [
        ...(write ? [{ title: '', cell: (d) => (d.state === 'dead' ? `<input type="checkbox" aria-label="Select ${esc(d.uuid)}" data-select="${esc(d.uuid)}" data-testid="select-delivery"${selected.has(d.uuid) ? ' checked' : ''}>` : '') }] : []),
        { title: 'UUID', cell: (d) => `<a href="#/delivery/${enc(d.uuid)}" data-testid="delivery-link">${esc(d.uuid)}</a>` },
        { title: 'State', cell: (d) => `<span data-testid="delivery-state-cell">${esc(stateOf(d))}</span>` },
        { title: 'Destination', cell: (d) => esc(`${d.method} ${d.url}`) },
        { title: 'Attempts', num: true, cell: (d) => num(d.attempts.length) },
        { title: 'Last answer', cell: lastAnswer },
        { title: 'Next attempt', cell: (d) => esc(when(d.next_attempt_at)) },
        ...(write
          ? [{ title: '', cell: (d) => (d.state === 'dead' ? `<button type="button" class="action" data-replay="${esc(d.uuid)}" data-testid="replay">Replay</button>` : '') + (['pending', 'dead'].includes(d.state) ? ` <button type="button" class="action danger" data-cancel="${esc(d.uuid)}" data-testid="cancel">Cancel</button>` : '') }]
          : []),
      ],
      result.deliveries,
      { testid: 'deliveries-table', rowId: (d) => `delivery-${d.uuid}`, empty: 'No deliveries here.' },
    ));
    view.querySelector('[data-testid=delivery-count]').textContent = `${num(result.filtered_count)} deliveries`;
    view.querySelector('#page-of').textContent = `page ${result.page} / ${result.page_count}`;
    view.querySelector('#prev').disabled = result.page <= 1;
    view.querySelector('#next').disabled = result.page >= result.page_count;
    const all = view.querySelector('#replay-all');
    if (all) all.disabled = result.counts.dead === 0;
    updateSelected(view);
    fill(view.querySelector('#circuit-list'), table(
      [
        { title: 'Host', cell: (c) => esc(c.host) },
        { title: 'Circuit', cell: (c) => `<span data-testid="circuit-state">${c.open ? (c.probing ? 'open, probing' : 'open') : 'closed'}</span>` },
        { title: 'Failures in a row', num: true, cell: (c) => num(c.failures) },
        { title: 'Next probe', cell: (c) => esc(when(c.next_probe_at)) },
      ],
      result.circuits,
      { testid: 'circuits-table', rowId: (c) => `circuit-${c.host}`, empty: 'Every host answers.' },
    ));
  },
};

function updateSelected(view) {
  const button = view.querySelector('#replay-selected');
  if (!button) return;
  button.disabled = selected.size === 0;
  button.textContent = selected.size === 0 ? 'Replay selected' : `Replay ${selected.size} selected`;
}

export const delivery = {
  setup(view, uuid) {
    view.innerHTML = `<h1>Delivery <span data-testid="delivery-title">${esc(uuid)}</span></h1>
      <div class="cards" id="delivery-cards"></div>
      ${mayWrite() ? '<div class="toolbar"><button type="button" class="action" id="replay-one" data-testid="replay-one">Replay</button><button type="button" class="action danger" id="cancel-one" data-testid="cancel-one">Cancel</button></div>' : ''}
      <div class="panel" id="delivery-facts"></div>
      <h2>Attempts</h2><div id="attempt-list"></div>
      <p><a href="#/deliveries">Back to the deliveries</a></p>`;
    view.querySelector('#replay-one')?.addEventListener('click', () => void act(() => api('POST', `/deliveries/${enc(uuid)}/replay`), 'Replayed'));
    view.querySelector('#cancel-one')?.addEventListener('click', () => void cancelDelivery(uuid));
  },
  async refresh(view, uuid) {
    const d = await api('GET', `/deliveries/${enc(uuid)}`);
    const state = stateOf(d);
    view.querySelector('#delivery-cards').innerHTML = [
      card('State', esc(state), 'delivery-detail-state'),
      card('Attempts', num(d.attempts.length), 'delivery-detail-attempts'),
      card('Replays', num(d.replays)),
      card('Next attempt', esc(when(d.next_attempt_at) || '—')),
    ].join('');
    const replay = view.querySelector('#replay-one');
    if (replay) replay.disabled = d.state !== 'dead';
    const cancel = view.querySelector('#cancel-one');
    if (cancel) cancel.disabled = !['pending', 'dead'].includes(d.state);
    view.querySelector('#delivery-facts').innerHTML = `<b>Destination</b> <code>${esc(`${d.method} ${d.url}`)}</code> · <b>Accepted</b> ${esc(when(d.accepted_at))} · <b>Updated</b> ${esc(when(d.updated_at))}${d.dead_reason ? ` · <b>Why dead</b> ${esc(d.dead_reason)}` : ''}${d.ordering_key ? ` · <b>Ordering key</b> ${esc(d.ordering_key)}` : ''}`;
    fill(view.querySelector('#attempt-list'), table(
      [
        { title: '#', num: true, cell: (a) => num(d.attempts.indexOf(a) + 1) },
        { title: 'At', cell: (a) => esc(when(a.at)) },
        { title: 'Duration', num: true, cell: (a) => `${num(a.duration_ms)} ms` },
        { title: 'Status or error', cell: (a) => `<span data-testid="attempt-outcome">${esc(a.status ?? a.error ?? '')}</span>` },
        { title: 'Response', cell: (a) => `<code>${esc(a.response ?? '')}</code>` },
      ],
      d.attempts,
      { testid: 'attempts-table', empty: 'Not tried yet.' },
    ));
  },
};
