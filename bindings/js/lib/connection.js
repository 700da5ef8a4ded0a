// connection.js: one TCP connection: read() and write() promises with real backpressure,
// WHATWG streams, async iteration, half-close (end), close, abort (RST) and TCP_INFO.
//
// Backpressure both ways comes from the core's buffers: bytes are taken from the core
// only when the application asks for them (read(), or a pull of `readable`), so the
// receive window opens only as the application reads; write() resolves once the core's
// send buffer has taken every byte, and waits for WRITABLE when it is full.

import { WtcpError, errorFromErrno } from './errors.js';
import { formatAddress, toBytes, describe } from './args.js';
import { EV, SO, SHUT_RD, SHUT_WR, STATES, INFO_FIELDS, CONGESTION } from './wasm.js';
import { asyncDispose, dispose } from './dispose.js';

const EAGAIN = -3;
const READ_MAX = 1 << 20;


// Phases of the JavaScript object. 'done': the core's handle was released because the
// connection failed or both directions finished; figures stay readable. 'closed': the
// application closed or aborted it (or the stack was closed): every call is EBADF.
const CONNECTING = 0;
const OPEN = 1;
const DONE = 2;
const CLOSED = 3;

// Stands for "EBADF, connection is closed" until someone asks for the error: making an
// Error (with its stack trace) at each close would cost more than the close itself.
const CLOSED_LAZILY = Symbol('closed');

export class Connection {
  #stack;
  #core;
  #h;
  #phase;
  #connect = null; // { resolve, reject, timer } while connecting
  #reads = []; // { max, resolve, reject }
  #writes = []; // { bytes, off, resolve, reject }
  #ending = null; // { promise, resolve, reject } once end() was called
  #finQueued = false;
  #eof = false;
  #error = null; // the connection's failure
  #closedError = null; // EBADF once closed (or CLOSED_LAZILY, see #closedErr)
  #lastInfo = null;
  #readable = null;
  #writable = null;

  /** Our address and port. */
  localAddress = '';
  localPort = 0;
  /** The peer's address and port. */
  remoteAddress = '';
  remotePort = 0;

  /** @internal Made by stack.connect() (`target` given) or a listener's accept. */
  constructor(stack, h, target) {
    this.#stack = stack;
    this.#core = stack._core;
    this.#h = h;
    if (target) {
      this.#phase = CONNECTING;
      this.remoteAddress = target.host;
      this.remotePort = target.port;
    } else {
      this.#phase = OPEN;
      this.#learnAddresses();
    }
  }

