// httpd.js: a small HTTP/1.1 server over wtcp connections, running in the tab.
// GET and HEAD only, Content-Length bodies (read and ignored), keep-alive,
// 400 on garbage, 405 on other methods, 404 on unknown paths.

const MAX_HEAD = 16 * 1024;
const MAX_BODY = 1 << 20;
const IDLE_MS = 30000;
const enc = new TextEncoder();
const dec = new TextDecoder('latin1');
const REASONS = { 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Content Too Large', 431: 'Request Header Fields Too Large', 505: 'HTTP Version Not Supported' };

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Buffered reading of a connection: find the end of a head, skip a body. */
class Reader {
  #conn;
  #buf = new Uint8Array(0);
  eof = false;
  constructor(conn) {
    this.#conn = conn;
  }
  async #more() {
    const chunk = await this.#conn.read(64 * 1024);
    if (chunk === null) {
      this.eof = true;
      return false;
    }
    const b = new Uint8Array(this.#buf.length + chunk.length);
    b.set(this.#buf);
    b.set(chunk, this.#buf.length);
    this.#buf = b;
    return true;
  }
  /** The next request head as text (without the blank line), or null at a clean EOF. */
  async head() {
    for (let from = 0; ; ) {
      // skip leading CRLFs between requests (RFC 9112 2.2)
      while (this.#buf.length && (this.#buf[0] === 13 || this.#buf[0] === 10)) this.#buf = this.#buf.subarray(1);
      const end = findEnd(this.#buf, from);
      if (end >= 0) {
        const text = dec.decode(this.#buf.subarray(0, end));
        this.#buf = this.#buf.subarray(end + (this.#buf[end] === 13 ? 4 : 2));
        return text;
      }
      if (this.#buf.length > MAX_HEAD) throw new HttpError(431, 'request head too large');
      from = Math.max(0, this.#buf.length - 3);
      if (!(await this.#more())) {
        if (this.#buf.length === 0) return null;
        throw new HttpError(400, 'truncated request');
      }
    }
  }
  async skip(n) {
    while (this.#buf.length < n) if (!(await this.#more())) throw new HttpError(400, 'truncated body');
    this.#buf = this.#buf.subarray(n);
  }
}

/** Index of the blank line ending a head (CRLFCRLF or LFLF), or -1. */
function findEnd(b, from) {
  for (let i = from; i < b.length - 1; i++) {
    if (b[i] === 10 && b[i + 1] === 10) return i;
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parses a request head into { method, target, version, headers (lower-case names) }. */
export function parseHead(text) {
  const lines = text.split(/\r?\n/);
  const m = /^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/.exec(lines[0]);
  if (!m || !TOKEN.test(m[1])) throw new HttpError(400, 'malformed request line');
  if (m[3] !== '1') throw new HttpError(505, 'only HTTP/1.x');
  const headers = new Map();
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    if (c <= 0) throw new HttpError(400, 'malformed header line');
    const name = line.slice(0, c);
    if (!TOKEN.test(name)) throw new HttpError(400, 'malformed header name');
    const key = name.toLowerCase();
    const value = line.slice(c + 1).trim();
    headers.set(key, headers.has(key) ? `${headers.get(key)}, ${value}` : value);
  }
  return { method: m[1], target: m[2], minor: +m[4], headers };
}

function response(status, type, body, { keepAlive, head, extra = {} }) {
  const bytes = typeof body === 'string' ? enc.encode(body) : body;
  const fields = {
    Server: 'wtcp-tab',
    Date: new Date().toUTCString(),
    'Content-Type': type,
    'Content-Length': bytes.length,
    'Cache-Control': 'no-store',
    Connection: keepAlive ? 'keep-alive' : 'close',
    ...extra,
  };
  let text = `HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\n`;
  for (const [k, v] of Object.entries(fields)) text += `${k}: ${v}\r\n`;
  const headBytes = enc.encode(text + '\r\n');
  if (head) return headBytes;
  const all = new Uint8Array(headBytes.length + bytes.length);
  all.set(headBytes);
  all.set(bytes, headBytes.length);
  return all;
}

/**
 * Serves HTTP on one connection until either side is done (does not close it). `route(path)` returns
 * { status, type, body } or null (404). `onRequest` is told of each request.
 */
export async function serveHttp(conn, route, onRequest = () => {}) {
  const reader = new Reader(conn);
  // a connection idle for IDLE_MS (no request, or no FIN after ours) is aborted
  let timer = 0;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        conn.abort();
      } catch {
        /* already closed */
      }
    }, IDLE_MS);
  };
  try {
    for (;;) {
      let req;
      try {
        arm();
        const text = await reader.head();
        if (text === null) break;
        req = parseHead(text);
        if (req.headers.has('transfer-encoding')) throw new HttpError(400, 'chunked request bodies are not supported');
        const cl = req.headers.get('content-length');
        if (cl !== undefined) {
          if (!/^\d{1,9}$/.test(cl)) throw new HttpError(400, 'bad Content-Length');
          if (+cl > MAX_BODY) throw new HttpError(413, 'body too large');
          await reader.skip(+cl);
        }
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        await conn.write(response(err.status, 'text/plain; charset=utf-8', `${err.status} ${err.message}\n`, { keepAlive: false }));
        break;
      }
      const conn_ = (req.headers.get('connection') ?? '').toLowerCase();
      const keepAlive = req.minor >= 1 ? !conn_.includes('close') : conn_.includes('keep-alive');
      const head = req.method === 'HEAD';
      onRequest(req);
      let out;
      if (req.method !== 'GET' && !head) {
        out = response(405, 'text/plain; charset=utf-8', '405 only GET and HEAD\n', { keepAlive, extra: { Allow: 'GET, HEAD' } });
      } else {
        let path = req.target;
        try {
          path = new URL(req.target, 'http://tab').pathname;
        } catch {
          /* keep the raw target: it will 404 */
        }
        const r = route(path);
        out = r
          ? response(r.status ?? 200, r.type, r.body, { keepAlive, head })
          : response(404, 'text/plain; charset=utf-8', `404 no such page: ${path}\n`, { keepAlive, head });
      }
      await conn.write(out);
      if (!keepAlive) break;
    }
    await conn.end();
    arm();
    // wait for the peer's FIN so that nothing unread turns close() into a reset
    while (!reader.eof && (await conn.read()) !== null);
  } catch {
    /* reset or closed under us: nothing to tell the peer */
  } finally {
    clearTimeout(timer);
  }
  // the caller closes the connection (after a last look at its figures)
}
