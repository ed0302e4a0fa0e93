// Job lanes: depths and rates; one lane's queued jobs with delete (confirmed).
import { api, enc, mayWrite } from './api.js';
import { confirmAction, esc, fill, num, rate, table } from './dom.js';
import { act } from './live.js';

export const lanes = {
  setup(view) {
    view.innerHTML = '<h1>Job lanes</h1><div id="lane-list"></div>';
  },
  async refresh(view) {
    const list = await api('GET', '/jobs/lanes');
    fill(view.querySelector('#lane-list'), table(
      [
        { title: 'Lane', cell: (l) => `<a href="#/lane/${enc(l.lane)}">${esc(l.lane)}</a>` },
        { title: 'Queued', num: true, cell: (l) => `<span data-testid="lane-queued">${num(l.queued)}</span>` },
        { title: 'Delayed', num: true, cell: (l) => num(l.delayed) },
        { title: 'Leased / in flight', num: true, cell: (l) => num(l.leased_or_in_flight) },
        { title: 'Idle receivers', num: true, cell: (l) => num(l.idle_receivers) },
        { title: 'Scheduled', num: true, cell: (l) => rate(l.scheduled_details) },
        { title: 'Received', num: true, cell: (l) => rate(l.received_details) },
      ],
      list,
      { testid: 'lanes-table', rowId: (l) => `lane-${l.lane}` },
    ));
  },
};

export const lane = {
  setup(view, name) {
    view.innerHTML = `<h1>Lane ${esc(name)}</h1><div id="job-list"></div><p><a href="#/lanes">Back to the lanes</a></p>`;
    view.addEventListener('click', async (event) => {
      const button = event.target.closest('[data-job]');
      if (!button) return;
      if (!(await confirmAction(`Delete job ${button.dataset.job}? It will not run.`, { action: 'Delete' }))) return;
      void act(() => api('DELETE', `/jobs/${button.dataset.job}`), `Job ${button.dataset.job} deleted`);
    });
  },
  async refresh(view, name) {
    const { jobs } = await api('GET', `/jobs/lanes/${enc(name)}`);
    fill(view.querySelector('#job-list'), table(
      [
        { title: 'Job', num: true, cell: (j) => num(j.job_num) },
        { title: 'Priority', num: true, cell: (j) => num(j.priority) },
        { title: 'Scheduled', cell: (j) => esc(j.timestamp) },
        { title: 'Message', cell: (j) => `<code>${esc(String(j.message).slice(0, 120))}</code>` },
        ...(mayWrite() ? [{ title: '', cell: (j) => `<button type="button" class="action danger" data-job="${esc(j.job_num)}" data-testid="delete-job">Delete</button>` }] : []),
      ],
      jobs,
      { testid: 'jobs-table', empty: 'No jobs queued.' },
    ));
  },
};