  #learnAddresses() {
    const local = this.#core.sockname(this.#h);
    if (Array.isArray(local)) [this.localAddress, this.localPort] = [formatAddress(local[0]), local[1]];
    const peer = this.#core.peername(this.#h);
    if (Array.isArray(peer)) [this.remoteAddress, this.remotePort] = [formatAddress(peer[0]), peer[1]];
  }

  #closedErr() {
    if (this.#closedError === CLOSED_LAZILY) this.#closedError = new WtcpError('EBADF', 'connection is closed');
    return this.#closedError;
  }

  #name() {
    return `${this.localAddress || '?'}:${this.localPort} -> ${this.remoteAddress}:${this.remotePort}`;
  }

  /** @internal Resolves with this connection once established. */
  _opened(timeout) {
    return new Promise((resolve, reject) => {
      this.#connect = { resolve, reject, timer: null };
      this.#stack._busy(1);
      if (timeout !== undefined) {
        this.#connect.timer = setTimeout(() => {
          const err = new WtcpError(
            'ETIMEDOUT',
            `connect to ${this.remoteAddress}:${this.remotePort}: no answer within ${timeout} ms`,
          );
          this.#release(true);
          this.#settleAll(err, err);
          this.#phase = CLOSED;
          this.#closedError = CLOSED_LAZILY;
        }, timeout);
      }
    });
  }

  // ---- reading ----

  /** The next bytes received (at most `max`), or null at end of stream. */
  read(max = READ_MAX) {
    if (!Number.isInteger(max) || max < 1) {
      return Promise.reject(new WtcpError('EINVAL', `read(max): max must be a positive integer, got ${describe(max)}`));
    }
    if (this.#closedError) return Promise.reject(this.#closedErr());
    if (this.#error) return Promise.reject(this.#error);
    if (this.#eof || this.#phase === DONE) return Promise.resolve(null);
    // Bytes already there need no waiter (nor a pending count).
    if (this.#reads.length === 0 && this.#phase === OPEN) {
      const r = this.#core.recvAvailable(this.#h, max);
      if (typeof r !== 'number') {
        this.#stack._kick(); // reading may open the window
        return Promise.resolve(r);
      }
      if (r === 0) {
        this.#eof = true;
        this.#maybeDone();
        return Promise.resolve(null);
      }
      if (r !== EAGAIN) {
        this.#fail(errorFromErrno(r, `read on ${this.#name()}`));
        return Promise.reject(this.#error);
      }
    }
    return new Promise((resolve, reject) => {
      this.#reads.push({ max, resolve, reject });
      this.#stack._busy(1);
      this.#pullReads();
    });
  }

  #pullReads() {
    const core = this.#core;
    while (this.#reads.length && this.#phase === OPEN) {
      const w = this.#reads[0];
      const r = core.recvAvailable(this.#h, w.max);
      if (r === EAGAIN) return;
      this.#reads.shift();
      this.#stack._busy(-1);
      if (typeof r !== 'number') {
        w.resolve(r);
        this.#stack._kick(); // reading may open the window
      } else if (r === 0) {
        this.#eof = true;
        w.resolve(null);
        this.#endReads();
        this.#maybeDone();
        return;
      } else {
        this.#fail(errorFromErrno(r, `read on ${this.#name()}`));
        return;
      }
    }
  }

  #endReads() {
    for (const w of this.#reads.splice(0)) {
      this.#stack._busy(-1);
      w.resolve(null);
    }
  }

  // ---- writing ----

  /** Resolves once the stack has taken every byte (do not change them before then). */
  write(data) {
    let bytes;
    try {
      bytes = toBytes(data);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#closedError) return Promise.reject(this.#closedErr());
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ending) return Promise.reject(new WtcpError('EPIPE', 'write after end(): the sending side is shut down'));
    // What the send buffer takes whole at once needs no waiter (nor a pending count).
    if (this.#writes.length === 0 && this.#phase === OPEN && bytes.length <= this.#core.writable(this.#h)) {
      const r = this.#core.send(this.#h, bytes);
      if (r === bytes.length) {
        this.#stack._kick();
        return Promise.resolve();
      }
      if (r > 0) bytes = bytes.subarray(r); // (cannot happen: it had the room)
    }
    return new Promise((resolve, reject) => {
      this.#writes.push({ bytes, off: 0, resolve, reject });
      this.#stack._busy(1);
      this.#flushWrites();
    });
  }

  #flushWrites() {
    if (this.#phase !== OPEN) return;
    const core = this.#core;
    let queued = false;
    while (this.#writes.length) {
      const w = this.#writes[0];
      const remaining = w.bytes.length - w.off;
      const room = core.writable(this.#h);
      // One byte beyond the room makes the write short, so the core reports WRITABLE
      // when space returns.
      const n = Math.min(remaining, Math.max(0, room) + 1);
      const r = core.send(this.#h, w.bytes.subarray(w.off, w.off + n));
      if (r === EAGAIN) break;
      if (r < 0) {
        this.#fail(errorFromErrno(r, `write on ${this.#name()}`));
        return;
      }
      queued = true;
      w.off += r;
      if (w.off < w.bytes.length) break;
      this.#writes.shift();
      this.#stack._busy(-1);
      w.resolve();
    }
    if (!this.#writes.length && this.#ending && !this.#finQueued) {
      const r = core.shutdown(this.#h, SHUT_WR);
      if (r < 0) {
        this.#fail(errorFromErrno(r, `end on ${this.#name()}`));
        return;
      }
      this.#finQueued = true;
      queued = true;
      this.#stack._busy(-1);
      this.#ending.resolve();
    }
    if (queued) this.#stack._kick();
    this.#maybeDone();
  }

  /** Half-close: a FIN follows the data already written. Resolves once it is queued. */
  end() {
    if (this.#closedError) return Promise.reject(this.#closedErr());
    if (this.#error) return Promise.reject(this.#error);
    if (!this.#ending) {
      let resolve, reject;
      const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => {}); // a failure is reported to whoever awaits it, not as unhandled
      this.#ending = { promise, resolve, reject };
      this.#stack._busy(1);
      this.#flushWrites();
    }
    return this.#ending.promise;
  }

  /** Disables (true) or enables Nagle's algorithm. */
  setNoDelay(noDelay = true) {
    return this.#option('setNoDelay', [['TCP_NODELAY', noDelay ? 1 : 0]]);
  }

  /** Keepalive probes (SO_KEEPALIVE) after `idle` seconds without traffic, every
   * `interval` seconds, failing with ETIMEDOUT after `count` unanswered ones (defaults:
   * the stack's, 60 s, 10 s, 5). */
  setKeepAlive(enable = true, options = {}) {
    return this.#option('setKeepAlive', keepAliveOptions(enable, options));
  }

  /** How long (ms) sent data may stay unacknowledged before the connection fails with
   * ETIMEDOUT (Linux's TCP_USER_TIMEOUT); 0: the retry count decides. */
  setUserTimeout(ms) {
    return this.#option('setUserTimeout', [['TCP_USER_TIMEOUT', checkInt(ms, 'ms', 0, 0x7fffffff)]]);
  }

  /** The congestion control of this connection: 'cubic' or 'newreno' (TCP_CONGESTION). */
  setCongestion(name) {
    return this.#option('setCongestion', [['TCP_CONGESTION', congestionOf(name, 'setCongestion()')]]);
  }

  #option(what, pairs) {
    if (this.#closedError) throw this.#closedErr();
    if (this.#phase > OPEN) return this;
    for (const [name, value] of pairs) {
      const r = this.#core.setsockopt(this.#h, SO[name], value);
      if (r < 0) throw errorFromErrno(r, `${what}(): ${name}`);
    }
    return this;
  }

  // ---- ending ----

  /** Closes the connection: FIN after the data already taken (RST if received data
   * was left unread, as Linux does). Pending reads end with null; writes not yet taken
   * fail with ECONNABORTED. The handle is released at once. */
  close() {
    this.#shut(false);
  }

  /** Resets the connection (RST) and releases the handle. */
  abort() {
    this.#shut(true);
  }

  #shut(reset) {
    if (this.#phase === CLOSED) return;
    this.#release(reset);
    this.#phase = CLOSED;
    this.#closedError = CLOSED_LAZILY;
    if (!this.#connect && !this.#reads.length && !this.#writes.length && !(this.#ending && !this.#finQueued)) return;
    const aborted = new WtcpError('ECONNABORTED', `connection ${reset ? 'aborted' : 'closed'} before the data was sent`);
    this.#settleAll(new WtcpError('ECONNABORTED', 'connection closed while connecting'), aborted, true);
  }

  /** @internal The stack is closing: reset what is open. */
  _stackClosed(err) {
    if (this.#phase === CLOSED) return;
    if (this.#phase <= OPEN) this.#core.abort(this.#h);
    this.#phase = CLOSED;
    this.#closedError = err;
    this.#settleAll(err, err);
  }

  // Releases the core's handle, keeping the last figures.
  #release(reset) {
    if (this.#phase > OPEN) return;
    const v = this.#core.info(this.#h);
    if (typeof v !== 'number') this.#lastInfo = v; // shaped when asked for
    if (reset) this.#core.abort(this.#h);
    else this.#core.close(this.#h);
    this.#stack._forget(this.#h);
    this.#stack._kick();
    this.#phase = DONE;
  }

  // Settles every pending promise: connect and writes with the given errors, reads with
  // null (readsEnd) or the write error.
  #settleAll(connectErr, err, readsEnd = false) {
    const c = this.#connect;
    if (c) {
      this.#connect = null;
      clearTimeout(c.timer);
      this.#stack._busy(-1);
      c.reject(connectErr);
    }
    for (const w of this.#reads.splice(0)) {
      this.#stack._busy(-1);
      if (readsEnd) w.resolve(null);
      else w.reject(err);
    }
    for (const w of this.#writes.splice(0)) {
      this.#stack._busy(-1);
      w.reject(err);
    }
    if (this.#ending && !this.#finQueued) {
      this.#finQueued = true;
      this.#stack._busy(-1);
      this.#ending.reject(err);
    }
  }

  #fail(err) {
    if (this.#error || this.#phase > OPEN) return;
    this.#error = err;
    this.#release(false);
    this.#settleAll(err, err);
  }

  // Both directions finished: nothing more can happen, so the handle goes back to the
  // core (which finishes the closing handshake and TIME-WAIT on its own).
  #maybeDone() {
    if (this.#phase === OPEN && this.#eof && this.#finQueued && !this.#writes.length) this.#release(false);
  }

  /** @internal Events from the core. */
  _onEvents(bits) {
    if (bits & EV.ERROR) {
      const code = this.#core.getsockopt(this.#h, SO.SO_ERROR);
      const doing = this.#phase === CONNECTING ? `connect to ${this.remoteAddress}:${this.remotePort}` : this.#name();
      this.#fail(errorFromErrno(code < 0 ? code : -22, doing));
      return;
    }
    if (bits & EV.CONNECTED && this.#phase === CONNECTING) {
      this.#phase = OPEN;
      this.#learnAddresses();
      const c = this.#connect;
      this.#connect = null;
      if (c) {
        clearTimeout(c.timer);
        this.#stack._busy(-1);
        c.resolve(this);
      }
    }
    if (bits & (EV.WRITABLE | EV.CONNECTED)) this.#flushWrites();
    if (bits & (EV.READABLE | EV.CLOSED | EV.CONNECTED)) this.#pullReads();
  }

  // ---- figures ----

  /** TCP_INFO-like figures. After the connection finished, the last figures seen. */
  info() {
    if (this.#closedError) throw this.#closedErr();
    if (this.#phase === DONE) return this.#lastInfo ? shapeInfo(this.#lastInfo) : {};
    const v = this.#core.info(this.#h);
    if (typeof v === 'number') throw errorFromErrno(v, 'info');
    return shapeInfo(v);
  }

  // ---- streams and iteration ----

  /** The received bytes as a ReadableStream (pulled: the window opens as it is read). */
  get readable() {
    this.#readable ??= new ReadableStream(
      {
        pull: async (controller) => {
          const chunk = await this.read();
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        },
        cancel: () => {
          if (this.#phase === OPEN) this.#core.shutdown(this.#h, SHUT_RD);
          this.#eof = true;
          this.#endReads();
          this.#maybeDone();
        },
      },
      { highWaterMark: 0 },
    );
    return this.#readable;
  }

  /** A WritableStream: write() per chunk, close() is end(), abort() is abort(). */
  get writable() {
    this.#writable ??= new WritableStream({
      write: (chunk) => this.write(chunk),
      close: () => this.end(),
      abort: () => this.abort(),
    });
    return this.#writable;
  }

  async *[Symbol.asyncIterator]() {
    for (let chunk; (chunk = await this.read()) !== null; ) yield chunk;
  }

  [asyncDispose]() {
    this.close();
    return Promise.resolve();
  }
  [dispose]() {
    this.close();
  }
}

function checkInt(v, what, lo, hi) {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new WtcpError('EINVAL', `${what} must be an integer ${lo}..${hi}, got ${describe(v)}`);
  return v;
}

/** The socket options of keepalive: SO_KEEPALIVE and, when given, its timing in seconds
 * (setKeepAlive, and connect()'s keepAlive option). */
export function keepAliveOptions(enable, { idle, interval, count } = {}) {
  const opts = [['SO_KEEPALIVE', enable ? 1 : 0]];
  if (idle !== undefined) opts.push(['TCP_KEEPIDLE', checkInt(idle, 'idle', 1, 32767)]);
  if (interval !== undefined) opts.push(['TCP_KEEPINTVL', checkInt(interval, 'interval', 1, 32767)]);
  if (count !== undefined) opts.push(['TCP_KEEPCNT', checkInt(count, 'count', 1, 127)]);
  return opts;
}

/** A congestion control's number by name ('cubic', 'newreno'); undefined for none given. */
export function congestionOf(name, what) {
  if (name === undefined) return undefined;
  if (!(name in CONGESTION)) {
    throw new WtcpError('EINVAL', `${what}: ${describe(name)} is not one of ${Object.keys(CONGESTION).join(', ')}`);
  }
  return CONGESTION[name];
}

// How info() shows a field whose number means a word (the rest are numbers as they are).
const CA_STATES = ['open', 'disorder', 'recovery', 'loss'];
const SHOW = {
  state: (n) => STATES[n] ?? String(n),
  localAddress: formatAddress,
  remoteAddress: formatAddress,
  timestamps: (n) => n !== 0,
  sack: (n) => n !== 0,
  congestion: (n) => Object.keys(CONGESTION).find((k) => CONGESTION[k] === n) ?? String(n),
  caState: (n) => CA_STATES[n] ?? String(n),
};

/** info()'s object: the fields and their order come from the core (INFO_FIELDS). */
function shapeInfo(v) {
  const out = {};
  INFO_FIELDS.forEach((name, i) => {
    out[name] = SHOW[name] ? SHOW[name](v[i]) : v[i];
  });
  return out;
}
