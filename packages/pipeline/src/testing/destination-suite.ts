/**
 * The Destination conformance suite (node:test): every egress kind (folder, C-STORE, STOW-RS, S3) runs it against a
 * real peer. It checks that each instance ends at the peer once with the bytes sent and with a receipt of what the
 * peer acknowledged; that re-delivery (again, and twice at once) leaves one copy; that one failing instance among
 * others sent together fails alone, with a DeliveryError, whether it fails locally (its file is gone) or at the peer
 * (the harness makes the peer refuse it); and that a peer that never answers fails a send with a retryable
 * DeliveryError once the destination's timeout has passed.
 *
 * Example (apps/veil/test/destinations.test.ts):
 *   runDestinationSuite({ name: 'folder', items, create: async () => ({ destination, held: () => heldIn(dir) }) });
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DeliveryError, type DeliveryReceipt, type Destination, type OutgoingInstance } from '../destination.ts';

export interface SuiteItem {
  readonly item: OutgoingInstance;
  /** How the harness's held() digests this instance's content at the peer (e.g. sha256 of the file or data set). */
  readonly digest: string;
}

export interface DestinationHarness {
  readonly destination: Destination;
  /** What the peer holds now: SOP Instance UID -> digests of each copy (one entry per stored object). */
  held(): Promise<ReadonlyMap<string, readonly string[]>>;
  cleanup?(): Promise<void>;
}

export interface DestinationSuiteOptions {
  readonly name: string;
  /** At least four distinct real instances (de-identified outputs), with their expected digests. */
  items(): Promise<readonly SuiteItem[]>;
  /** A destination and its peer, empty. */
  create(): Promise<DestinationHarness>;
  /**
   * A destination and a peer that refuses the instance with this SOP Instance UID (and takes the others); `permanent`
   * says whether the refusal is one that retrying cannot help.
   */
  createRefusing?(sopInstanceUid: string): Promise<DestinationHarness & { readonly permanent: boolean }>;
  /** A destination pointed at a TCP peer on 127.0.0.1:port that accepts and never answers, with this timeout. */
  createSilent?(port: number, timeoutMs: number): Promise<Destination>;
  readonly skip?: string | undefined;
}

function checkReceipt(r: DeliveryReceipt | undefined | void): void {
  assert.ok(r, 'a receipt of what the peer acknowledged');
  assert.equal(typeof r.peer, 'string');
  assert.ok(r.peer.length > 0);
  assert.ok(Object.keys(r.acknowledged).length > 0, 'the receipt says what the peer acknowledged');
  assert.doesNotMatch(r.peer, /:[^/@]*@/, 'no credentials in the peer name');
}

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

