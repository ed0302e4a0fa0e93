#!/usr/bin/env bash
# Issue 28's cluster figures, one after the other (never two at once), each on a private
# PostgreSQL 15 of its own (scripts/postgres/private-postgres.sh), raw results in bench/results/:
#   1. jobs.js        jobs end to end: ours on 1 and 3 nodes, graphile-worker, pg-boss; alternating
#                     rounds; jobs/s, ratios, PostgreSQL CPU and WAL per 1,000 jobs, our nodes' CPU
#   2. deliveries.js  deliveries end to end on 3 nodes to a local sink: accepted/s, delivered/s, lost
#   3. soak.js        jobs end to end on 3 nodes for 10 minutes: throughput and table sizes over time
#
#   bench/cluster/run.sh            the figures: 3 rounds x 10,000 jobs, 3 x 20 s of deliveries,
#                                   a 10-minute soak (~25 min on a 2-core machine)
#   bench/cluster/run.sh --quick    a check that everything runs: 1 round x 2,000 jobs, 1 x 5 s, 1-minute soak
# Needs the job and delivery doors with STORE=postgres (the database-backed queue type); until
# then the scripts stop saying so (exit 3). See bench/cluster/README.md for the anchors alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
QUICK=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
[ -f dist/apps/broker/src/main.js ] || npm run build --silent

if [ -n "$QUICK" ]; then
  node bench/cluster/jobs.js --rounds 1 --jobs 2000 --warmup 200
  node bench/cluster/deliveries.js --rounds 1 --seconds 5 --warmup 100
  node bench/cluster/soak.js --minutes 1 --sample-seconds 10
else
  node bench/cluster/jobs.js --rounds 3 --jobs 10000
  node bench/cluster/deliveries.js --rounds 3 --seconds 20
  node bench/cluster/soak.js --minutes 10 --sample-seconds 15
fi
