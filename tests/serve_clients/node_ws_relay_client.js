// A real client for the relay tests: Node's ws library. Sends a text, a binary and a large
// message through URL, prints each echo as JSON, exits 0 when all three came back unchanged.
const WebSocket = require(require("path").join(__dirname, "..", "node", "node_modules", "ws"));

const sent = ["text é", Buffer.from([0, 1, 2, 255, 254]), "x".repeat(300000)];
const ws = new WebSocket(process.argv[2], ["chat"], { perMessageDeflate: false });
const got = [];
const timer = setTimeout(() => { console.log("timed out"); process.exit(2); }, 10000);
ws.on("open", () => sent.forEach((message) => ws.send(message)));
ws.on("message", (data, isBinary) => {
  got.push(isBinary ? [...data] : data.toString());
  if (got.length === sent.length) {
    clearTimeout(timer);
    const same = got[0] === sent[0] && JSON.stringify(got[1]) === JSON.stringify([...sent[1]]) && got[2] === sent[2];
    console.log(JSON.stringify({ protocol: ws.protocol, same }));
    ws.close(1000);
    ws.on("close", () => process.exit(same ? 0 : 1));
  }
});
ws.on("error", (error) => { console.log(`error: ${error.message}`); process.exit(1); });
