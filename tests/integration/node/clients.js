// Real Node.js Redis clients against a server: node clients.js SCENARIO PORT
// (run by tests/integration/test_node_clients.py, which installs the
// packages of package.json).  Prints "ok" and exits 0 when every check of
// the scenario holds, else prints what failed and exits 1.  Each scenario
// ends within TIMEOUT_MS.
'use strict';
const assert = require('node:assert/strict');

const TIMEOUT_MS = 20000;
const [scenario, portArg] = process.argv.slice(2);
const port = Number(portArg);
const MESSAGES = 200;
let step = 'connecting'; // where a scenario that timed out was

// Resolves once fn() is true (polled: the clients deliver through
// callbacks).
async function until(what, fn) {
  step = `waiting for ${what}`;
  const deadline = Date.now() + 10000;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// The same checks for every client: channel and pattern subscriptions,
// order per publisher, once per matching subscription, unsubscribing.
function checkDelivery(got) {
  const onA = got.filter((m) => m.kind === 'message' && m.channel === 'news.a');
  assert.deepEqual(onA.map((m) => m.message), [...Array(MESSAGES).keys()].map(String));
  const pat = got.filter((m) => m.kind === 'pmessage');
  // news.a matches news.*: every message on it arrives once more, by pattern.
  assert.equal(pat.filter((m) => m.channel === 'news.a').length, MESSAGES);
  assert.ok(pat.every((m) => m.pattern === 'news.*'));
  assert.deepEqual(got.filter((m) => m.channel === 'news.b').map((m) => m.kind).sort(),
                   ['message', 'pmessage']);
}

async function publishAll(publish) {
  const counts = [];
  for (let i = 0; i < MESSAGES; i++) counts.push(publish('news.a', String(i)));
  counts.push(publish('news.b', 'b'));
  return Promise.all(counts);
}

const scenarios = {
  // ioredis: the subscriber connection, 'message' and 'pmessage' events.
  async ioredis_pubsub() {
    const Redis = require('ioredis');
    const pub = new Redis({ port, lazyConnect: true });
    const sub = new Redis({ port, lazyConnect: true });
    await pub.connect();
    await sub.connect();
    try {
      const got = [];
      sub.on('message', (channel, message) => got.push({ kind: 'message', channel, message }));
      sub.on('pmessage', (pattern, channel, message) =>
        got.push({ kind: 'pmessage', pattern, channel, message }));
      assert.equal(await sub.subscribe('news.a', 'news.b'), 2);
      assert.equal(await sub.psubscribe('news.*'), 3);
      const counts = await publishAll((c, m) => pub.publish(c, m));
      assert.ok(counts.every((n) => n === 2), `PUBLISH counted ${counts}`);
      await until('every message', () => got.length === 2 * (MESSAGES + 1));
      checkDelivery(got);
      assert.deepEqual(await pub.pubsub('NUMSUB', 'news.a'), ['news.a', 1]);
      assert.equal(await sub.unsubscribe('news.a'), 2);
      assert.equal(await pub.publish('news.a', 'late'), 1); // the pattern only
      step = 'unsubscribing from everything';
      assert.equal(await sub.punsubscribe('news.*'), 1);
      assert.equal(await sub.unsubscribe('news.b'), 0);
      // Out of subscribed mode: ordinary commands again.
      assert.equal(await sub.set('after', 'sub'), 'OK');
      assert.equal(await sub.get('after'), 'sub');
      assert.equal(await pub.publish('news.a', 'none'), 0);
    } finally {
      pub.disconnect();
      sub.disconnect();
    }
  },

  // ioredis has no tracking API: the RESP2 way, with the invalidations
  // redirected to a connection subscribed to __redis__:invalidate.
  async ioredis_tracking() {
    const Redis = require('ioredis');
    const reader = new Redis({ port, lazyConnect: true });
    const inval = new Redis({ port, lazyConnect: true });
    const writer = new Redis({ port, lazyConnect: true });
    await Promise.all([reader.connect(), inval.connect(), writer.connect()]);
    try {
      const keys = [];
      inval.on('messageBuffer', (channel, message) => {
        assert.equal(channel.toString(), '__redis__:invalidate');
        keys.push(...message.map(String));
      });
      const id = await inval.client('ID');
      await inval.subscribe('__redis__:invalidate');
      assert.equal(await reader.client('TRACKING', 'ON', 'REDIRECT', id), 'OK');
      assert.equal(await reader.client('GETREDIR'), id);
      await writer.mset('tk1', 'a', 'tk2', 'b');
      assert.deepEqual(await reader.mget('tk1', 'tk2'), ['a', 'b']);
      await writer.set('tk1', 'changed');
      await until('the invalidation of tk1', () => keys.length >= 1);
      assert.deepEqual(keys, ['tk1']);
      await writer.del('tk2');
      await until('the invalidation of tk2', () => keys.length >= 2);
      assert.deepEqual(keys, ['tk1', 'tk2']);
    } finally {
      reader.disconnect();
      inval.disconnect();
      writer.disconnect();
    }
  },

  // node-redis v4 (RESP2): subscribe / pSubscribe with listeners.
  async node_redis4_pubsub() {
    const { createClient } = require('redis');
    const pub = createClient({ socket: { port, host: '127.0.0.1' } });
    pub.on('error', () => {});
    await pub.connect();
    const sub = pub.duplicate();
    sub.on('error', () => {});
    await sub.connect();
    try {
      const got = [];
      await sub.subscribe(['news.a', 'news.b'], (message, channel) =>
        got.push({ kind: 'message', channel, message }));
      await sub.pSubscribe('news.*', (message, channel) =>
        got.push({ kind: 'pmessage', pattern: 'news.*', channel, message }));
      const counts = await publishAll((c, m) => pub.publish(c, m));
      assert.ok(counts.every((n) => n === 2), `PUBLISH counted ${counts}`);
      await until('every message', () => got.length === 2 * (MESSAGES + 1));
      checkDelivery(got);
      assert.equal((await pub.pubSubNumSub(['news.a']))['news.a'], 1);
      assert.equal(await pub.pubSubNumPat(), 1);
      await sub.unsubscribe('news.a');
      assert.equal(await pub.publish('news.a', 'late'), 1);
      step = 'unsubscribing from everything';
      await sub.pUnsubscribe('news.*');
      await sub.unsubscribe('news.b');
      assert.equal(await pub.publish('news.b', 'none'), 0);
    } finally {
      await pub.quit();
      await sub.quit();
    }
  },

  // node-redis v5 over RESP3: messages as push frames.
  async node_redis5_resp3_pubsub() {
    const { createClient } = require('redis5');
    const pub = createClient({ RESP: 3, socket: { port, host: '127.0.0.1' } });
    pub.on('error', () => {});
    await pub.connect();
    const sub = pub.duplicate();
    sub.on('error', () => {});
    await sub.connect();
    try {
      assert.equal((await pub.hello()).proto, 3);
      const got = [];
      await sub.subscribe(['news.a', 'news.b'], (message, channel) =>
        got.push({ kind: 'message', channel, message }));
      await sub.pSubscribe('news.*', (message, channel) =>
        got.push({ kind: 'pmessage', pattern: 'news.*', channel, message }));
      const counts = await publishAll((c, m) => pub.publish(c, m));
      assert.ok(counts.every((n) => n === 2), `PUBLISH counted ${counts}`);
      await until('every message', () => got.length === 2 * (MESSAGES + 1));
      checkDelivery(got);
      // RESP3: the subscribed connection runs any command.
      assert.equal(await sub.ping(), 'PONG');
      step = 'unsubscribing from everything';
      await sub.pUnsubscribe('news.*');
      await sub.unsubscribe(['news.a', 'news.b']);
      assert.equal(await pub.publish('news.a', 'none'), 0);
    } finally {
      pub.destroy();
      sub.destroy();
    }
  },

  // node-redis v5's client-side cache: CLIENT TRACKING over RESP3; a
  // cached read is served locally until the server invalidates the key.
  async node_redis5_client_side_cache() {
    const { createClient } = require('redis5');
    const cached = createClient({ RESP: 3, socket: { port, host: '127.0.0.1' },
                                  clientSideCache: { ttl: 0, maxEntries: 0 } });
    const writer = createClient({ RESP: 3, socket: { port, host: '127.0.0.1' } });
    cached.on('error', () => {});
    writer.on('error', () => {});
    await cached.connect();
    await writer.connect();
    try {
      const info = await writer.sendCommand(['CLIENT', 'LIST']);
      assert.match(String(info), /flags=t/); // the cached connection tracks
      await writer.set('csc', 'v1');
      assert.equal(await cached.get('csc'), 'v1');
      assert.equal(await cached.get('csc'), 'v1');
      const cache = cached.clientSideCache;
      assert.equal(cache.stats().hitCount, 1);
      await writer.set('csc', 'v2');
      // The invalidation push removes the entry: the next read goes to
      // the server and sees the new value.
      await until('the invalidation', () => cache.size() === 0);
      assert.equal(await cached.get('csc'), 'v2');
      assert.equal(cache.stats().missCount, 2);
    } finally {
      cached.destroy();
      writer.destroy();
    }
  },
};

const run = scenarios[scenario];
if (!run || !Number.isInteger(port)) {
  console.error(`usage: node clients.js {${Object.keys(scenarios).join('|')}} PORT`);
  process.exit(2);
}
const timer = setTimeout(() => {
  console.error(`${scenario}: timed out after ${TIMEOUT_MS} ms at: ${step}`);
  process.exit(1);
}, TIMEOUT_MS);
run().then(() => {
  clearTimeout(timer);
  console.log('ok');
  process.exit(0);
}, (err) => {
  console.error(`${scenario}: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
