// helpers.js: small tools the tests share.

/** n deterministic pseudo-random bytes (xorshift32). */
export function pattern(n, seed = 1) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
    out[i + 1] = x >>> 8;
    out[i + 2] = x >>> 16;
    out[i + 3] = x >>> 24;
  }
  for (; i < n; i++) out[i] = i;
  return out;
}

/** Reads a connection to its end; returns all bytes. */
export async function readAll(conn) {
  const parts = [];
  let n = 0;
  for (let c; (c = await conn.read()) !== null; ) {
    parts.push(c);
    n += c.length;
  }
  return concat(parts, n);
}

export function concat(parts, n = parts.reduce((s, p) => s + p.length, 0)) {
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Writes `data` in chunks, then ends. */
export async function writeAll(conn, data, chunk = 65536) {
  for (let off = 0; off < data.length; off += chunk) await conn.write(data.subarray(off, off + chunk));
  await conn.end();
}

/** True when both arrays hold the same bytes (fast path through Buffer.compare). */
export function sameBytes(a, b) {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects with a WtcpError-like object; resolves with the error for expect(). */
export async function failure(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure, got success');
}

/** Echo server: every accepted connection echoes until EOF, then ends. */
export function echoServer(stack, port) {
  const listener = stack.listen({ port, backlog: 1024 });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        for await (const chunk of conn) await conn.write(chunk);
        await conn.end();
      })().catch(() => conn.close());
    }
  })();
  return listener;
}

/** Waits until fn() is true (polling every few ms, up to `ms`). */
export async function until(fn, ms = 5000) {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await sleep(5);
  }
}
