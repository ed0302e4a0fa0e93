// Small statistics for bench figures.
'use strict';

/** { n, p50, p99, max, mean } of a list of numbers (ms), rounded for printing. */
function summary(values) {
  if (values.length === 0) return { n: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (x) => Math.round(x * 1000) / 1000;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { n: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]), mean: round(mean) };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Parses --name value flags; numbers come back as numbers. */
function flags(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) continue;
    const name = argv[i].slice(2);
    const value = argv[i + 1];
    out[name] = value === undefined || value.startsWith('--') ? true : Number.isNaN(Number(value)) ? value : Number(value);
    if (out[name] !== true) i++;
  }
  return out;
}

module.exports = { summary, median, sleep, flags };
