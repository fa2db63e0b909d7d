// Real flows of the Node.js libraries applications build on Redis: websocket
// fan-out (socket.io over the pub/sub, sharded pub/sub and streams
// adapters), session stores (connect-redis with express-session, on ioredis
// and node-redis v4), queues (Bull, Bee-Queue on node-redis v3) and the
// clients' own features (node-redis v4 iterators, isolation, WATCH; ioredis
// pipelines, auto-pipelining, defineCommand, scan streams, keyPrefix,
// reconnection).
// Usage: NODE_PATH=<node_modules> node apps.js <port> [flow,...], as
// tests/integration/test_node_apps.py runs it.  Prints "<flow> ok" per flow
// and "ALL OK", or exits non-zero.
'use strict';
const assert = require('assert');
const http = require('http');
const Redis = require('ioredis');
const { createClient, WatchError } = require('redis');

const port = Number(process.argv[2]);
const host = '127.0.0.1';
const url = `redis://${host}:${port}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const uniq = () => Date.now().toString(36) + Math.random().toString(36).slice(2, 6);

async function until(what, check, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error('timed out waiting for ' + what);
}

// ---------------------------------------------------------------- socket.io

// Two socket.io servers sharing one adapter kind, three clients: c0 on s0,
// c1 and c2 on s1; c0 and c1 in room "r1".
async function ioCluster(makeAdapter, opts = {}) {
  const { Server } = require('socket.io');
  const ioc = require('socket.io-client');
  const servers = [];
  for (let i = 0; i < 2; i++) {
    const srv = http.createServer();
    const io = new Server(srv, { adapter: await makeAdapter(i), ...opts });
    io.on('connection', (socket) => {
      const room = socket.handshake.query.room;
      if (room) socket.join(room);
      socket.on('whoami', (cb) => cb(i));
    });
    await new Promise((r) => srv.listen(0, host, r));
    servers.push({ io, srv, port: srv.address().port });
  }
  const clients = [];
  for (const [s, room] of [[0, 'r1'], [1, 'r1'], [1, '']]) {
    const c = ioc(`http://${host}:${servers[s].port}`, {
      transports: ['websocket'], query: { room }, reconnection: false,
    });
    await new Promise((r, j) => { c.once('connect', r); c.once('connect_error', j); });
    clients.push(c);
  }
  return { servers, clients };
}

function collect(clients, event) {
  const got = clients.map(() => []);
  clients.forEach((c, i) => c.on(event, (...a) => got[i].push(a)));
  return got;
}

async function ioChecks({ servers, clients }) {
  const [s0, s1] = servers.map((s) => s.io);
  await until('both servers see each other', async () =>
    (await s0.of('/').adapter.serverCount()) === 2 &&
    (await s1.of('/').adapter.serverCount()) === 2);

  // A room broadcast from s0 reaches the member on s1, not the non-member.
  const msgs = collect(clients, 'msg');
  s0.to('r1').emit('msg', 'to-r1');
  s1.emit('msg', 'to-all');
  s1.except('r1').emit('msg', 'not-r1');
  await until('broadcasts delivered', async () =>
    msgs[0].length === 2 && msgs[1].length === 2 && msgs[2].length === 2);
  await sleep(50);
  assert.deepStrictEqual(msgs.map((m) => m.map((a) => a[0]).sort()),
    [['to-all', 'to-r1'], ['to-all', 'to-r1'], ['not-r1', 'to-all']]);

  // fetchSockets across servers, and remote room changes.
  const inR1 = await s0.in('r1').fetchSockets();
  assert.deepStrictEqual(inR1.map((s) => s.id).sort(), [clients[0].id, clients[1].id].sort());
  assert.strictEqual((await s1.fetchSockets()).length, 3);
  s0.in(clients[2].id).socketsJoin('r2');
  await until('c2 joined r2 remotely', async () =>
    (await s0.in('r2').fetchSockets()).length === 1);
  const r2 = collect([clients[2]], 'r2msg');
  s0.to('r2').emit('r2msg', 1);
  await until('r2 broadcast', async () => r2[0].length === 1);

  // Broadcast with acknowledgements from clients on both servers.
  clients.forEach((c, i) => c.on('ask', (cb) => cb('c' + i)));
  const answers = await s1.timeout(5000).emitWithAck('ask');
  assert.deepStrictEqual(answers.sort(), ['c0', 'c1', 'c2']);

  // serverSideEmit, with and without acknowledgements.
  const heard = [];
  s1.on('hello', (arg, cb) => { heard.push(arg); if (cb) cb(arg + 1); });
  s0.serverSideEmit('hello', 1);
  await until('server-side emit', async () => heard.length === 1);
  const replies = await s0.serverSideEmitWithAck('hello', 41);
  assert.deepStrictEqual(replies, [42]);

  // disconnectSockets across servers.
  const gone = new Promise((r) => clients[1].once('disconnect', r));
  s0.in(clients[1].id).disconnectSockets(true);
  await gone;
  await until('c1 gone', async () => (await s0.fetchSockets()).length === 2);
}

