// Users, virtual hosts (with definitions export and import) and permissions: administrators only,
// as the API (the nav shows them to administrators alone).
import { api, enc, me } from './api.js';
import { confirmAction, esc, field, fieldsOf, fill, num, showError, table, vhostOptions } from './dom.js';
import { act } from './live.js';
import { bindLimits, limitsSection, refreshLimits } from './vhost-limits.js';

const TAGS = ['administrator', 'monitoring', 'policymaker', 'management'];

/** Tags from the checkboxes and the free-text field, as RabbitMQ's comma-separated string. */
function tagsOf(form) {
  const checked = TAGS.filter((t) => form.querySelector(`[name="tag-${t}"]`)?.checked);
  const typed = String(form.elements.other_tags?.value ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  return [...new Set([...checked, ...typed])].join(',');
}

const tagBoxes = (selected = []) => TAGS.map((t) => `<label><input type="checkbox" name="tag-${t}" ${selected.includes(t) ? 'checked' : ''}> ${t}</label>`).join(' ');

export const users = {
  setup(view) {
    view.innerHTML = `<h1>Users</h1><div id="user-list"></div>
      <h2>Add a user</h2>
      <form id="add-user" class="stack">
        <div class="toolbar">${field('Name', '<input name="name" required autocomplete="off" data-testid="new-user-name">')}
        ${field('Password', '<input name="password" type="password" required autocomplete="new-password" data-testid="new-user-password">')}</div>
        <fieldset class="toolbar"><legend>Tags</legend>${tagBoxes()} ${field('Other tags (comma-separated)', '<input name="other_tags">')}</fieldset>
        <button class="action" data-testid="new-user-submit">Add user</button>
      </form>
      <dialog id="edit-tags" data-testid="tags-dialog"><form method="dialog" class="stack"><h2>Tags of <span data-role="user"></span></h2>
        <fieldset class="toolbar"><legend>Tags</legend><span data-role="boxes"></span> ${field('Other tags (comma-separated)', '<input name="other_tags">')}</fieldset>
        <div class="toolbar"><button value="cancel">Cancel</button><button value="ok" class="action" data-testid="tags-save">Save tags</button></div></form></dialog>`;
    view.querySelector('#add-user').addEventListener('submit', (event) => {
      event.preventDefault();
      const form = event.target;
      const f = fieldsOf(form);
      void act(async () => {
        if ((await api('GET', '/users')).some((u) => u.name === f.name)) throw new Error(`user ${f.name} exists already`);
        await api('PUT', `/users/${enc(f.name)}`, { password: f.password, tags: tagsOf(form) });
        form.reset();
      }, `User ${f.name} added`);
    });
    view.querySelector('#user-list').addEventListener('click', async (event) => {
      const button = event.target.closest('[data-user]');
      if (!button) return;
      const name = button.dataset.user;
      if (button.dataset.do === 'delete') {
        const self = name === me.name ? ' It is the user you are logged in as.' : '';
        if (!(await confirmAction(`Delete user ${name} and its permissions?${self}`, { action: 'Delete' }))) return;
        void act(() => api('DELETE', `/users/${enc(name)}`), `User ${name} deleted`);
      } else if (button.dataset.do === 'password') {
        const password = await confirmAction(`New password for ${name}`, { action: 'Set password', input: { label: 'Password', value: '', type: 'password' } });
        if (password === null) return;
        if (password === '') return showError('Failed: the password must not be empty');
        // the tags are sent back unchanged: a PUT without them would clear them
        void act(() => api('PUT', `/users/${enc(name)}`, { password, tags: button.dataset.tags }), `Password of ${name} set`);
      } else if (button.dataset.do === 'tags') {
        const dialog = view.querySelector('#edit-tags');
        const current = button.dataset.tags.split(',').filter(Boolean);
        dialog.querySelector('[data-role=user]').textContent = name;
        dialog.querySelector('[data-role=boxes]').innerHTML = tagBoxes(current);
        dialog.querySelector('[name=other_tags]').value = current.filter((t) => !TAGS.includes(t)).join(',');
        dialog.returnValue = '';
        dialog.showModal();
        dialog.addEventListener('close', () => {
          if (dialog.returnValue === 'ok') void act(() => api('PUT', `/users/${enc(name)}`, { tags: tagsOf(dialog.querySelector('form')) }), `Tags of ${name} set`);
        }, { once: true });
      }
    });
  },
  async refresh(view) {
    const list = await api('GET', '/users');
    const button = (u, what, label, danger = false) => `<button type="button" class="action${danger ? ' danger' : ''}" data-user="${esc(u.name)}" data-tags="${esc(u.tags.join(','))}" data-do="${what}" data-testid="user-${what}">${label}</button>`;
    fill(view.querySelector('#user-list'), table(
      [
        { title: 'Name', cell: (u) => esc(u.name) },
        { title: 'Tags', cell: (u) => `<span data-testid="user-tags">${esc(u.tags.join(', '))}</span>` },
        { title: '', cell: (u) => `${button(u, 'tags', 'Tags')} ${button(u, 'password', 'Password')} ${button(u, 'delete', 'Delete', true)}` },
      ],
      list,
      { testid: 'users-table', rowId: (u) => `user-${u.name}` },
    ));
  },
};

export const vhosts = {
  setup(view) {
    view.innerHTML = `<h1>Virtual hosts</h1><div id="vhost-list"></div>
      <h2>Add a virtual host</h2>
      <form id="add-vhost" class="toolbar">${field('Name', '<input name="name" required data-testid="new-vhost-name">')}${field('Description', '<input name="description">')}
        <button class="action" data-testid="new-vhost-submit">Add virtual host</button></form>
      ${limitsSection()}
      <h2>Definitions</h2>
      <p class="muted">Users, virtual hosts, permissions, limits, policies, exchanges, queues and bindings as one JSON file (RabbitMQ's format: its exports import here).</p>
      <div class="toolbar"><button type="button" class="action" id="export" data-testid="export-definitions">Export definitions</button></div>
      <form id="import" class="toolbar">${field('Definitions file (JSON)', '<input type="file" name="file" accept="application/json,.json" required data-testid="import-file">')}
        <button class="action" data-testid="import-submit">Import</button></form>`;
    view.querySelector('#add-vhost').addEventListener('submit', (event) => {
      event.preventDefault();
      const form = event.target;
      const f = fieldsOf(form);
      void act(async () => {
        await api('PUT', `/vhosts/${enc(f.name)}`, { description: f.description });
        form.reset();
      }, `Virtual host ${f.name} added`);
    });
    view.querySelector('#vhost-list').addEventListener('click', async (event) => {
      const button = event.target.closest('[data-delete-vhost]');
      if (!button) return;
      const name = button.dataset.deleteVhost;
      if (!(await confirmAction(`Delete virtual host ${name} with every queue, exchange and message in it? Its connections are closed.`, { action: 'Delete' }))) return;
      void act(() => api('DELETE', `/vhosts/${enc(name)}`), `Virtual host ${name} deleted`);
    });
    bindLimits(view);
    view.querySelector('#export').addEventListener('click', () =>
      act(async () => {
        const definitions = await api('GET', '/definitions');
        const link = document.createElement('a');
        link.href = URL.createObjectURL(new Blob([JSON.stringify(definitions, null, 2)], { type: 'application/json' }));
        link.download = `definitions-${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.json`;
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 1000);
      }),
    );
    view.querySelector('#import').addEventListener('submit', async (event) => {
      event.preventDefault();
      const form = event.target;
      const file = form.elements.file.files[0];
      if (!file) return;
      let definitions;
      try {
        definitions = JSON.parse(await file.text());
      } catch (error) {
        return showError(`Failed: ${file.name} is not valid JSON: ${error.message}`);
      }
      if (!(await confirmAction(`Import ${file.name}? Objects with the same names are replaced.`, { action: 'Import' }))) return;
      void act(async () => {
        await api('POST', '/definitions', definitions);
        form.reset();
      }, 'Definitions imported');
    });
  },
  async refresh(view) {
    const list = await api('GET', '/vhosts');
    fill(view.querySelector('#vhost-list'), table(
      [
        { title: 'Name', cell: (v) => esc(v.name) },
        { title: 'Ready', num: true, cell: (v) => num(v.messages_ready) },
        { title: 'Unacked', num: true, cell: (v) => num(v.messages_unacknowledged) },
        { title: 'Total', num: true, cell: (v) => num(v.messages) },
        { title: '', cell: (v) => `<button type="button" class="action danger" data-delete-vhost="${esc(v.name)}" data-testid="delete-vhost">Delete</button>` },
      ],
      list,
      { testid: 'vhosts-table', rowId: (v) => `vhost-${v.name}` },
    ));
    await refreshLimits(view, list);
  },
};

