// Node `ws` (tests/node), an echo server with its defaults on 127.0.0.1:PORT, for the audit tests.
const path = require("path");
const { WebSocketServer } = require(path.join(__dirname, "..", "node", "node_modules", "ws"));
const server = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[2]) });
server.on("connection", (socket) => {
  socket.on("error", () => {});
  socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
});
