// The overview: totals, message rates and queued messages charted (uPlot).
import { api } from './api.js';
import { card, esc, num } from './dom.js';

const HISTORY_POINTS = 120;
const history = { at: [], publish: [], deliver: [], ack: [], ready: [], unacked: [] };
let charts = null;

export const overview = {
  setup(view) {
    charts = null;
    view.innerHTML = `<h1>Overview</h1><div class="cards" id="cards"></div>
      <div class="charts"><div class="panel"><h2>Message rates</h2><div id="rates-chart" data-testid="rates-chart"></div></div>
      <div class="panel"><h2>Queued messages</h2><div id="depth-chart" data-testid="depth-chart"></div></div></div>
      <div id="alarm"></div>`;
  },
  async refresh(view) {
    const o = await api('GET', '/overview');
    const s = o.message_stats;
    history.at.push(Date.now() / 1000);
    history.publish.push(s.publish_details.rate);
    history.deliver.push(s.deliver_get_details.rate);
    history.ack.push(s.ack_details.rate);
    history.ready.push(o.queue_totals.messages_ready);
    history.unacked.push(o.queue_totals.messages_unacknowledged);
    for (const series of Object.values(history)) if (series.length > HISTORY_POINTS) series.shift();
    const t = o.object_totals;
    view.querySelector('#cards').innerHTML = [
      card('Connections', num(t.connections), 'total-connections'),
      card('Channels', num(t.channels), 'total-channels'),
      card('Queues', num(t.queues), 'total-queues'),
      card('Consumers', num(t.consumers), 'total-consumers'),
      card('Ready', num(o.queue_totals.messages_ready), 'total-ready'),
      card('Unacked', num(o.queue_totals.messages_unacknowledged), 'total-unacked'),
      card('Publish/s', num(s.publish_details.rate), 'rate-publish'),
      card('Deliver/s', num(s.deliver_get_details.rate), 'rate-deliver'),
    ].join('');
    view.querySelector('#alarm').innerHTML = o.alarm ? `<p class="error" data-testid="alarm">Resource alarm: ${esc(o.alarm)}</p>` : '';
    drawCharts(view);
  },
};

function drawCharts(view) {
  if (typeof uPlot !== 'function') return;
  const width = Math.max(300, (view.querySelector('#rates-chart').clientWidth || 600) - 10);
  const rates = [history.at, history.publish, history.deliver, history.ack];
  const depth = [history.at, history.ready, history.unacked];
  if (charts === null) {
    const base = { width, height: 220, scales: { x: { time: true } }, axes: [{}, { size: 60 }] };
    charts = {
      rates: new uPlot({ ...base, series: [{}, { label: 'publish', stroke: '#0b63c5' }, { label: 'deliver', stroke: '#2e9d4c' }, { label: 'ack', stroke: '#ff6600' }] }, rates, view.querySelector('#rates-chart')),
      depth: new uPlot({ ...base, series: [{}, { label: 'ready', stroke: '#0b63c5', fill: 'rgba(11,99,197,.1)' }, { label: 'unacked', stroke: '#c5300b' }] }, depth, view.querySelector('#depth-chart')),
    };
  } else {
    charts.rates.setData(rates);
    charts.depth.setData(depth);
  }
}
