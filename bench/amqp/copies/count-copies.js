'use strict';
/**
 * Preload (`node -r`) for the copies bench: counts the bytes JavaScript copies from one buffer into
 * another (Buffer.prototype.copy, Uint8Array.prototype.set, Buffer.concat, Buffer.from of a view,
 * slice of an ArrayBuffer or a plain typed array) and where, in this thread and in every worker
 * thread. Every second each thread writes its totals to $COPY_COUNT_DIR/thread-<id>.json.
 * Copies made by native code (the kernel's socket copies, SQLite binding a blob) are not seen
 * here; bench/amqp/copies/run.sh lists them.
 */
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { threadId } = require('node:worker_threads');

const dir = process.env.COPY_COUNT_DIR;
if (!dir) throw new Error('count-copies.js: set COPY_COUNT_DIR');
/** Copies smaller than this are counted but not attributed (headers, method frames). */
const SITE_MIN = Number(process.env.COPY_SITE_MIN ?? 512);
const totals = { bytes: 0, calls: 0, sites: {} };
let inside = false; // a patched function calling another patched one counts once

function record(bytes) {
  if (inside || !(bytes > 0)) return;
  totals.bytes += bytes;
  totals.calls++;
  if (bytes < SITE_MIN) return;
  const frames = new Error().stack.split('\n').slice(3);
  const frame = frames.find((f) => !f.includes('node:') && !f.includes('count-copies.js')) ?? frames[0] ?? '?';
  const site = frame.trim().replace(/^at /, '').replace(/\(.*\/(dist|node_modules)\//, '($1/');
  const entry = (totals.sites[site] ??= { bytes: 0, calls: 0 });
  entry.bytes += bytes;
  entry.calls++;
}

function wrap(owner, name, bytesOf) {
  const original = owner[name];
  owner[name] = function (...args) {
    if (inside) return original.apply(this, args);
    const bytes = bytesOf.call(this, args);
    inside = true;
    try {
      return original.apply(this, args);
    } finally {
      inside = false;
      record(bytes);
    }
  };
}

const isView = (x) => ArrayBuffer.isView(x);
wrap(Buffer.prototype, 'copy', function ([target, targetStart = 0, sourceStart = 0, sourceEnd = this.length]) {
  const end = Math.min(sourceEnd, this.length);
  return Math.max(0, Math.min(end - sourceStart, target.length - targetStart));
});
wrap(Uint8Array.prototype, 'set', ([source]) => (source && typeof source.length === 'number' ? source.length : 0));
wrap(Buffer, 'concat', ([list, length]) => length ?? list.reduce((n, b) => n + b.length, 0));
wrap(Buffer, 'from', ([value]) => (isView(value) ? value.byteLength : 0));
wrap(ArrayBuffer.prototype, 'slice', function ([start = 0, end = this.byteLength]) {
  const s = start < 0 ? this.byteLength + start : start;
  const e = end < 0 ? this.byteLength + end : Math.min(end, this.byteLength);
  return Math.max(0, e - s);
});
for (const T of [Uint8Array, Float64Array]) {
  const own = T.prototype.slice;
  // Buffer.prototype.slice is a view (subarray); only real typed-array slices copy
  T.prototype.slice = function (...args) {
    const out = own.apply(this, args);
    if (!Buffer.isBuffer(this)) record(out.byteLength);
    return out;
  };
}

const file = join(dir, `thread-${process.pid}-${threadId}.json`);
const dump = () => writeFileSync(file, JSON.stringify({ pid: process.pid, threadId, ...totals }));
setInterval(dump, 1000).unref();
process.on('exit', dump);
