// Node ws against the client corpus (tests/client_corpus.py): reads [{url, protocols}] on stdin,
// opens each in turn with ws's defaults (permessage-deflate offered), sends a text frame on open.
'use strict';
const WebSocket = require('ws');

function one(item) {
  return new Promise((resolve) => {
    const ws = new WebSocket(item.url, item.protocols, { handshakeTimeout: 3000 });
    const timer = setTimeout(() => { ws.terminate(); resolve(); }, 4000);
    const done = () => { clearTimeout(timer); resolve(); };
    ws.on('open', () => { ws.send('hello', () => setTimeout(() => { ws.terminate(); done(); }, 50)); });
    ws.on('error', () => {});
    ws.on('close', done);
  });
}

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', async () => {
  for (const item of JSON.parse(input)) await one(item);
});
