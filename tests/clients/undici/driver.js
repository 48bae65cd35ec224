// undici's WebSocket (the one Node 22+ has built in; the `undici` npm package of tests/node here)
// against URLs read one per line on stdin, the driver contract of tests/clients/__init__.py: one
// JSON line per URL, `opened` on its open event (then a text frame and a Close), else the error
// and close events' details; eight URLs at a time. undici offers `permessage-deflate; client_max_window_bits` by
// default; `?protocol=NAME` (or `?protocols=A,B`) in the URL offers those subprotocols.
'use strict';
const path = require('path');
const { createRequire } = require('module');
const { WebSocket } = createRequire(path.join(__dirname, '..', '..', 'node', 'package.json'))('undici');

const CONCURRENCY = 8;
const timeout = 1000 * (Number(process.env.WSACCEPT_DRIVER_TIMEOUT) || 3);

function protocols(url) {
  try {
    const query = new URL(url).searchParams;
    return [...query.getAll('protocol'), ...query.getAll('protocols')]
      .flatMap((value) => value.split(',')).map((name) => name.trim()).filter(Boolean);
  } catch (e) {
    return [];
  }
}

function one(url) {
  return new Promise((resolve) => {
    const details = [];
    let settled = false;
    const finish = (opened) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ url, opened, detail: opened ? '' : details.join('; ') || 'no open event' });
    };
    const timer = setTimeout(() => {
      details.push(`no open within ${timeout} ms`);
      try { ws.close(); } catch (e) { /* not open */ }
      finish(false);
    }, timeout);
    let ws;
    try {
      ws = new WebSocket(url, protocols(url));
    } catch (error) {
      details.push(String(error && error.message || error));
      finish(false);
      return;
    }
    ws.addEventListener('open', () => {
      ws.send('hello');
      setTimeout(() => { try { ws.close(); } catch (e) { /* closing */ } }, 20);
      finish(true);
    });
    ws.addEventListener('error', (event) => {
      const error = event.error;
      details.push(error ? String(error.cause && error.cause.message || error.message || error) : 'error');
    });
    ws.addEventListener('close', (event) => {
      details.push(`close ${event.code}${event.reason ? ` ${event.reason}` : ''}`);
      finish(false);
    });
  });
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', async () => {
  const urls = input.split('\n').map((line) => line.trim()).filter(Boolean);
  const worker = async () => {
    while (urls.length) {
      process.stdout.write(JSON.stringify(await one(urls.shift())) + '\n');
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  setTimeout(() => process.exit(0), 100);
});
