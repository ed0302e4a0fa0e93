// The one refresh timer of the page. Every page refreshes on it; it survives errors: when the
// broker cannot be reached a banner says so and the next tick tries again, and the banner goes
// away by itself once an answer comes back.
import { ApiError } from './api.js';
import { fieldsOf, jsonObjectOf, showError, toast } from './dom.js';

export const REFRESH_MS = 5000;

let refresher = null;
let timer = null;
let running = null;
/** Asked for while a run was under way (a new page, an action): run again right after it. */
let again = false;

/** What each tick runs (the router's refresh of the page shown). */
export function setRefresher(fn) {
  refresher = fn;
}

export function stopRefreshing() {
  refresher = null;
  clearTimeout(timer);
  timer = null;
}

/** Refreshes now, then every REFRESH_MS, whatever the outcome. Concurrent calls share one run. */
export function refreshNow() {
  clearTimeout(timer);
  if (refresher === null) return Promise.resolve();
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    try {
      await refresher?.();
      setUnreachable(false);
    } catch (error) {
      if (error instanceof ApiError && error.kind === 'unreachable') setUnreachable(true);
      else throw error;
    } finally {
      running = null;
      if (refresher !== null) timer = setTimeout(refreshNow, again ? 0 : REFRESH_MS);
      again = false;
    }
  })();
  return running.catch((error) => showError(error.message));
}

function setUnreachable(unreachable) {
  document.getElementById('banner').hidden = !unreachable;
  document.body.classList.toggle('unreachable', unreachable);
}

/**
 * Runs an action a user asked for: a short notice when done, the server's reason kept on screen
 * when refused, and the page refreshed either way.
 */
export async function act(fn, done) {
  try {
    await fn();
    if (done) toast(done);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.kind === 'unreachable') setUnreachable(true);
    showError(`Failed: ${error.message}`);
    return false;
  } finally {
    void refreshNow();
  }
}

/**
 * A form that declares something with `arguments` (a queue, an exchange, a binding): on submit,
 * `declare(fields, args)` runs with its fields and its arguments as an object, then the form is
 * cleared; arguments that are not a JSON object are shown as an error and nothing is sent.
 */
export function onArgumentsForm(form, declare, done) {
  form?.addEventListener('submit', (event) => {
    event.preventDefault();
    const f = fieldsOf(form);
    let args;
    try {
      args = jsonObjectOf(f.arguments, 'Arguments');
    } catch (error) {
      return showError(error.message);
    }
    void act(async () => {
      await declare(f, args);
      form.reset();
    }, done(f));
  });
}
