#!/bin/sh
# Build amqp-loadgen into /tmp/amqp-loadgen/loadgen, GOPATH mode, against Debian's Go packages
# (golang-go, golang-github-rabbitmq-amqp091-go-dev); no module downloads. Same as amqp-perf's build.sh.
set -eu
cd "$(dirname "$0")"
OUT=${LOADGEN_OUT:-/tmp/amqp-loadgen/loadgen}
mkdir -p "$(dirname "$OUT")"
export GOPATH=/usr/share/gocode GO111MODULE=off
go vet .
go build -trimpath -o "$OUT" .
echo "built $OUT ($(go version | cut -d' ' -f3), amqp091-go $(sed -n 's/.*buildVersion *= *"\(.*\)"/\1/p' /usr/share/gocode/src/github.com/rabbitmq/amqp091-go/connection.go))"
