// The overview: totals, and message rates and queued messages charted from the history the
// server keeps (so the charts are full at login and after a reload).
import { api } from './api.js';
import { columnsOf, historyParams, onRangeChange, rangePicker, TimeChart } from './charts.js';
import { card, esc, num } from './dom.js';
import { refreshNow } from './live.js';

let charts = null;

export const overview = {
  setup(view) {
    view.innerHTML = `<h1>Overview</h1><div class="cards" id="cards"></div>
      ${rangePicker()}
      <div class="charts"><div class="panel"><h2>Message rates</h2><div id="rates-chart" data-testid="rates-chart"></div></div>
      <div class="panel"><h2>Queued messages</h2><div id="depth-chart" data-testid="depth-chart"></div></div></div>
      <div id="alarm"></div>`;
    charts = {
      rates: new TimeChart(view.querySelector('#rates-chart'), [
        { label: 'publish', stroke: '#0b63c5' },
        { label: 'deliver / get', stroke: '#2e9d4c' },
        { label: 'ack', stroke: '#ff6600' },
      ]),
      depth: new TimeChart(view.querySelector('#depth-chart'), [
        { label: 'ready', stroke: '#0b63c5', fill: 'rgba(11,99,197,.1)' },
        { label: 'unacked', stroke: '#c5300b' },
      ]),
    };
    onRangeChange(view, refreshNow);
  },
  teardown() {
    charts?.rates.destroy();
    charts?.depth.destroy();
    charts = null;
  },
  async refresh(view) {
    const o = await api('GET', `/overview?${historyParams()}`);
    const s = o.message_stats;
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
    charts.rates.update(columnsOf([s.publish_details.samples, s.deliver_get_details.samples, s.ack_details.samples], true));
    charts.depth.update(columnsOf([o.queue_totals.messages_ready_details.samples, o.queue_totals.messages_unacknowledged_details.samples], false));
  },
};
