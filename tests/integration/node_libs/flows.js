// Real flows of the most used Node.js libraries that run Lua on Redis:
// BullMQ (job queue), Redlock (distributed lock) and rate-limiter-flexible.
// Usage: NODE_PATH=<node_modules> node flows.js <port>, as
// tests/integration/test_node_libraries.py runs it.  Prints "ALL OK" or
// exits non-zero.
'use strict';
const assert = require('assert');
const Redis = require('ioredis');
const { Queue, Worker, QueueEvents, FlowProducer } = require('bullmq');
const Redlock = require('redlock');
const { RateLimiterRedis } = require('rate-limiter-flexible');

const port = Number(process.argv[2]);
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, check, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error('timed out waiting for ' + what);
}

async function bullmq() {
  const name = 'q' + Date.now();
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const seen = [];
  let failedOnce = false;
  const worker = new Worker(name, async (job) => {
    if (job.name === 'flaky' && !failedOnce) {
      failedOnce = true;
      throw new Error('first try fails');
    }
    await job.updateProgress(50);
    seen.push(job.name);
    return { doubled: job.data.n * 2 };
  }, { connection, concurrency: 2 });

  const a = await queue.add('plain', { n: 1 });
  await queue.add('prio', { n: 2 }, { priority: 1 });
  await queue.add('later', { n: 3 }, { delay: 300 });
  await queue.add('flaky', { n: 4 }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
  await queue.addBulk([{ name: 'bulk1', data: { n: 5 } }, { name: 'bulk2', data: { n: 6 } }]);
  const result = await a.waitUntilFinished(events, 20000);
  assert.deepStrictEqual(result, { doubled: 2 });
  await until('six jobs completed', async () =>
    (await queue.getJobCounts('completed')).completed === 6);
  assert.ok(failedOnce, 'the flaky job failed once');
  assert.deepStrictEqual(seen.slice().sort(),
    ['bulk1', 'bulk2', 'flaky', 'later', 'plain', 'prio']);
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  assert.deepStrictEqual(counts, { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 6 });

  // A job that always fails ends in the failed set with its reason.
  await worker.close();
  const bad = await queue.add('bad', { n: 0 }, { attempts: 1 });
  const failing = new Worker(name, async () => { throw new Error('boom'); }, { connection });
  await until('the bad job failed', async () => (await queue.getJobCounts('failed')).failed === 1);
  await failing.close();
  const failedJob = await queue.getJob(bad.id);
  assert.strictEqual(failedJob.failedReason, 'boom');

  // Parent and children: the parent runs once its children are done.
  const flow = new FlowProducer({ connection });
  const order = [];
  const fw = new Worker(name + 'flow', async (job) => {
    order.push(job.name);
    if (job.name === 'parent') {
      const kids = await job.getChildrenValues();
      return Object.values(kids).reduce((s, v) => s + v, 0);
    }
    return job.data.v;
  }, { connection });
  const tree = await flow.add({
    name: 'parent', queueName: name + 'flow',
    children: [{ name: 'c1', queueName: name + 'flow', data: { v: 3 } },
               { name: 'c2', queueName: name + 'flow', data: { v: 4 } }],
  });
  await until('the parent completed', async () =>
    (await tree.job.getState()) === 'completed');
  const flowQueue = new Queue(name + 'flow', { connection });
  const parent = await flowQueue.getJob(tree.job.id);
  assert.strictEqual(parent.returnvalue, 7);
  await flowQueue.obliterate({ force: true });
  await flowQueue.close();
  assert.strictEqual(order[order.length - 1], 'parent');
  await fw.close();
  await flow.close();

  // Pause, clean and obliterate.
  await queue.pause();
  assert.ok(await queue.isPaused());
  await queue.resume();
  const cleaned = await queue.clean(0, 100, 'completed');
  assert.strictEqual(cleaned.length, 6);
  assert.strictEqual((await queue.getJobCounts('completed')).completed, 0);
  await queue.obliterate({ force: true });
  await events.close();
  await queue.close();
  console.log('bullmq ok');
}

async function redlock() {
  const clients = [new Redis(connection)];
  const lock = new Redlock(clients, { retryCount: 0, driftFactor: 0.01 });
  const first = await lock.acquire(['locks:res'], 2000);
  await assert.rejects(lock.acquire(['locks:res'], 2000));
  const extended = await first.extend(5000);
  const c = clients[0];
  const ttl = await c.pttl('locks:res');
  assert.ok(ttl > 2000 && ttl <= 5000, 'extended ttl ' + ttl);
  await extended.unlock();
  assert.strictEqual(await c.exists('locks:res'), 0);
  const again = await lock.acquire(['locks:res'], 1000);
  // Someone else's value: releasing must not delete it.
  await c.set('locks:res', 'not-ours', 'PX', 1000);
  await again.unlock().catch(() => {});
  assert.strictEqual(await c.get('locks:res'), 'not-ours');
  await c.del('locks:res');
  await lock.quit();
  console.log('redlock ok');
}

async function ratelimiter() {
  const client = new Redis({ ...connection, enableOfflineQueue: false });
  await until('connected', async () => client.status === 'ready');
  const limiter = new RateLimiterRedis({
    storeClient: client, keyPrefix: 'rl' + Date.now(), points: 5, duration: 2,
  });
  for (let i = 0; i < 5; i++) {
    const res = await limiter.consume('user1');
    assert.strictEqual(res.remainingPoints, 4 - i);
  }
  const refused = await limiter.consume('user1').then(() => null, (r) => r);
  assert.ok(refused && refused.remainingPoints === 0 && refused.msBeforeNext > 0,
    'the sixth is refused');
  const other = await limiter.consume('user2', 2);
  assert.strictEqual(other.remainingPoints, 3);
  await limiter.penalty('user2', 2);
  assert.strictEqual((await limiter.get('user2')).consumedPoints, 4);
  await limiter.reward('user2', 3);
  assert.strictEqual((await limiter.get('user2')).consumedPoints, 1);
  await limiter.block('user3', 10);
  const blocked = await limiter.consume('user3').then(() => null, (r) => r);
  assert.ok(blocked && blocked.msBeforeNext > 8000, 'blocked for 10 s');
  assert.ok(await limiter.delete('user1'));
  assert.strictEqual((await limiter.consume('user1')).remainingPoints, 4);
  await client.quit();
  console.log('rate-limiter-flexible ok');
}

(async () => {
  await bullmq();
  await redlock();
  await ratelimiter();
  console.log('ALL OK');
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