export function runDestinationSuite(o: DestinationSuiteOptions): void {
  describe(`Destination conformance: ${o.name}`, { skip: o.skip ?? false }, () => {
    let items: readonly SuiteItem[] = [];
    const harnesses: DestinationHarness[] = [];
    const fresh = async (): Promise<DestinationHarness> => {
      const h = await o.create();
      harnesses.push(h);
      return h;
    };
    before(async () => {
      items = await o.items();
      assert.ok(items.length >= 4, 'the suite needs at least four instances');
      assert.equal(new Set(items.map((i) => i.item.sopInstanceUid)).size, items.length, 'distinct instances');
    });
    after(async () => {
      for (const h of harnesses) {
        await h.destination.close?.().catch(() => {});
        await h.cleanup?.().catch(() => {});
      }
    });

    const expectHeld = (held: ReadonlyMap<string, readonly string[]>, list: readonly SuiteItem[]): void => {
      for (const { item, digest } of list) {
        assert.deepEqual(held.get(item.sopInstanceUid), [digest], `one exact copy of ${item.jobId}`);
      }
    };

    it('delivers every instance sent together, each acknowledged, each held once with the bytes sent', async () => {
      const h = await fresh();
      const receipts = await Promise.all(items.map((i) => h.destination.send(i.item)));
      for (const r of receipts) checkReceipt(r);
      const held = await h.held();
      expectHeld(held, items);
      assert.equal(held.size, items.length, 'nothing else at the peer');
    });

    it('re-delivery is idempotent: sent again, and twice at once, one copy stays', async () => {
      const h = await fresh();
      const [a, b] = items as [SuiteItem, SuiteItem];
      checkReceipt(await h.destination.send(a.item));
      checkReceipt(await h.destination.send(a.item));
      const twice = await Promise.all([h.destination.send(b.item), h.destination.send(b.item)]);
      for (const r of twice) checkReceipt(r);
      const held = await h.held();
      expectHeld(held, [a, b]);
      assert.equal(held.size, 2);
    });

    it('partial failure: an instance whose file is gone fails alone; the others sent with it are delivered', async () => {
      const h = await fresh();
      const gone: OutgoingInstance = {
        ...items[0]!.item,
        jobId: `${items[0]!.item.jobId}-gone`,
        sopInstanceUid: `${items[0]!.item.sopInstanceUid}.999`,
        path: `${items[0]!.item.path}.missing`,
      };
      const others = items.slice(1);
      const results = await Promise.all([
        settle(h.destination.send(gone)),
        ...others.map((i) => settle(h.destination.send(i.item))),
      ]);
      const [first, ...rest] = results;
      assert.equal(first!.ok, false);
      assert.ok(!first!.ok && first!.error instanceof DeliveryError, 'a DeliveryError');
      for (const r of rest) assert.ok(r.ok, r.ok ? '' : String((r as { error: unknown }).error));
      const held = await h.held();
      expectHeld(held, others);
      assert.equal(held.has(gone.sopInstanceUid), false);
    });

    it('partial failure at the peer: the refused instance fails alone, as the peer meant it', {
      skip: o.createRefusing ? false : 'this peer cannot be made to refuse one instance',
    }, async () => {
      const refused = items[1]!;
      const h = await o.createRefusing!(refused.item.sopInstanceUid);
      harnesses.push(h);
      const results = await Promise.all(items.map((i) => settle(h.destination.send(i.item))));
      items.forEach((i, n) => {
        const r = results[n]!;
        if (i === refused) {
          assert.equal(r.ok, false, 'the refused instance fails');
          const e = (r as { error: unknown }).error;
          assert.ok(e instanceof DeliveryError, 'a DeliveryError');
          assert.equal(e.permanent, h.permanent, `permanent: ${h.permanent}`);
          assert.match(e.code, /^[A-Z0-9_]+$/);
        } else {
          assert.ok(r.ok, `instance ${n} delivered`);
          checkReceipt((r as { value: DeliveryReceipt | undefined }).value);
        }
      });
      const held = await h.held();
      expectHeld(
        held,
        items.filter((i) => i !== refused),
      );
      assert.equal(held.has(refused.item.sopInstanceUid), false);
    });

    it('timeouts: a peer that accepts and never answers fails the send, retryably, after the timeout', {
      skip: o.createSilent ? false : 'no network peer',
    }, async () => {
      const sockets = new Set<Socket>();
      const silent = createServer((s) => {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const port = (silent.address() as { port: number }).port;
      const dest = await o.createSilent!(port, 400);
      try {
        const started = Date.now();
        const r = await settle(dest.send(items[0]!.item));
        const ms = Date.now() - started;
        assert.equal(r.ok, false);
        const e = (r as { error: unknown }).error;
        assert.ok(e instanceof DeliveryError, 'a DeliveryError');
        assert.equal(e.permanent, false, 'a timeout is worth retrying');
        assert.ok(ms >= 300, `waited for the timeout (${ms} ms)`);
        assert.ok(ms < 15_000, `gave up in time (${ms} ms)`);
      } finally {
        await dest.close?.().catch(() => {});
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => silent.close(() => r()));
      }
    });
  });
}
