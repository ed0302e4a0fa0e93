// Policies: every management user lists those of its vhosts; policymakers (in their vhosts) and
// administrators add them with a definition editor that checks the JSON and its settings before
// sending, and delete them (confirmed).
import { api, enc, isPolicymaker } from './api.js';
import { confirmAction, esc, field, fieldsOf, fill, num, table, vhostOptions } from './dom.js';
import { act } from './live.js';
import { parsePolicyDefinition, POLICY_SETTINGS } from './policy-settings.js';

const TARGETS = ['all', 'queues', 'classic_queues', 'quorum_queues', 'exchanges'];

export const policies = {
  async setup(view) {
    const vhostList = isPolicymaker() ? await api('GET', '/vhosts') : [];
    view.innerHTML = `<h1>Policies</h1><div id="policy-list"></div>
      ${
        isPolicymaker()
          ? `<h2>Add or update a policy</h2>
      <form id="add-policy" class="stack" novalidate>
        <div class="toolbar">
          ${field('Virtual host', `<select name="vhost" data-testid="policy-vhost">${vhostOptions(vhostList, '/')}</select>`)}
          ${field('Name', '<input name="name" required data-testid="policy-name">')}
          ${field('Pattern (regular expression over names)', '<input name="pattern" value=".*" data-testid="policy-pattern">')}
          ${field('Apply to', `<select name="apply_to">${TARGETS.map((t) => `<option>${t}</option>`).join('')}</select>`)}
          ${field('Priority', '<input name="priority" type="number" step="1" value="0">')}
        </div>
        ${field('Definition (JSON)', '<textarea name="definition" rows="4" spellcheck="false" data-testid="policy-definition" aria-describedby="policy-check">{\n  "max-length": 1000\n}</textarea>')}
        <p id="policy-check" class="muted" data-testid="policy-check" aria-live="polite"></p>
        <details><summary>Settings a definition may hold</summary><ul>${Object.entries(POLICY_SETTINGS)
          .map(([key, s]) => `<li><code>${esc(key)}</code>: ${esc(s.help)}</li>`)
          .join('')}</ul></details>
        <button class="action" data-testid="policy-submit">Save policy</button>
      </form>`
          : ''
      }`;
    const form = view.querySelector('#add-policy');
    if (form) {
      const check = view.querySelector('#policy-check');
      const editor = form.elements.definition;
      // checked as it is typed, so a mistake shows before sending
      const validate = () => {
        try {
          parsePolicyDefinition(editor.value);
          check.textContent = 'Definition OK.';
          check.className = 'muted';
          editor.removeAttribute('aria-invalid');
          return true;
        } catch (error) {
          check.textContent = error.message;
          check.className = 'error';
          editor.setAttribute('aria-invalid', 'true');
          return false;
        }
      };
      editor.addEventListener('input', validate);
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        if (!validate()) return editor.focus();
        const f = fieldsOf(form);
        if (f.name.trim() === '') {
          check.textContent = 'The policy needs a name.';
          check.className = 'error';
          return form.elements.name.focus();
        }
        void act(async () => {
          await api('PUT', `/policies/${enc(f.vhost)}/${enc(f.name)}`, { pattern: f.pattern, 'apply-to': f.apply_to, priority: Number(f.priority || 0), definition: parsePolicyDefinition(f.definition) });
          form.elements.name.value = '';
        }, `Policy ${f.name} saved`);
      });
    }
    view.querySelector('#policy-list').addEventListener('click', async (event) => {
      const button = event.target.closest('[data-delete-policy]');
      if (!button) return;
      const { vhost, deletePolicy: name } = button.dataset;
      if (!(await confirmAction(`Delete policy ${name} in ${vhost}? Its queues lose its settings.`, { action: 'Delete' }))) return;
      void act(() => api('DELETE', `/policies/${enc(vhost)}/${enc(name)}`), `Policy ${name} deleted`);
    });
  },
  async refresh(view) {
    const list = await api('GET', '/policies');
    fill(view.querySelector('#policy-list'), table(
      [
        { title: 'Virtual host', cell: (p) => esc(p.vhost) },
        { title: 'Name', cell: (p) => esc(p.name) },
        { title: 'Pattern', cell: (p) => `<code>${esc(p.pattern)}</code>` },
        { title: 'Apply to', cell: (p) => esc(p['apply-to']) },
        { title: 'Priority', num: true, cell: (p) => num(p.priority) },
        { title: 'Definition', cell: (p) => `<code>${esc(JSON.stringify(p.definition))}</code>` },
        ...(isPolicymaker() ? [{ title: '', cell: (p) => `<button type="button" class="action danger" data-delete-policy="${esc(p.name)}" data-vhost="${esc(p.vhost)}" data-testid="delete-policy">Delete</button>` }] : []),
      ],
      list,
      { testid: 'policies-table', rowId: (p) => `policy-${p.vhost}-${p.name}`, empty: 'No policies.' },
    ));
  },
};
