// A TCP proxy that holds every chunk for DELAY ms in each direction, so a loopback database looks
// like one across a network (round trip = 2 x DELAY). Pipelining only shows its worth there.
'use strict';
const net = require('node:net');

/** Resolves to { url, close() }: `url` is the database URL rewritten to go through the proxy. */
function delayProxy(databaseUrl, delayMs) {
  const target = new URL(databaseUrl);
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    // equal delays keep chunks in order: timers of one duration fire first in, first out
    client.on('data', (chunk) => setTimeout(() => upstream.write(chunk), delayMs));
    upstream.on('data', (chunk) => setTimeout(() => client.write(chunk), delayMs));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const url = new URL(databaseUrl);
      url.port = String(server.address().port);
      resolve({
        url: url.toString(),
        close: () => {
          for (const socket of sockets) socket.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      });
    });
  });
}

module.exports = { delayProxy };
