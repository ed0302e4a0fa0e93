// The private PostgreSQL server a cluster bench runs against (scripts/postgres/private-postgres.sh),
// and what the database spends: CPU seconds of the postmaster and all its processes, and WAL bytes.
'use strict';
const { execFile, execFileSync, spawn } = require('node:child_process');
const { promisify } = require('node:util');
const { mkdtempSync, readFileSync, readdirSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'postgres', 'private-postgres.sh');
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const PSQL = join(process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin', 'psql');

function script(...args) {
  return execFileSync('bash', [SCRIPT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

// down/up/kill run while clients are busy: they must not block this process's event loop
const scriptAsync = (...args) => promisify(execFile)('bash', [SCRIPT, ...args], { encoding: 'utf8' }).then(({ stdout }) => stdout.trim());

/** Fields of /proc/PID/stat after the command name (which may hold spaces): [state, ppid, ...]. */
function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // the process is gone
  }
}

// utime, stime, cutime, cstime are fields 14..17 of stat, i.e. 11..14 after the command name
const ownAndReapedTicks = (fields) => Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);

/** Starts a server in a fresh directory; stopped and removed by stop(), or when this process exits. */
function startPrivatePostgres() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-postgres-'));
  spawn('bash', [SCRIPT, 'reap-after', String(process.pid), dir], { detached: true, stdio: 'ignore' }).unref();
  const url = script('start', dir);
  const postmasterPid = () => Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    url,
    dir,
    down: () => scriptAsync('stop', dir),
    up: () => scriptAsync('start', dir),
    kill: () => scriptAsync('kill', dir),
    pause: () => scriptAsync('pause', dir),
    resume: () => scriptAsync('resume', dir),
    stop() {
      script('stop', dir);
      rmSync(dir, { recursive: true, force: true });
    },
    /** A psql one-liner's result (unaligned, tuples only), for measurements outside the clients under test. */
    psql(sql, database = 'broker') {
      const port = readFileSync(join(dir, 'port'), 'utf8').trim();
      return execFileSync(PSQL, ['-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-d', database, '-At', '-c', sql], { encoding: 'utf8' }).trim();
    },
    /** psql without blocking this process (while clients under test are busy). */
    psqlAsync(sql, database = 'broker') {
      const port = readFileSync(join(dir, 'port'), 'utf8').trim();
      return promisify(execFile)(PSQL, ['-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-d', database, '-At', '-c', sql], { encoding: 'utf8' })
        .then(({ stdout }) => stdout.trim());
    },
    /**
     * CPU seconds the server used so far: the postmaster, every live child (backends, WAL writer,
     * checkpointer, autovacuum, ...), and the children that already exited (the postmaster's
     * cutime/cstime), so a difference of two readings counts every process of the interval.
     */
    cpuSeconds() {
      const pm = postmasterPid();
      let ticks = ownAndReapedTicks(statFields(pm));
      for (const name of readdirSync('/proc')) {
        if (name.charCodeAt(0) > 57) continue; // not a pid
        const fields = statFields(name);
        if (fields && Number(fields[1]) === pm) ticks += ownAndReapedTicks(fields);
      }
      return ticks / CLOCK_TICKS;
    },
    /** The current WAL insert position, in bytes. */
    walBytes() {
      return Number(this.psql("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"));
    },
  };
}

/** What the server spent between two calls: { cpuSeconds, walBytes }. */
function costMeter(server) {
  // WAL is read with psql, whose own backend must fall outside the CPU interval
  const wal = server.walBytes();
  const cpu = server.cpuSeconds();
  return () => {
    const cpuSeconds = server.cpuSeconds() - cpu;
    return { cpuSeconds, walBytes: server.walBytes() - wal };
  };
}

module.exports = { startPrivatePostgres, costMeter };
