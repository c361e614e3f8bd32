import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MidairError, verifyWebhook, type MigrationOptions, type WebhookBody } from '../../src/index.js';
import { rng } from '../support/rng.js';
import { webhookReceiver, type Received, type TestReceiver } from '../support/webhook-receiver.js';
import { rig, type Item, type Rig } from './setup.js';

const SECRET = 'test-secret-0123456789abcdef';
const receivers: TestReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(): Promise<TestReceiver> {
  const r = await webhookReceiver();
  receivers.push(r);
  return r;
}

/** A rig whose migration posts to `rx`; its `error` events are collected (a failed delivery is one). */
async function hooked(
  rx: TestReceiver,
  extra: Partial<MigrationOptions<number, Item>> = {},
): Promise<Rig & { errors: { operation: string; error: unknown }[] }> {
  const r = await rig({
    webhooks: [{ url: rx.url, secret: SECRET }],
    webhookDelivery: { backoffMs: 5, attempts: 3, random: rng(7) },
    ...extra,
  });
  const errors: { operation: string; error: unknown }[] = [];
  r.migration.on('error', (e) => errors.push(e));
  return { ...r, errors };
}

/** The signature check a receiver would write, from the documented scheme (not the library's helper). */
function signatureValid(req: Received, secret = SECRET): boolean {
  const timestamp = String(req.headers['x-midair-timestamp']);
  const hex = createHmac('sha256', secret).update(`${timestamp}.${req.body}`).digest('hex');
  return req.headers['x-midair-signature'] === `sha256=${hex}`;
}