export const permissions = {
  async setup(view) {
    const [userList, vhostList] = await Promise.all([api('GET', '/users'), api('GET', '/vhosts')]);
    view.innerHTML = `<h1>Permissions</h1>
      <p class="muted">Regular expressions over the names of queues and exchanges: <code>.*</code> is everything, <code>^$</code> nothing.</p>
      <div id="permission-list"></div>
      <h2>Set permissions</h2>
      <form id="set-permission" class="toolbar">
        ${field('User', `<select name="user" data-testid="permission-user">${userList.map((u) => `<option>${esc(u.name)}</option>`).join('')}</select>`)}
        ${field('Virtual host', `<select name="vhost" data-testid="permission-vhost">${vhostOptions(vhostList, '/')}</select>`)}
        ${field('Configure', '<input name="configure" value=".*" data-testid="permission-configure">')}
        ${field('Write', '<input name="write" value=".*" data-testid="permission-write">')}
        ${field('Read', '<input name="read" value=".*" data-testid="permission-read">')}
        <button class="action" data-testid="permission-submit">Set permissions</button>
      </form>`;
    view.querySelector('#set-permission').addEventListener('submit', (event) => {
      event.preventDefault();
      const f = fieldsOf(event.target);
      void act(() => api('PUT', `/permissions/${enc(f.vhost)}/${enc(f.user)}`, { configure: f.configure, write: f.write, read: f.read }), `Permissions of ${f.user} in ${f.vhost} set`);
    });
    view.querySelector('#permission-list').addEventListener('click', async (event) => {
      const button = event.target.closest('[data-clear]');
      if (!button) return;
      const { user, vhost } = button.dataset;
      if (!(await confirmAction(`Remove the permissions of ${user} in ${vhost}?`, { action: 'Remove' }))) return;
      void act(() => api('DELETE', `/permissions/${enc(vhost)}/${enc(user)}`), `Permissions of ${user} in ${vhost} removed`);
    });
  },
  async refresh(view) {
    const list = await api('GET', '/permissions');
    fill(view.querySelector('#permission-list'), table(
      [
        { title: 'User', cell: (p) => esc(p.user) },
        { title: 'Virtual host', cell: (p) => esc(p.vhost) },
        { title: 'Configure', cell: (p) => `<code>${esc(p.configure)}</code>` },
        { title: 'Write', cell: (p) => `<code>${esc(p.write)}</code>` },
        { title: 'Read', cell: (p) => `<code>${esc(p.read)}</code>` },
        { title: '', cell: (p) => `<button type="button" class="action danger" data-clear data-user="${esc(p.user)}" data-vhost="${esc(p.vhost)}" data-testid="clear-permission">Remove</button>` },
      ],
      list,
      { testid: 'permissions-table', rowId: (p) => `permission-${p.vhost}-${p.user}` },
    ));
  },
};
