// Job lanes: depths and rates; one lane's charts (the history of its queue, kept by the server as
// every queue's) and queued jobs, a page at a time, with delete (confirmed).
import { api, ApiError, enc, mayWrite } from './api.js';
import { columnsOf, historyParams, onRangeChange, rangePicker, TimeChart } from './charts.js';
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
let laneCharts = null;

export const lane = {
  setup(view, name) {
    if (lanePage.name !== name) lanePage = { name, page: 1 };
    view.innerHTML = `<h1>Lane ${esc(name)}</h1>
      <div class="toolbar"><span class="muted" data-testid="lane-job-count"></span>
        <button type="button" id="prev" aria-label="Previous page">‹</button><span id="page-of" data-testid="lane-page-of"></span><button type="button" id="next" aria-label="Next page" data-testid="lane-next">›</button></div>
      ${rangePicker()}
      <div class="charts"><div class="panel"><h2>Jobs per second</h2><div id="lane-rates-chart" data-testid="lane-rates-chart"></div></div>
      <div class="panel"><h2>Jobs queued</h2><div id="lane-depth-chart" data-testid="lane-depth-chart"></div></div></div>
      <div id="job-list"></div><p><a href="#/lanes">Back to the lanes</a></p>`;
    laneCharts = {
      rates: new TimeChart(view.querySelector('#lane-rates-chart'), [
        { label: 'scheduled', stroke: '#0b63c5' },
        { label: 'received', stroke: '#2e9d4c' },
      ]),
      depth: new TimeChart(view.querySelector('#lane-depth-chart'), [
        { label: 'ready', stroke: '#0b63c5', fill: 'rgba(11,99,197,.1)' },
        { label: 'leased / in flight', stroke: '#c5300b' },
      ]),
    };
    onRangeChange(view, refreshNow);
    view.querySelector('#prev').addEventListener('click', () => ((lanePage.page -= 1), refreshNow()));
    view.querySelector('#next').addEventListener('click', () => ((lanePage.page += 1), refreshNow()));
    view.addEventListener('click', async (event) => {
      const button = event.target.closest('[data-job]');
      if (!button) return;
      if (!(await confirmAction(`Delete job ${button.dataset.job}? It will not run.`, { action: 'Delete' }))) return;
      void act(() => api('DELETE', `/jobs/${button.dataset.job}`), `Job ${button.dataset.job} deleted`);
    });
  },
  teardown() {
    laneCharts?.rates.destroy();
    laneCharts?.depth.destroy();
    laneCharts = null;
  },
  async refresh(view, name) {
    const result = await api('GET', `/jobs/lanes/${enc(name)}?page=${lanePage.page}&page_size=${JOBS_PAGE_SIZE}`);
    // jobs taken since: back to the last page there is
    if (result.page > result.page_count) {
      lanePage.page = result.page_count;
      return lane.refresh(view, name);
    }
    const { jobs } = result;
    await drawCharts(result.vhost, result.queue);
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

/** The lane's charts from its queue's history: scheduled = published, received = delivered. */
async function drawCharts(vhost, queueName) {
  let q;
  try {
    q = await api('GET', `/queues/${enc(vhost)}/${enc(queueName)}?${historyParams()}`);
  } catch (error) {
    // a lane whose queue is gone meanwhile has no history: no charts, not an error
    if (error instanceof ApiError && error.status === 404) return;
    throw error;
  }
  if (laneCharts === null) return;
  const stats = q.message_stats;
  laneCharts.rates.update(columnsOf([stats.publish_details.samples, stats.deliver_get_details.samples], true));
  laneCharts.depth.update(columnsOf([q.messages_ready_details.samples, q.messages_unacknowledged_details.samples], false));
}
