// wisp.js: a Wisp client (MercuryWorkshop's wisp-protocol, version 1: TCP and UDP streams
// multiplexed over one WebSocket; CONNECT, DATA, CONTINUE flow control, CLOSE with a
// reason), written for the guest LAN's uplink (ethernet.js): each connection a guest makes
// becomes a stream. Little-endian fields; stream 0 is the connection's own.

import { WtcpError } from './errors.js';

const CONNECT = 1;
const DATA = 2;
const CONTINUE = 3;
const CLOSE = 4;
export const WISP_TCP = 1;
export const WISP_UDP = 2;
/** Close reasons (wisp-protocol's "Close Reasons"), by number. */
export const WISP_REASONS = {
  0x01: 'unknown',
  0x02: 'voluntary',
  0x03: 'network error',
  0x04: 'incompatible extensions',
  0x41: 'invalid stream information',
  0x42: 'host unreachable',
  0x43: 'connect timeout',
  0x44: 'connection refused',
  0x47: 'TCP timeout',
  0x48: 'blocked by the server',
  0x49: 'throttled',
  0x81: 'client error',
};
const MAX_DATA = 65536; // bytes in one DATA packet the client sends

function packet(type, id, payloadLength) {
  const b = new Uint8Array(5 + payloadLength);
  b[0] = type;
  new DataView(b.buffer).setUint32(1, id, true);
  return b;
}

/** One stream. */
export class WispStream {
  #conn;
  #credit;
  #creditWaiters = [];
  /** Called with each DATA payload from the server (a Uint8Array). */
  ondata = null;
  /** Called once with the close reason's number (the server's CLOSE, or the connection's end). */
  onclose = null;
  /** The first sign of life from the server for this stream (DATA or CONTINUE). */
  #alive;
  #aliveResolve;
  closed = false;
  reason = 0;

  /** @internal */
  constructor(conn, id, type, credit) {
    this.#conn = conn;
    this.id = id;
    this.type = type;
    this.#credit = type === WISP_TCP ? credit : Infinity;
    this.#alive = new Promise((resolve) => (this.#aliveResolve = resolve));
  }

  /** Resolves 0 once the stream shows it is open (its first DATA or CONTINUE, or `ms`
   * without a CLOSE: Wisp 1 has no acknowledgment of CONNECT), or the close reason. */
  opened(ms) {
    let timer;
    return Promise.race([
      this.#alive,
      new Promise((resolve) => (timer = setTimeout(() => resolve(0), ms))),
    ]).finally(() => clearTimeout(timer));
  }

