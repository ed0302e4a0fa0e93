// What every page builds with: escaping, numbers, tables, cards, lasting error notices, a short
// "done" notice, and the confirmation dialog.

export const esc = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
export const num = (value) => (typeof value === 'number' ? value.toLocaleString() : esc(value ?? '—'));
export const rate = (details) => (details && typeof details.rate === 'number' ? `${details.rate.toFixed(1)}/s` : '—');

export const card = (label, value, testid = '') => `<div class="card"><div class="label">${esc(label)}</div><div class="value" data-testid="${esc(testid)}">${value}</div></div>`;

/**
 * A table in a box that scrolls sideways on narrow screens. Columns: { title, cell(row) → html,
 * num?, sort? }; sortable headers are buttons (focusable) and say which way they sort.
 */
export function table(columns, rows, options = {}) {
  const head = columns
    .map((c) => {
      const sorted = c.sort && options.sort && options.sort.by === c.sort ? (options.sort.reverse ? 'descending' : 'ascending') : null;
      const title = c.sort ? `<button type="button" class="sort" data-sort="${esc(c.sort)}">${esc(c.title)}${sorted ? (sorted === 'ascending' ? ' ▲' : ' ▼') : ''}</button>` : esc(c.title);
      return `<th scope="col" class="${c.num ? 'num' : ''}"${sorted ? ` aria-sort="${sorted}"` : ''}>${title}</th>`;
    })
    .join('');
  const body =
    rows.length === 0
      ? `<tr><td colspan="${columns.length}" class="muted">${esc(options.empty ?? 'Nothing here.')}</td></tr>`
      : rows.map((row) => `<tr data-testid="${esc(options.rowId ? options.rowId(row) : '')}">${columns.map((c) => `<td class="${c.num ? 'num' : ''}">${c.cell(row)}</td>`).join('')}</tr>`).join('');
  return `<div class="table-box"><table data-testid="${esc(options.testid ?? '')}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** An error that stays until dismissed, with the server's reason. */
export function showError(message) {
  const list = document.getElementById('errors');
  // the same reason twice in a row is one notice
  if ([...list.querySelectorAll('.text')].some((el) => el.textContent === message)) return;
  const item = document.createElement('div');
  item.className = 'notice error';
  item.setAttribute('role', 'alert');
  item.dataset.testid = 'error';
  item.innerHTML = `<span class="text"></span><button type="button" class="dismiss" aria-label="Dismiss">×</button>`;
  item.querySelector('.text').textContent = message;
  item.querySelector('.dismiss').addEventListener('click', () => item.remove());
  list.append(item);
}

export function clearErrors() {
  document.getElementById('errors').replaceChildren();
}

let toastTimer = null;
/** A short notice that something was done (errors use showError instead). */
export function toast(message) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 2500);
}

/**
 * Asks before something that cannot be undone. Resolves to false when cancelled; with `input`
 * (a label and default value) to the text typed, or null when cancelled.
 */
export function confirmAction(question, { action = 'Confirm', input } = {}) {
  const dialog = document.getElementById('confirm');
  dialog.querySelector('[data-role=question]').textContent = question;
  dialog.querySelector('[data-role=ok]').textContent = action;
  const field = dialog.querySelector('[data-role=field]');
  field.hidden = input === undefined;
  if (input !== undefined) {
    field.querySelector('span').textContent = input.label;
    field.querySelector('input').value = input.value ?? '';
    field.querySelector('input').type = input.type ?? 'text';
  }
  dialog.returnValue = '';
  dialog.showModal();
  // what cannot be undone is not one Enter away: Cancel has the focus (or the field to fill in)
  (input !== undefined ? field.querySelector('input') : dialog.querySelector('[data-testid=confirm-cancel]')).focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        const ok = dialog.returnValue === 'ok';
        resolve(input === undefined ? ok : ok ? field.querySelector('input').value : null);
      },
      { once: true },
    );
  });
}

/** A form's named fields as an object of strings (checkboxes as booleans). */
export function fieldsOf(form) {
  const out = {};
  for (const el of form.elements) if (el.name) out[el.name] = el.type === 'checkbox' ? el.checked : el.value;
  return out;
}

/** A JSON object typed into a textarea ('' is {}); throws with a readable reason. */
export function jsonObjectOf(text, what) {
  if (text.trim() === '') return {};
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not valid JSON: ${error.message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} must be a JSON object`);
  return value;
}

/** A labelled input: `<label>` around its text and the control, so every input has a name a screen reader reads. */
export const field = (label, control) => `<label class="field"><span>${esc(label)}</span>${control}</label>`;

/** The vhosts as <option>s. */
export const vhostOptions = (vhosts, selected) => vhosts.map((v) => `<option${v.name === selected ? ' selected' : ''}>${esc(v.name)}</option>`).join('');

/**
 * Replaces a live part of the page, keeping the keyboard focus on the same control when it was in
 * there (a refresh every 5 s must not throw a keyboard user back to the top of the page).
 */
export function fill(container, html) {
  const active = document.activeElement;
  const selector = active && active !== container && container.contains(active) ? selectorOf(active) : null;
  container.innerHTML = html;
  if (selector) container.querySelector(selector)?.focus();
}

/** A selector for "the same control" after a re-render: its tag and its attributes but class and style. */
function selectorOf(element) {
  const attributes = [...element.attributes].filter((a) => a.name !== 'class' && a.name !== 'style' && a.name !== 'aria-sort' && a.name !== 'disabled');
  return `${element.localName}${attributes.map((a) => `[${a.name}="${CSS.escape(a.value)}"]`).join('')}`;
}