async function ioClose({ servers, clients }) {
  clients.forEach((c) => c.close());
  for (const s of servers) await new Promise((r) => s.io.close(r));
}

async function socketioIoredis() {
  const { createAdapter } = require('@socket.io/redis-adapter');
  const conns = [];
  const key = 'sio' + uniq();
  const cl = await ioCluster(async () => {
    const pub = new Redis({ port, host, lazyConnect: true });
    await pub.connect();
    const sub = pub.duplicate();
    conns.push(pub, sub);
    return createAdapter(pub, sub, { key });
  });
  await ioChecks(cl);
  await ioClose(cl);
  for (const c of conns) c.disconnect();
  console.log('socket.io redis-adapter ioredis ok');
}

async function socketioNodeRedis() {
  const { createAdapter } = require('@socket.io/redis-adapter');
  const conns = [];
  const key = 'sio' + uniq();
  const cl = await ioCluster(async () => {
    const pub = createClient({ url });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    conns.push(pub, sub);
    return createAdapter(pub, sub, { key });
  });
  await ioChecks(cl);
  await ioClose(cl);
  await sleep(20);
  for (const c of conns) await c.quit();
  console.log('socket.io redis-adapter node-redis ok');
}

async function socketioSharded() {
  const { createShardedAdapter } = require('@socket.io/redis-adapter');
  for (const subscriptionMode of ['static', 'dynamic']) {
    const conns = [];
    const channelPrefix = 'ssio' + uniq();
    const cl = await ioCluster(async () => {
      const pub = createClient({ url });
      const sub = pub.duplicate();
      await Promise.all([pub.connect(), sub.connect()]);
      conns.push(pub, sub);
      return createShardedAdapter(pub, sub, { channelPrefix, subscriptionMode });
    });
    await ioChecks(cl);
    if (subscriptionMode === 'dynamic') {
      const chans = await conns[0].sendCommand(['PUBSUB', 'SHARDCHANNELS', channelPrefix + '*']);
      assert.ok(chans.some((c) => c.includes('#r1#')), 'a channel per room: ' + chans);
    }
    await ioClose(cl);
    await sleep(20);
    for (const c of conns) await c.quit();
  }
  console.log('socket.io sharded adapter ok');
}

