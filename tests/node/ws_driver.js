// Client driver (tests/README.md, "Client drivers"): Node ws with its defaults
// (permessage-deflate offered). Reads URLs one per line on stdin, opens at most 8 at once,
// writes {"url", "opened", "detail"} per URL; `?protocol=a,b` offers those subprotocols.
'use strict';
const WebSocket = require('ws');

const TIMEOUT = 1000 * Number(process.env.WSACCEPT_DRIVER_TIMEOUT || 3);
const CONCURRENCY = 8;

function protocolsOf(url) {
  const values = new URL(url).searchParams.getAll('protocol');
  return values.flatMap((value) => value.split(',')).filter((item) => item);
}

function one(url) {
  return new Promise((resolve) => {
    let settled = false;
    let ws;
    const finish = (opened, detail) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      process.stdout.write(JSON.stringify({ url, opened, detail: String(detail).slice(0, 500) }) + '\n');
      resolve();
    };
    const timer = setTimeout(() => { try { ws.terminate(); } catch (e) {} finish(false, 'timeout'); }, TIMEOUT);
    try {
      ws = new WebSocket(url, protocolsOf(url), { handshakeTimeout: TIMEOUT });
    } catch (error) {
      finish(false, error.message);
      return;
    }
    ws.on('open', () => {
      ws.send('hello', () => setTimeout(() => { ws.terminate(); finish(true, ''); }, 20));
    });
    ws.on('error', (error) => finish(false, error.message));
    ws.on('close', () => finish(false, 'closed'));
  });
}

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', async () => {
  const urls = input.split('\n').map((line) => line.trim()).filter((line) => line);
  let next = 0;
  const worker = async () => { while (next < urls.length) await one(urls[next++]); };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
});
