#!/bin/sh
# Starts the built broker as `npm start` and the container image run it. With glibc, malloc is
# asked to back its memory with transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1)
# unless the caller set GLIBC_TUNABLES itself (set it empty for glibc's defaults). Message bodies of
# 64 KB and more are malloc'd and freed at the message rate, and every fresh one faulted its pages
# in 4 KB at a time: 1 MB transient messages went from 269-387 to 471-624 msg/s with it (bench/amqp
# k, 2 cores, alternating runs), the 2M-message backlog's peak RSS stayed the same. Where transparent
# huge pages are off, or the libc is not glibc 2.35 or newer, the setting does nothing.
# exec: the broker keeps this process's id, so signals (and kill -9) reach it directly.
: "${GLIBC_TUNABLES=glibc.malloc.hugetlb=1}"
export GLIBC_TUNABLES
exec node "$(dirname "$0")/../dist/apps/broker/src/main.js" "$@"
