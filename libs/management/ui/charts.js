// Charts over the history the server keeps (RabbitMQ's `*_details.samples`): full at login and
// after a reload, over the range picked (1 min, 10 min, 1 h); where the server has no samples
// (it was stopped, or had just started) the line stops: a gap, not a straight line across it.

export const RANGES = [
  { label: '1 min', age: 60, incr: 5 },
  { label: '10 min', age: 600, incr: 5 },
  { label: '1 h', age: 3600, incr: 30 },
];
let range = RANGES.find((r) => String(r.age) === localStorage.getItem('chart-range')) ?? RANGES[1];

/** RabbitMQ's history parameters for the range picked. */
export const historyParams = () => `lengths_age=${range.age}&lengths_incr=${range.incr}&msg_rates_age=${range.age}&msg_rates_incr=${range.incr}`;

export const rangePicker = () =>
  `<div class="range" role="group" aria-label="Chart range" data-testid="chart-range">${RANGES.map((r) => `<button type="button" data-range="${r.age}" aria-pressed="${r === range}">${r.label}</button>`).join('')}</div>`;

/** Makes the range buttons in `view` switch the range (kept for the next visit) and refresh. */
export function onRangeChange(view, refresh) {
  view.addEventListener('click', (event) => {
    const button = event.target.closest('[data-range]');
    if (!button) return;
    range = RANGES.find((r) => String(r.age) === button.dataset.range) ?? range;
    localStorage.setItem('chart-range', String(range.age));
    for (const b of view.querySelectorAll('[data-range]')) b.setAttribute('aria-pressed', String(b === button));
    void refresh();
  });
}

/**
 * Columns for uPlot (x in seconds since the epoch, as uPlot's time scale reads it) from series of
 * samples (newest first, timestamps in ms). `rates` turns cumulative counts into per-second rates
 * between samples. A step longer than 1.5 × the expected one gets a null point: a gap.
 */
export function columnsOf(seriesSamples, rates) {
  const byTime = new Map();
  seriesSamples.forEach((samples, i) => {
    for (const s of samples ?? []) {
      if (!byTime.has(s.timestamp)) byTime.set(s.timestamp, new Array(seriesSamples.length).fill(null));
      byTime.get(s.timestamp)[i] = s.sample;
    }
  });
  const times = [...byTime.keys()].sort((a, b) => a - b);
  const step = Math.max(range.incr, 5) * 1000;
  const x = [];
  const ys = seriesSamples.map(() => []);
  times.forEach((t, k) => {
    const previous = times[k - 1];
    const gap = previous !== undefined && t - previous > step * 1.5;
    if (gap) {
      x.push((previous + t) / 2000);
      for (const y of ys) y.push(null);
    }
    if (rates && (previous === undefined || gap)) return;
    x.push(t / 1000);
    ys.forEach((y, i) => {
      const value = byTime.get(t)[i];
      if (!rates) return y.push(value);
      const before = byTime.get(previous)[i];
      const perSecond = value === null || before === null ? null : ((value - before) * 1000) / (t - previous);
      // a counter that went back (its broker restarted) has no rate there
      y.push(perSecond === null || perSecond < 0 ? null : Math.round(perSecond * 10) / 10);
    });
  });
  return [x, ...ys];
}

/** A uPlot chart whose x axis is always the range picked, ending now. */
export class TimeChart {
  constructor(element, series) {
    this.element = element;
    this.series = series;
    this.plot = null;
  }

  update(columns) {
    // what is drawn, readable without the canvas (tests, and anyone inspecting the page)
    const to = Math.round(Date.now() / 1000);
    Object.assign(this.element.dataset, { points: String(columns[0].filter((_x, i) => columns.slice(1).some((y) => y[i] !== null)).length), from: String(to - range.age), to: String(to) });
    if (typeof uPlot !== 'function') return;
    const width = Math.max(260, this.element.clientWidth || 600);
    if (this.plot === null) {
      const dark = matchMedia('(prefers-color-scheme: dark)').matches;
      const axis = { stroke: dark ? '#c9d3dd' : '#1d2733', grid: { stroke: dark ? '#2c3743' : '#e3e8ed' } };
      this.plot = new uPlot(
        {
          width,
          height: 200,
          scales: { x: { time: true, range: () => [Date.now() / 1000 - range.age, Date.now() / 1000] }, y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1)] } },
          axes: [axis, { ...axis, size: 60 }],
          series: [{}, ...this.series.map((s) => ({ label: s.label, stroke: s.stroke, fill: s.fill, width: 1.5, spanGaps: false }))],
        },
        columns,
        this.element,
      );
      this.resize = () => this.plot?.setSize({ width: Math.max(260, this.element.clientWidth || 600), height: 200 });
      addEventListener('resize', this.resize);
    } else {
      if (Math.abs(this.plot.width - width) > 2) this.plot.setSize({ width, height: 200 });
      this.plot.setData(columns);
    }
  }

  destroy() {
    removeEventListener('resize', this.resize);
    this.plot?.destroy();
    this.plot = null;
  }
}
