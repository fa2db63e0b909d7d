// ioredis's `sentinels` option against a Cairn Raft group: the client finds
// the leader through SENTINEL GET-MASTER-ADDR-BY-NAME, keeps writing while
// the test kills that leader, and follows the new one.  Prints "ready
// <master port>" once writes flow, then, after `seconds`, one JSON line:
// the ports it wrote to, what was acknowledged and whether every
// acknowledged write reads back.  Usage: node sentinel.js PORTS SECONDS
"use strict";
const Redis = require("ioredis");

const ports = process.argv[2].split(",").map(Number);
const seconds = Number(process.argv[3]);
const hardStop = setTimeout(() => {
  console.log(JSON.stringify({ error: "timed out" }));
  process.exit(2);
}, (seconds + 40) * 1000);

async function main() {
  const r = new Redis({
    sentinels: ports.map((port) => ({ host: "127.0.0.1", port })),
    name: "cairn",
    sentinelRetryStrategy: () => 100,
    retryStrategy: () => 100,
    maxRetriesPerRequest: 20,
  });
  r.on("error", () => {}); // reconnects are expected during the failover
  const masters = [];
  r.on("ready", () => masters.push(r.stream.remotePort));
  const acked = [];
  let failed = 0;
  const end = Date.now() + seconds * 1000;
  for (let i = 0; Date.now() < end; i++) {
    try {
      if ((await r.set(`k${i}`, String(i))) === "OK") acked.push(i);
      if (acked.length === 50 && masters.length) console.log(`ready ${masters[0]}`);
    } catch (e) {
      failed++;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  let lost = 0;
  for (const i of acked) if ((await r.get(`k${i}`)) !== String(i)) lost++;
  console.log(JSON.stringify({ masters, acked: acked.length, failed, lost }));
  r.disconnect();
}

main().then(
  () => {
    clearTimeout(hardStop);
  },
  (e) => {
    console.log(JSON.stringify({ error: String(e) }));
    process.exit(1);
  }
);
