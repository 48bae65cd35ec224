// A real server for the relay tests: Node's ws library, echoing every message as it came
// (text as text, binary as binary). Prints its port, then serves until stdin closes.
const WebSocket = require(require("path").join(__dirname, "..", "node", "node_modules", "ws"));

const server = new WebSocket.Server({ host: "127.0.0.1", port: 0, perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has("chat") ? "chat" : false) });
server.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.on("listening", () => console.log(server.address().port));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