  /** Sends bytes (TCP: in DATA packets as CONTINUE allows; resolves when they are sent). */
  async write(bytes) {
    for (let off = 0; off < bytes.length && !this.closed; off += MAX_DATA) {
      while (this.#credit <= 0 && !this.closed) await new Promise((resolve) => this.#creditWaiters.push(resolve));
      if (this.closed) break;
      this.#credit--;
      this.#conn._sendData(this.id, bytes.subarray(off, Math.min(bytes.length, off + MAX_DATA)));
    }
    if (this.closed) throw new WtcpError('ECONNRESET', `wisp stream ${this.id} closed (${WISP_REASONS[this.reason] ?? this.reason})`);
  }

  /** Ends the stream (reason 0x02: voluntary). */
  close(reason = 0x02) {
    if (this.closed) return;
    this.#conn._sendClose(this.id, reason);
    this._closed(reason);
  }

  /** @internal */
  _data(payload) {
    this.#aliveResolve(0);
    this.ondata?.(payload);
  }
  /** @internal */
  _continue(n) {
    this.#aliveResolve(0);
    this.#credit = n;
    for (const w of this.#creditWaiters.splice(0)) w();
  }
  /** @internal */
  _closed(reason) {
    if (this.closed) return;
    this.closed = true;
    this.reason = reason;
    this.#aliveResolve(reason || 0x01);
    for (const w of this.#creditWaiters.splice(0)) w();
    this.onclose?.(reason);
  }
}

/** One WebSocket to a Wisp server. */
export class WispConnection {
  #ws;
  #streams = new Map();
  #nextId = 1;
  #credit = 0; // each new stream's initial buffer (the server's first CONTINUE)
  /** Resolves with { code, reason } when the WebSocket closes. */
  closed;

  /** Opens `url` with the WebSocket class given and waits for the server's first CONTINUE. */
  static async open(url, WebSocketClass, timeout = 10000) {
    const ws = new WebSocketClass(url);
    ws.binaryType = 'arraybuffer';
    const conn = new WispConnection(ws);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new WtcpError('ETIMEDOUT', `wisp ${url}: no CONTINUE from the server within ${timeout} ms`));
      }, timeout);
      conn._onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      ws.onerror = (ev) => {
        clearTimeout(timer);
        reject(new WtcpError('ECONNREFUSED', `wisp ${url}: ${ev?.message ?? 'WebSocket error'}`));
      };
      conn.closed.then(({ code }) => {
        clearTimeout(timer);
        reject(new WtcpError('ECONNREFUSED', `wisp ${url}: closed (${code}) before its first CONTINUE`));
      });
    });
    return conn;
  }

  /** @internal */
  constructor(ws) {
    this.#ws = ws;
    let closedResolve;
    this.closed = new Promise((resolve) => (closedResolve = resolve));
    ws.onmessage = (ev) => this.#message(new Uint8Array(ev.data));
    ws.onclose = (ev) => {
      for (const s of [...this.#streams.values()]) s._closed(0x03);
      this.#streams.clear();
      closedResolve({ code: ev?.code ?? 1006, reason: ev?.reason ?? '' });
    };
  }

  _onReady = null;

  #message(b) {
    if (b.length < 5) return; // not a Wisp packet: ignored
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const type = b[0];
    const id = dv.getUint32(1, true);
    if (id === 0) {
      if (type === CONTINUE && b.length >= 9) {
        this.#credit = dv.getUint32(5, true);
        this._onReady?.();
        this._onReady = null;
      }
      return;
    }
    const s = this.#streams.get(id);
    if (!s) return;
    if (type === DATA) s._data(b.subarray(5));
    else if (type === CONTINUE && b.length >= 9) s._continue(dv.getUint32(5, true));
    else if (type === CLOSE) {
      this.#streams.delete(id);
      s._closed(b.length >= 6 ? b[5] : 0x01);
    }
  }

  /** A new stream to host:port (TCP or UDP); data may follow at once. */
  connect(type, host, port) {
    const name = new TextEncoder().encode(host);
    const p = packet(CONNECT, this.#nextId, 3 + name.length);
    p[5] = type;
    new DataView(p.buffer).setUint16(6, port, true);
    p.set(name, 8);
    const s = new WispStream(this, this.#nextId, type, this.#credit);
    this.#streams.set(this.#nextId, s);
    this.#nextId = (this.#nextId % 0xfffffffe) + 1;
    this.#ws.send(p);
    return s;
  }

  #paused = 0;
  /** Stops reading the WebSocket while a stream's reader is behind (Wisp 1 has no flow
   * control toward the client: this is its backpressure; every stream waits). Where the
   * WebSocket cannot pause (a browser's), returns false: the caller must bound its buffer. */
  pause() {
    const sock = this.#ws._socket; // ws's net.Socket (Node)
    if (!sock || typeof sock.pause !== 'function') return false;
    if (this.#paused++ === 0) sock.pause();
    return true;
  }
  resume() {
    const sock = this.#ws._socket;
    if (sock && this.#paused > 0 && --this.#paused === 0) sock.resume();
  }

  /** Bytes queued in the WebSocket (the client's side of backpressure). */
  get bufferedAmount() {
    return this.#ws.bufferedAmount;
  }

  /** @internal */
  _sendData(id, bytes) {
    const p = packet(DATA, id, bytes.length);
    p.set(bytes, 5);
    this.#ws.send(p);
  }
  /** @internal */
  _sendClose(id, reason) {
    this.#streams.delete(id);
    const p = packet(CLOSE, id, 1);
    p[5] = reason;
    this.#ws.send(p);
  }

  close() {
    this.#ws.close();
  }
}
