// Connections (close one, confirmed with a reason), one connection with its channels, and the
// channels of every connection the user may see.
import { api, enc, mayWrite, me } from './api.js';
import { confirmAction, esc, fill, num, table } from './dom.js';
import { act } from './live.js';

const closable = (c) => mayWrite() && (c.user === me.name || me.tags.includes('administrator'));

async function closeConnection(name) {
  const reason = await confirmAction(`Close connection ${name}? The client is told the reason below.`, { action: 'Close', input: { label: 'Reason sent to the client', value: 'Closed via the admin page' } });
  if (reason === null) return;
  await act(() => api('DELETE', `/connections/${enc(name)}`, undefined, { 'X-Reason': reason }), 'Connection closed');
}

function onClose(view) {
  view.addEventListener('click', (event) => {
    const button = event.target.closest('[data-close]');
    if (button) void closeConnection(button.dataset.close);
  });
}

const channelColumns = [
  { title: 'Channel', cell: (c) => esc(c.name) },
  { title: 'User', cell: (c) => esc(c.user) },
  { title: 'Vhost', cell: (c) => esc(c.vhost) },
  { title: 'Mode', cell: (c) => esc(c.confirm ? 'confirm' : c.transactional ? 'tx' : '') },
  { title: 'Consumers', num: true, cell: (c) => num(c.consumer_count) },
  { title: 'Unacked', num: true, cell: (c) => num(c.messages_unacknowledged) },
  { title: 'Prefetch', num: true, cell: (c) => num(c.prefetch_count) },
];

export const connections = {
  setup(view) {
    view.innerHTML = '<h1>Connections</h1><div id="connection-list"></div>';
    onClose(view);
  },
  async refresh(view) {
    const list = await api('GET', '/connections');
    fill(view.querySelector('#connection-list'), table(
      [
        { title: 'Name', cell: (c) => `<a href="#/connection/${enc(c.name)}">${esc(c.name)}</a>` },
        { title: 'Client', cell: (c) => esc(c.user_provided_name ?? c.client_properties.product ?? '') },
        { title: 'User', cell: (c) => esc(c.user) },
        { title: 'Vhost', cell: (c) => esc(c.vhost) },
        { title: 'Channels', num: true, cell: (c) => num(c.channels) },
        { title: 'Since', cell: (c) => esc(new Date(c.connected_at).toLocaleTimeString()) },
        { title: '', cell: (c) => (closable(c) ? `<button type="button" class="action danger" data-close="${esc(c.name)}" data-testid="close-connection">Close</button>` : '') },
      ],
      list,
      { testid: 'connections-table', rowId: (c) => `connection-${c.user_provided_name ?? c.name}`, empty: 'No connections.' },
    ));
  },
};

export const connection = {
  setup(view, name) {
    view.innerHTML = `<h1>Connection ${esc(name)}</h1><div class="panel" id="connection-details"></div>
      <h2>Channels</h2><div id="connection-channels"></div><div id="connection-close"></div><p><a href="#/connections">Back to the connections</a></p>`;
    onClose(view);
  },
  async refresh(view, name) {
    const [c, channelList] = await Promise.all([api('GET', `/connections/${enc(name)}`), api('GET', `/connections/${enc(name)}/channels`)]);
    view.querySelector('#connection-details').innerHTML = `<b>User</b> ${esc(c.user)} · <b>Vhost</b> ${esc(c.vhost)} · <b>Protocol</b> ${esc(c.protocol ?? '')} · <b>Client</b> ${esc(c.user_provided_name ?? c.client_properties.product ?? '')} · <b>Since</b> ${esc(new Date(c.connected_at).toLocaleString())}`;
    fill(view.querySelector('#connection-channels'), table(channelColumns, channelList, { testid: 'connection-channels', empty: 'No channels.' }));
    fill(view.querySelector('#connection-close'), closable(c) ? `<button type="button" class="action danger" data-close="${esc(c.name)}" data-testid="close-connection">Close this connection</button>` : '');
  },
};

export const channels = {
  setup(view) {
    view.innerHTML = '<h1>Channels</h1><div id="channel-list"></div>';
  },
  async refresh(view) {
    const list = await api('GET', '/channels');
    fill(view.querySelector('#channel-list'), table(channelColumns, list, { testid: 'channels-table', empty: 'No channels.' }));
  },
};
