// A real client for the serve tests: Node's ws library. Usage: node node_ws.js URL [PROTOCOL].
// Prints `accepted` (exit 0) when the handshake succeeded and its message came back, or
// `refused: REASON` (exit 1) when ws failed the handshake.
const WebSocket = require(require("path").join(__dirname, "..", "node", "node_modules", "ws"));

const [url, ...protocols] = process.argv.slice(2);
const ws = new WebSocket(url, protocols, { handshakeTimeout: 5000, perMessageDeflate: false });
const timer = setTimeout(() => { console.log("refused: timed out"); process.exit(1); }, 8000);
ws.on("open", () => ws.send("hello"));
ws.on("message", (data) => {
  console.log(`accepted: echo '${data}'`);
  clearTimeout(timer);
  ws.close();
  ws.on("close", () => process.exit(0));
});
ws.on("error", (error) => {
  console.log(`refused: ${error.message}`);
  clearTimeout(timer);
  process.exit(1);
});