async function socketioStreams() {
  const { createAdapter } = require('@socket.io/redis-streams-adapter');
  const streamName = 'sios' + uniq();
  const conns = [];
  const cl = await ioCluster(async (i) => {
    // One server on ioredis, the other on node-redis: the adapter supports both.
    if (i === 0) {
      const c = new Redis({ port, host });
      conns.push(() => c.disconnect());
      return createAdapter(c, { streamName, heartbeatInterval: 200 });
    }
    const c = createClient({ url });
    await c.connect();
    conns.push(() => c.disconnect());
    return createAdapter(c, { streamName, heartbeatInterval: 200 });
  }, { connectionStateRecovery: { maxDisconnectionDuration: 10000 } });
  await ioChecks(cl);

  // A client that lost its connection gets what it missed (the session and
  // the packets are kept in Redis by the streams adapter).
  const [s0] = cl.servers.map((s) => s.io);
  const c = require('socket.io-client')(`http://${host}:${cl.servers[0].port}`, { transports: ['websocket'] });
  const got = [];
  c.on('news', (x) => got.push(x));
  await new Promise((r) => c.once('connect', r));
  s0.emit('news', 1);
  await until('first news', async () => got.length === 1);
  const oldId = c.id;
  c.io.engine.close();
  await until('server saw the disconnect', async () =>
    !(await s0.fetchSockets()).some((s) => s.id === oldId));
  s0.emit('news', 2);
  await sleep(50);
  await until('reconnected', async () => c.connected);
  await until('missed news replayed', async () => got.length === 2);
  assert.ok(c.recovered, 'the session was recovered');
  assert.strictEqual(c.id, oldId);
  const probe = new Redis({ port, host });
  assert.ok((await probe.xlen(streamName)) > 0);
  probe.disconnect();
  c.close();
  await ioClose(cl);
  for (const f of conns) await f();
  console.log('socket.io streams adapter ok');
}

// ------------------------------------------------------------ session store

async function sessionFlow(client, label) {
  const express = require('express');
  const session = require('express-session');
  const RedisStore = require('connect-redis').default;
  const prefix = 'sess' + uniq() + ':';
  const store = new RedisStore({ client, prefix, ttl: 60, scanCount: 2 });
  const app = express();
  app.use(session({
    store, secret: 'cairn', resave: false, saveUninitialized: false, rolling: true,
    cookie: { maxAge: 30000 },
  }));
  app.get('/login/:user', (req, res) => { req.session.user = req.params.user; res.send('ok'); });
  app.get('/me', (req, res) => res.send(req.session.user || 'nobody'));
  app.get('/logout', (req, res) => req.session.destroy(() => res.send('bye')));
  const srv = app.listen(0, host);
  await new Promise((r) => srv.once('listening', r));
  const base = `http://${host}:${srv.address().port}`;
  const login = async (u) => {
    const r = await fetch(`${base}/login/${u}`);
    return r.headers.get('set-cookie').split(';')[0];
  };
  const me = async (cookie) => (await fetch(`${base}/me`, { headers: { cookie } })).text();

  const cookies = [];
  for (const u of ['ann', 'bob', 'cid', 'dan', 'eve']) cookies.push(await login(u));
  assert.strictEqual(await me(cookies[1]), 'bob');
  assert.strictEqual(await me('connect.sid=s%3Anope.nope'), 'nobody');
  const call = (m, ...a) => new Promise((res, rej) =>
    store[m](...a, (e, v) => (e ? rej(e) : res(v))));
  assert.strictEqual(await call('length'), 5);
  const ids = await call('ids');
  assert.strictEqual(ids.length, 5);
  const all = await call('all');
  assert.deepStrictEqual(all.map((s) => s.user).sort(), ['ann', 'bob', 'cid', 'dan', 'eve']);
  const probe = new Redis({ port, host });
  const ttl = await probe.ttl(prefix + ids[0]);
  assert.ok(ttl > 20 && ttl <= 30, 'the cookie maxAge is the key ttl: ' + ttl);
  await probe.expire(prefix + ids[0], 5);
  await call('touch', ids[0], { cookie: { expires: new Date(Date.now() + 20000) } });
  assert.ok((await probe.ttl(prefix + ids[0])) > 10, 'touch refreshes the ttl');

  await fetch(`${base}/logout`, { headers: { cookie: cookies[0] } });
  assert.strictEqual(await me(cookies[0]), 'nobody');
  assert.strictEqual(await call('length'), 4);
  await call('clear');
  assert.strictEqual(await call('length'), 0);
  assert.strictEqual(await me(cookies[2]), 'nobody');
  probe.disconnect();
  await new Promise((r) => srv.close(r));
  console.log(`connect-redis ${label} ok`);
}