describe('webhooks: delivery', () => {
  it('a phase change is posted once, by the process that made it, signed over its timestamp and body', async () => {
    const rx = await receiver();
    const r = await hooked(rx);
    const other = await r.instance({ instanceId: 'second' });
    const heard: string[] = [];
    other.on('phase-changed', ({ to }) => heard.push(to.phase));
    const state = await r.migration.advance({ reason: 'test: dual writes', actor: 'ops@test' });
    await r.migration.awaitFleet(); // the second instance follows the change too
    expect(heard).toContain('dual-write');
    await other.close();
    await r.migration.close(); // flushes the queue
    expect(rx.received).toHaveLength(1);
    const [req] = rx.received as [Received];
    expect(signatureValid(req)).toBe(true);
    expect(signatureValid(req, 'another-secret-0123456789')).toBe(false);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-midair-event']).toBe('phase-changed');
    expect(req.json).toEqual({
      id: req.headers['x-midair-delivery'],
      type: 'phase-changed',
      migration: 'items',
      instance: r.migration.instanceId,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      from: { phase: 'old-only', version: state.version - 1, rampPercent: 0, strict: false },
      to: { phase: 'dual-write', version: state.version, rampPercent: 0, strict: false },
      action: 'advance',
      actor: 'ops@test',
      reason: 'test: dual writes',
      forced: false,
    });
    expect(r.errors).toEqual([]);
  });

  it('verifyWebhook accepts the request as sent and refuses another secret, a changed body and an old timestamp', async () => {
    const rx = await receiver();
    const r = await hooked(rx);
    await r.migration.advance({ reason: 'test: dual writes' });
    await r.migration.close();
    const [req] = rx.received as [Received];
    const check = { secret: SECRET, body: req.body, signature: req.headers['x-midair-signature'] };
    const timestamp = req.headers['x-midair-timestamp'];
    expect(verifyWebhook({ ...check, timestamp })).toBe(true);
    expect(verifyWebhook({ ...check, timestamp, secret: 'another-secret-0123456789' })).toBe(false);
    expect(verifyWebhook({ ...check, timestamp, body: req.body.replace('dual-write', 'complete') })).toBe(false);
    const sentAt = Number(timestamp) * 1000;
    expect(verifyWebhook({ ...check, timestamp, now: sentAt + 301_000 })).toBe(false);
    expect(verifyWebhook({ ...check, timestamp, now: sentAt + 299_000 })).toBe(true);
  });

  it('a receiver that answers 500 twice and then 200 gets the event on the third try, the same delivery each time', async () => {
    const rx = await receiver();
    rx.script([500, 500]);
    const r = await hooked(rx);
    await r.migration.advance({ reason: 'test: dual writes' });
    await r.migration.close();
    expect(rx.received).toHaveLength(3);
    const ids = new Set(rx.received.map((q) => q.headers['x-midair-delivery']));
    expect(ids.size).toBe(1);
    expect(new Set(rx.received.map((q) => q.body)).size).toBe(1);
    expect(rx.received.every((q) => signatureValid(q))).toBe(true);
    expect(r.errors).toEqual([]);
  });

  it('advance resolves before a receiver that hangs has answered; the event is delivered once it does', async () => {
    const rx = await receiver();
    rx.hold();
    const r = await hooked(rx);
    const state = await r.migration.advance({ reason: 'test: dual writes' });
    expect(state.phase).toBe('dual-write');
    expect(rx.answered).toBe(0); // resolved with the hook not delivered: nothing waited for the receiver
    await r.migration.advance({ reason: 'test: shadow reads', force: true });
    expect(rx.answered).toBe(0);
    rx.release();
    await r.migration.close();
    expect(rx.received.map((q) => q.json.type)).toEqual(['phase-changed', 'phase-changed']);
    expect(rx.received.map((q) => (q.json as WebhookBody<'phase-changed'>).to.phase)).toEqual([
      'dual-write',
      'shadow-read',
    ]);
    expect(r.errors).toEqual([]);
  });

  it('a receiver that always fails does not fail advance: the last try is reported as an error event, never thrown', async () => {
    const rx = await receiver();
    rx.script([], 500);
    rx.hold();
    const r = await hooked(rx);
    const state = await r.migration.advance({ reason: 'test: dual writes' });
    expect(state.phase).toBe('dual-write');
    expect(rx.answered).toBe(0);
    rx.release();
    await r.migration.close();
    expect(rx.received).toHaveLength(3);
    expect(r.errors).toHaveLength(1);
    const [{ operation, error }] = r.errors as [{ operation: string; error: MidairError }];
    expect(operation).toMatch(/^webhook phase-changed to hook 1 \(http:\/\/127\.0\.0\.1:\d+\)$/);
    expect(error).toBeInstanceOf(MidairError);
    expect(error.message).toMatch(/the receiver answered 500, on try 3 of 3; not sent again$/);
    // Only the origin is named: the path and the query (a token) are not.
    expect(error.message).not.toContain('t0ken');
    expect(error.message).not.toContain('/hooks/midair');
  });

  it('a receiver that is gone (connection refused) is tried again, then reported with the socket error code', async () => {
    const rx = await receiver();
    await rx.close(); // nothing listens on its port any more
    const r = await hooked(rx);
    await r.migration.advance({ reason: 'test: dual writes' });
    await r.migration.close();
    expect(r.errors.map((e) => (e.error as MidairError).code)).toEqual(['CONNECTION']);
    expect((r.errors[0]?.error as MidairError).message).toMatch(
      /the request failed \(ECONNREFUSED\), on try 3 of 3; not sent again$/,
    );
  });

  it('a 4xx is not retried (the receiver refused it)', async () => {
    const rx = await receiver();
    rx.script([401]);
    const r = await hooked(rx);
    await r.migration.advance({ reason: 'test: dual writes' });
    await r.migration.close();
    expect(rx.received).toHaveLength(1);
    expect((r.errors[0]?.error as MidairError).message).toMatch(/answered 401, on try 1 of 3/);
  });

  it('close() gives up on a receiver that never answers at its deadline, and says what it dropped', async () => {
    const rx = await receiver();
    rx.hold();
    const r = await hooked(rx, {
      webhookDelivery: { backoffMs: 5, attempts: 3, random: rng(7), closeTimeoutMs: 20, timeoutMs: 60_000 },
    });
    await r.migration.advance({ reason: 'test: dual writes' });
    await r.migration.advance({ reason: 'test: shadow reads', force: true });
    await r.migration.close();
    expect(rx.answered).toBe(0);
    expect(r.errors.map((e) => (e.error as MidairError).code)).toEqual(['TIMEOUT', 'TIMEOUT']);
    expect((r.errors[0]?.error as MidairError).message).toMatch(/close\(\) stopped waiting after 20 ms/);
  });

  it('the queue of a receiver is bounded: past maxQueue an event is dropped and said, the others delivered', async () => {
    const rx = await receiver();
    rx.hold();
    const r = await hooked(rx, { webhookDelivery: { maxQueue: 1, backoffMs: 5, random: rng(7) } });
    await r.migration.advance({ reason: 'test: dual writes' });
    await rx.requests(1); // the first is in flight, still queued
    await r.migration.advance({ reason: 'test: shadow reads', force: true });
    expect(r.errors.map((e) => (e.error as MidairError).code)).toEqual(['ABORTED']);
    rx.release();
    await r.migration.close();
    expect(rx.received).toHaveLength(1);
  });

  it('a receiver gets only the events it asked for', async () => {
    const all = await receiver();
    const halts = await receiver();
    const r = await rig({
      webhooks: [
        { url: all.url, secret: SECRET },
        { url: halts.url, secret: SECRET, events: ['halted'] },
      ],
    });
    await r.migration.advance({ reason: 'test: dual writes' });
    await r.migration.close();
    expect(all.received).toHaveLength(1);
    expect(halts.received).toHaveLength(0);
  });

  it('a bad receiver is refused when the migration is defined, naming the field and never the URL', async () => {
    const define = async (hook: { url: string; secret: string; events?: string[] }): Promise<unknown> =>
      rig({ webhooks: [hook as never] }).catch((e: unknown) => e);
    const bad = (await define({ url: 'ftp://x.example/t0ken', secret: SECRET })) as MidairError;
    expect(bad).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(bad.message).toBe(
      'defineMigration items: webhooks[0].url is not an http:// or https:// URL (its value is not shown: it may hold a token)',
    );
    const credentials = (await define({ url: 'https://ops:pw-t0ken@x.example/', secret: SECRET })) as MidairError;
    expect(credentials.message).toMatch(/webhooks\[0\]\.url holds a user or a password, which fetch refuses to send/);
    expect(credentials.message).not.toContain('t0ken');
    const short = (await define({ url: 'https://x.example/', secret: 'short' })) as MidairError;
    expect(short.message).toMatch(/webhooks\[0\]\.secret must be a string of at least 16 characters/);
    const event = (await define({ url: 'https://x.example/', secret: SECRET, events: ['halt'] })) as MidairError;
    expect(event.message).toMatch(/webhooks\[0\]\.events: "halt" is not an event; they are phase-changed, halted/);
  });
});
