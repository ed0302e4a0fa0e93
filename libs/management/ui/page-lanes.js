// Job lanes: depths and rates; one lane's queued jobs, a page at a time, with delete (confirmed).
import { api, enc, mayWrite } from './api.js';
import { confirmAction, esc, fill, num, rate, table } from './dom.js';
import { act, refreshNow } from './live.js';

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

const JOBS_PAGE_SIZE = 50;
let lanePage = { name: '', page: 1 };

export const lane = {
  setup(view, name) {
    if (lanePage.name !== name) lanePage = { name, page: 1 };
    view.innerHTML = `<h1>Lane ${esc(name)}</h1>
      <div class="toolbar"><span class="muted" data-testid="lane-job-count"></span>
        <button type="button" id="prev" aria-label="Previous page">‹</button><span id="page-of" data-testid="lane-page-of"></span><button type="button" id="next" aria-label="Next page" data-testid="lane-next">›</button></div>
      <div id="job-list"></div><p><a href="#/lanes">Back to the lanes</a></p>`;
    view.querySelector('#prev').addEventListener('click', () => ((lanePage.page -= 1), refreshNow()));
    view.querySelector('#next').addEventListener('click', () => ((lanePage.page += 1), refreshNow()));
    view.addEventListener('click', async (event) => {
      const button = event.target.closest('[data-job]');
      if (!button) return;
      if (!(await confirmAction(`Delete job ${button.dataset.job}? It will not run.`, { action: 'Delete' }))) return;
      void act(() => api('DELETE', `/jobs/${button.dataset.job}`), `Job ${button.dataset.job} deleted`);
    });
  },
  async refresh(view, name) {
    const result = await api('GET', `/jobs/lanes/${enc(name)}?page=${lanePage.page}&page_size=${JOBS_PAGE_SIZE}`);
    // jobs taken since: back to the last page there is
    if (result.page > result.page_count) {
      lanePage.page = result.page_count;
      return lane.refresh(view, name);
    }
    const { jobs } = result;
    view.querySelector('[data-testid=lane-job-count]').textContent = `${num(result.total_count)} jobs queued`;
    view.querySelector('#page-of').textContent = `page ${result.page} / ${result.page_count}`;
    view.querySelector('#prev').disabled = result.page <= 1;
    view.querySelector('#next').disabled = result.page >= result.page_count;
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