async function sessionsIoredis() {
  const client = new Redis({ port, host });
  await sessionFlow(client, 'ioredis');
  client.disconnect();
}

async function sessionsNodeRedis() {
  const client = createClient({ url });
  await client.connect();
  await sessionFlow(client, 'node-redis');
  await client.disconnect();
}

// ------------------------------------------------------------------ queues

async function bull() {
  const Queue = require('bull');
  const name = 'bull' + uniq();
  const queue = new Queue(name, { redis: { port, host } });
  const seen = [];
  let flakyFails = 0;
  queue.process('*', 3, async (job) => {
    if (job.name === 'flaky' && flakyFails++ < 1) throw new Error('once');
    if (job.name === 'bad') throw new Error('boom');
    await job.progress(50);
    seen.push(job.name);
    return job.data.n * 2;
  });
  await queue.isReady();
  const a = await queue.add('plain', { n: 1 });
  await queue.add('prio', { n: 2 }, { priority: 1 });
  await queue.add('later', { n: 3 }, { delay: 300 });
  await queue.add('flaky', { n: 4 }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
  await queue.addBulk([{ name: 'b1', data: { n: 5 } }, { name: 'b2', data: { n: 6 } }]);
  await queue.add('bad', { n: 7 }, { attempts: 1 });
  assert.strictEqual(await a.finished(), 2);
  await until('six done, one failed', async () => {
    const c = await queue.getJobCounts();
    return c.completed === 6 && c.failed === 1;
  });
  assert.deepStrictEqual(seen.sort(), ['b1', 'b2', 'flaky', 'later', 'plain', 'prio']);
  const failed = await queue.getFailed();
  assert.strictEqual(failed[0].failedReason, 'boom');
  await failed[0].retry();
  await until('retried and failed again', async () =>
    (await queue.getJobCounts()).failed === 1 && (await queue.getJob(failed[0].id)).attemptsMade === 2);

  // Workers are found through CLIENT SETNAME / CLIENT LIST.
  const workers = await queue.getWorkers();
  assert.ok(workers.length >= 1, 'workers ' + JSON.stringify(workers));
  assert.ok(workers.every((w) => w.name && w.name.includes(name)), JSON.stringify(workers));

  // Repeatable jobs.
  await queue.add('tick', { n: 0 }, { repeat: { every: 100, limit: 2 } });
  await until('two ticks', async () => seen.filter((n) => n === 'tick').length === 2);
  const rep = await queue.getRepeatableJobs();
  if (rep.length) await queue.removeRepeatableByKey(rep[0].key);

  // Pause, resume, clean, empty, obliterate.
  await queue.pause();
  assert.ok(await queue.isPaused());
  await queue.add('paused', { n: 8 });
  await sleep(100);
  assert.strictEqual((await queue.getJobCounts()).paused, 1);
  await queue.resume();
  await until('resumed', async () => seen.includes('paused'));
  const cleaned = await queue.clean(0, 'completed');
  assert.strictEqual(cleaned.length, 9);
  await queue.obliterate({ force: true });
  await queue.close();
  console.log('bull ok');
}

async function beeQueue() {
  const BeeQueue = require('bee-queue');
  const name = 'bee' + uniq();
  const opts = { redis: { port, host }, activateDelayedJobs: true, removeOnSuccess: false,
    stallInterval: 1000, delayedDebounce: 50 };
  const queue = new BeeQueue(name, opts);
  await queue.ready();
  const done = [];
  let fails = 0;
  queue.process(2, async (job) => {
    if (job.data.flaky && fails++ < 1) throw new Error('once');
    if (job.data.bad) throw new Error('boom');
    job.reportProgress(50);
    done.push(job.data.n);
    return job.data.n * 2;
  });
  const j1 = await queue.createJob({ n: 1 }).save();
  const finished = new Promise((r) => j1.on('succeeded', r));
  assert.strictEqual(await finished, 2);
  await queue.createJob({ n: 2, flaky: true }).retries(2).backoff('fixed', 50).save();
  await queue.createJob({ n: 3 }).delayUntil(Date.now() + 200).save();
  await queue.saveAll([queue.createJob({ n: 4 }), queue.createJob({ n: 5 })]);
  const bad = await queue.createJob({ bad: true }).save();
  await until('bee jobs done', async () => {
    const h = await queue.checkHealth();
    return h.succeeded === 5 && h.failed === 1;
  });
  assert.deepStrictEqual(done.sort(), [1, 2, 3, 4, 5]);
  const h = await queue.checkHealth();
  assert.deepStrictEqual([h.waiting, h.active, h.delayed], [0, 0, 0]);
  const failedJob = await queue.getJob(bad.id);
  assert.strictEqual(failedJob.status, 'failed');
  const ok = await queue.getJobs('succeeded', { size: 10 });
  assert.strictEqual(ok.length, 5);
  await queue.removeJob(bad.id);
  assert.strictEqual(await queue.getJob(bad.id), null);
  await queue.destroy();
  await queue.close();
  console.log('bee-queue ok');
}

// ---------------------------------------------------- node-redis v4 itself

async function nodeRedis() {
  const c = createClient({ url, name: 'nr-main' });
  await c.connect();
  const p = 'nr' + uniq() + ':';
  for (let i = 0; i < 30; i++) await c.set(`${p}s${i}`, i);
  await c.hSet(p + 'h', Object.fromEntries([...Array(40)].map((_, i) => ['f' + i, 'v' + i])));
  await c.sAdd(p + 'set', [...Array(40)].map((_, i) => 'm' + i));
  await c.zAdd(p + 'z', [...Array(40)].map((_, i) => ({ score: i, value: 'z' + i })));
  const keys = [];
  for await (const k of c.scanIterator({ MATCH: p + 's[0-9]*', COUNT: 7 })) keys.push(k);
  assert.strictEqual(new Set(keys).size, 30);
  const typed = [];
  for await (const k of c.scanIterator({ MATCH: p + '*', TYPE: 'hash' })) typed.push(k);
  assert.deepStrictEqual(typed, [p + 'h']);
  const fields = {};
  for await (const { field, value } of c.hScanIterator(p + 'h', { COUNT: 5 })) fields[field] = value;
  assert.strictEqual(Object.keys(fields).length, 40);
  assert.strictEqual(fields.f7, 'v7');
  const members = new Set();
  for await (const m of c.sScanIterator(p + 'set', { MATCH: 'm1*' })) members.add(m);
  assert.strictEqual(members.size, 11);
  let zsum = 0;
  for await (const { score } of c.zScanIterator(p + 'z')) zsum += score;
  assert.strictEqual(zsum, 780);

  // WATCH in an isolated connection; a concurrent write aborts EXEC.
  const k = p + 'watched';
  await c.set(k, '1');
  await assert.rejects(c.executeIsolated(async (iso) => {
    await iso.watch(k);
    await c.set(k, '2');
    return iso.multi().set(k, '3').exec();
  }), WatchError);
  assert.strictEqual(await c.get(k), '2');
  const res = await c.executeIsolated(async (iso) => {
    await iso.watch(k);
    return iso.multi().incr(k).get(k).exec();
  });
  assert.deepStrictEqual(res, [3, '3']);
  // A MULTI with an error queued fails as a whole; one failing at run time
  // does not stop the others.
  await assert.rejects(c.multi().set(k, 'x').addCommand(['NOSUCHCMD']).exec());
  const mixed = await c.multi().set(k, 'a').incr(k).get(k).exec().catch((e) => e);
  assert.ok(mixed instanceof Error || Array.isArray(mixed));
  assert.strictEqual(await c.get(k), 'a');
  const piped = await c.multi().set(p + 'q', '1').incr(p + 'q').execAsPipeline();
  assert.deepStrictEqual(piped, ['OK', 2]);

  // Pool of isolated connections running blocking commands side by side.
  const blocked = [1, 2, 3].map((i) =>
    c.executeIsolated((iso) => iso.blPop(p + 'l' + i, 5)));
  await sleep(50);
  for (const i of [1, 2, 3]) await c.rPush(p + 'l' + i, 'x' + i);
  const popped = await Promise.all(blocked);
  assert.deepStrictEqual(popped.map((x) => x.element), ['x1', 'x2', 'x3']);

  // Pub/sub: channels, patterns, sharded channels, and the counts.
  const sub = c.duplicate();
  await sub.connect();
  const got = [];
  await sub.subscribe(p + 'ch', (m, ch) => got.push(['ch', ch, m]));
  await sub.pSubscribe(p + 'pat*', (m, ch) => got.push(['pat', ch, m]));
  await sub.sSubscribe(p + 'sh', (m, ch) => got.push(['sh', ch, m]));
  assert.strictEqual(await c.publish(p + 'ch', 'a'), 1);
  assert.strictEqual(await c.publish(p + 'pat1', 'b'), 1);
  assert.strictEqual(await c.sPublish(p + 'sh', 'c'), 1);
  await until('messages', async () => got.length === 3);
  assert.deepStrictEqual(got, [['ch', p + 'ch', 'a'], ['pat', p + 'pat1', 'b'], ['sh', p + 'sh', 'c']]);
  assert.deepStrictEqual({ ...(await c.pubSubNumSub([p + 'ch'])) }, { [p + 'ch']: 1 });
  assert.strictEqual(await c.pubSubNumPat(), 1);
  assert.deepStrictEqual(await c.pubSubShardChannels(p + '*'), [p + 'sh']);
  assert.deepStrictEqual(await c.sendCommand(['PUBSUB', 'SHARDNUMSUB', p + 'sh']), [p + 'sh', 1]);
  await sub.unsubscribe(p + 'ch');
  await sub.pUnsubscribe();
  await sub.sUnsubscribe(p + 'sh');
  assert.strictEqual(await c.publish(p + 'ch', 'a'), 0);
  assert.strictEqual(await c.sPublish(p + 'sh', 'c'), 0);
  // The subscriber can run commands again.
  assert.strictEqual(await sub.ping(), 'PONG');
  await sub.disconnect();

  // CLIENT commands the client issues and exposes.
  assert.strictEqual(await c.clientGetName(), 'nr-main');
  const info = await c.clientInfo();
  assert.strictEqual(info.name, 'nr-main');
  assert.ok(Number.isInteger(info.id) && info.id > 0);
  const list = await c.clientList();
  assert.ok(list.some((x) => x.name === 'nr-main' && x.id === info.id));
  assert.strictEqual(await c.clientId(), info.id);

  // Client-side caching hints: CLIENT TRACKING with redirection.
  const inv = c.duplicate();
  await inv.connect();
  const invId = await inv.clientId();
  const invalidated = [];
  await inv.subscribe('__redis__:invalidate', (m) => invalidated.push(m));
  const t = c.duplicate();
  await t.connect();
  await t.sendCommand(['CLIENT', 'TRACKING', 'on', 'REDIRECT', String(invId)]);
  assert.strictEqual(await t.sendCommand(['CLIENT', 'GETREDIR']), invId);
  await t.get(p + 'tracked');
  await c.set(p + 'tracked', 'v');
  await until('invalidation', async () => invalidated.length === 1);
  await t.disconnect();
  await inv.disconnect();

  // Scripts and functions through the client's helpers.
  assert.strictEqual(await c.eval('return ARGV[1]', { arguments: ['hi'] }), 'hi');
  const sha = await c.scriptLoad('return redis.call("GET", KEYS[1])');
  assert.strictEqual(await c.evalSha(sha, { keys: [p + 'q'] }), '2');
  assert.deepStrictEqual(await c.scriptExists(sha), [true]);
  await c.sendCommand(['DEL', ...keys, p + 'h', p + 'set', p + 'z', k, p + 'q', p + 'tracked']);
  await c.quit();
  console.log('node-redis ok');
}

// ------------------------------------------------------------ ioredis itself

async function ioredis() {
  const c = new Redis({ port, host, connectionName: 'io-main' });
  const p = 'io' + uniq() + ':';
  // Pipelines: replies and errors in order.
  const res = await c.pipeline().set(p + 'a', 1).incr(p + 'a').hset(p + 'a', 'f', 'v')
    .get(p + 'a').exec();
  assert.deepStrictEqual(res.map((r) => r[1]), ['OK', 2, undefined, '2']);
  assert.match(res[2][0].message, /^WRONGTYPE Operation against a key holding the wrong kind of value$/);
  const tx = await c.multi().incr(p + 'a').lpush(p + 'a', 'x').exec();
  assert.strictEqual(tx[0][1], 3);
  assert.match(tx[1][0].message, /^WRONGTYPE/);
  await assert.rejects(c.multi().incr(p + 'a').call('nosuch').exec(),
    /EXECABORT Transaction discarded because of previous errors/);

  // Auto-pipelining batches concurrent calls into one write.
  const auto = new Redis({ port, host, enableAutoPipelining: true });
  const vals = await Promise.all([...Array(200)].map((_, i) => auto.set(p + 'ap' + i, i)
    .then(() => auto.get(p + 'ap' + i))));
  assert.deepStrictEqual(vals, [...Array(200)].map((_, i) => String(i)));

  // defineCommand: EVALSHA, falling back to EVAL after SCRIPT FLUSH.
  c.defineCommand('incrmax', {
    numberOfKeys: 1,
    lua: 'local v = redis.call("INCR", KEYS[1]) if v > tonumber(ARGV[1]) then ' +
      'redis.call("SET", KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end return v',
  });
  assert.strictEqual(await c.incrmax(p + 'm', 2), 1);
  assert.strictEqual(await c.incrmax(p + 'm', 2), 2);
  await c.script('FLUSH');
  assert.strictEqual(await c.incrmax(p + 'm', 2), 2);
  const pr = await c.pipeline().incrmax(p + 'm2', 5).incrmax(p + 'm2', 5).exec();
  assert.deepStrictEqual(pr.map((r) => r[1]), [1, 2]);
  await c.hset(p + 'hx', 'f', 1);
  await assert.rejects(c.eval('return redis.call("INCR", KEYS[1])', 1, p + 'hx'), /WRONGTYPE/);
  await assert.rejects(c.evalsha('0'.repeat(40), 0), /^ReplyError: NOSCRIPT No matching script/);

  // scanStream / hscanStream / zscanStream.
  const streamed = async (s) => {
    const out = [];
    for await (const batch of s) out.push(...batch);
    return out;
  };
  const keys = await streamed(c.scanStream({ match: p + 'ap*', count: 17 }));
  assert.strictEqual(new Set(keys).size, 200);
  const typed = await streamed(c.scanStream({ match: p + '*', type: 'hash' }));
  assert.deepStrictEqual(typed, [p + 'hx']);
  await c.hset(p + 'h', Object.fromEntries([...Array(50)].map((_, i) => ['f' + i, i])));
  const hs = await streamed(c.hscanStream(p + 'h', { count: 5 }));
  assert.strictEqual(hs.length, 100);
  await c.zadd(p + 'z', ...[...Array(50)].flatMap((_, i) => [i, 'm' + i]));
  assert.strictEqual((await streamed(c.zscanStream(p + 'z', { match: 'm4*' }))).length, 22);

  // keyPrefix applies to keys, also inside pipelines, scripts and transactions.
  const pre = new Redis({ port, host, keyPrefix: p + 'pre:' });
  await pre.pipeline().set('k', 'v').mset('k2', 'v2', 'k3', 'v3').exec();
  await pre.multi().rpush('l', 'a', 'b').exec();
  assert.strictEqual(await c.get(p + 'pre:k'), 'v');
  assert.strictEqual(await c.get(p + 'pre:k3'), 'v3');
  assert.strictEqual(await c.llen(p + 'pre:l'), 2);
  assert.strictEqual(await pre.eval('return redis.call("GET", KEYS[1])', 1, 'k2'), 'v2');

  // Reconnection after the server closes the connection (CLIENT KILL): the
  // client selects its db again, renames itself and resubscribes.
  const r = new Redis({ port, host, db: 3, connectionName: 'io-victim',
    retryStrategy: () => 20 });
  await r.set(p + 'db3', 'x');
  const sub = new Redis({ port, host, retryStrategy: () => 20 });
  const heard = [];
  const rid = await r.client('ID');
  const subId = await sub.client('ID');
  await sub.subscribe(p + 'ch');
  await sub.psubscribe(p + 'pat.*');
  sub.on('message', (ch, m) => heard.push(m));
  sub.on('pmessage', (pat, ch, m) => heard.push(m));
  const reconnected = new Promise((res) => r.once('ready', res));
  const resubscribed = new Promise((res) => sub.once('ready', res));
  assert.strictEqual(await c.client('KILL', 'ID', rid), 1);
  assert.strictEqual(await c.client('KILL', 'ID', subId), 1);
  await reconnected;
  await resubscribed;
  assert.strictEqual(await r.get(p + 'db3'), 'x');
  assert.strictEqual(await r.client('GETNAME'), 'io-victim');
  assert.notStrictEqual(await r.client('ID'), rid);
  await until('resubscribed', async () =>
    (await c.pubsub('NUMSUB', p + 'ch'))[1] === 1 && (await c.pubsub('NUMPAT')) >= 1);
  await c.publish(p + 'ch', 'one');
  await c.publish(p + 'pat.x', 'two');
  await until('messages after reconnect', async () => heard.length === 2);
  await r.del(p + 'db3');

  // Blocking commands and the offline queue: a command sent while the server
  // is unreachable waits and runs after reconnection.
  const blocked = c.duplicate();
  const bl = blocked.blpop(p + 'bl', 5);
  await sleep(50);
  await c.rpush(p + 'bl', 'v');
  assert.deepStrictEqual(await bl, [p + 'bl', 'v']);

  // MONITOR sees commands of other clients.
  const mon = await c.duplicate().monitor();
  const seen = [];
  mon.on('monitor', (time, args) => seen.push(args));
  await c.set(p + 'mon', 'v');
  await until('monitor', async () => seen.some((a) => a[0].toLowerCase() === 'set' && a[1] === p + 'mon'));
  mon.disconnect();

  const all = await streamed(c.scanStream({ match: p + '*', count: 100 }));
  if (all.length) await c.del(...all);
  for (const x of [auto, pre, r, sub, blocked]) x.disconnect();
  await c.quit();
  console.log('ioredis ok');
}

const flows = {
  'socketio-ioredis': socketioIoredis,
  'socketio-node-redis': socketioNodeRedis,
  'socketio-sharded': socketioSharded,
  'socketio-streams': socketioStreams,
  'sessions-ioredis': sessionsIoredis,
  'sessions-node-redis': sessionsNodeRedis,
  bull,
  'bee-queue': beeQueue,
  'node-redis': nodeRedis,
  ioredis,
};

(async () => {
  const which = process.argv[3] ? process.argv[3].split(',') : Object.keys(flows);
  for (const name of which) {
    const t = Date.now();
    await flows[name]();
    if (process.env.APPS_TIMING) console.log(`  ${name}: ${Date.now() - t} ms`);
  }
  console.log('ALL OK');
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
