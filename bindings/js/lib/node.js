// node.js: the Node adapter ("wtcp/node"): net-compatible servers and sockets over a wtcp
// stack. Sockets are stream.Duplex objects with net.Socket's usual members, so Node's own
// http server (fed through its 'connection' event) and http client (through
// `createConnection` or the Agent here) run over wtcp unchanged.

import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { Stack } from './stack.js';
import { Connection } from './connection.js';
import { WtcpError } from './errors.js';
import { describe } from './args.js';
import { asyncDispose } from './dispose.js';

function checkStack(stack, what) {
  if (!(stack instanceof Stack)) {
    throw new WtcpError('EINVAL', `${what}: options.stack must be a wtcp stack (from createStack or pair), got ${describe(stack)}`);
  }
  return stack;
}

/** A net.Socket-like Duplex over one wtcp connection. */
export class Socket extends Duplex {
  #stack;
  #conn = null;
  #pulling = false;
  #wantRead = false;
  #opened; // resolves with the connection (or null when destroyed first)
  #open;
  #noDelay = false;
  #keepAlive = null; // [enable, { idle }] from setKeepAlive before the connection exists
  #idleMs = 0;
  #idleTimer = null;

  connecting = false;
  remoteAddress = undefined;
  remotePort = undefined;
  remoteFamily = undefined;
  localAddress = undefined;
  localPort = undefined;
  bytesRead = 0;
  bytesWritten = 0;

  /** `{ stack }` for a socket to connect() later, or `{ stack, connection }` to wrap one. */
  constructor(options = {}) {
    // 'close' is emitted by _destroy, with net.Socket's hadError argument.
    super({ allowHalfOpen: options.allowHalfOpen ?? false, emitClose: false, autoDestroy: true });
    this.#stack = checkStack(options.stack, 'new Socket()');
    this.#opened = new Promise((resolve) => (this.#open = resolve));
    if (options.connection !== undefined) {
      if (!(options.connection instanceof Connection)) throw new WtcpError('EINVAL', 'options.connection must be a Connection');
      this.#attach(options.connection);
    }
  }

  #attach(conn) {
    this.#conn = conn;
    this.remoteAddress = conn.remoteAddress;
    this.remotePort = conn.remotePort;
    this.remoteFamily = 'IPv4';
    this.localAddress = conn.localAddress;
    this.localPort = conn.localPort;
    if (this.#noDelay) conn.setNoDelay(true);
    if (this.#keepAlive) conn.setKeepAlive(...this.#keepAlive);
    this.#open(conn);
    if (this.#wantRead) this.#pull();
  }

  /** Connects: connect({ host, port, timeout? }, listener?) or connect(port, host?, listener?). */
  connect(...args) {
    let [options, listener] = typeof args[0] === 'object' && args[0] !== null ? args : normalizePortHost(args);
    if (typeof listener === 'function') this.once('connect', listener);
    if (this.#conn || this.connecting) throw new WtcpError('EISCONN', 'socket is already connected or connecting');
    this.connecting = true;
    this.remoteAddress = options.host;
    this.remotePort = options.port;
    this.#stack
      .connect({ host: options.host, port: options.port, timeout: options.timeout, noDelay: options.noDelay })
      .then(
        (conn) => {
          this.connecting = false;
          if (this.destroyed) {
            conn.close();
            return;
          }
          this.#attach(conn);
          this.#touch();
          this.emit('connect');
          this.emit('ready');
        },
        (err) => {
          this.connecting = false;
          this.#open(null);
          this.destroy(err);
        },
      );
    return this;
  }

  _read() {
    if (!this.#conn) {
      this.#wantRead = true;
      return;
    }
    this.#pull();
  }

  #pull() {
    if (this.#pulling || this.destroyed) return;
    this.#pulling = true;
    this.#conn.read().then(
      (chunk) => {
        this.#pulling = false;
        if (this.destroyed) return;
        if (chunk === null) {
          this.push(null);
          return;
        }
        this.bytesRead += chunk.length;
        this.#touch();
        if (this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))) this.#pull();
      },
      (err) => {
        this.#pulling = false;
        this.destroy(err);
      },
    );
  }

  _write(chunk, encoding, callback) {
    this.#whenOpen(callback, (conn) =>
      conn.write(chunk).then(() => {
        this.bytesWritten += chunk.length;
        this.#touch();
        callback();
      }, callback),
    );
  }

  _writev(chunks, callback) {
    this.#whenOpen(callback, (conn) => {
      const last = chunks.map(({ chunk }) => conn.write(chunk)).pop();
      last.then(() => {
        for (const { chunk } of chunks) this.bytesWritten += chunk.length;
        this.#touch();
        callback();
      }, callback);
    });
  }

  _final(callback) {
    this.#whenOpen(callback, (conn) => conn.end().then(() => callback(), callback));
  }

  #whenOpen(callback, fn) {
    if (this.#conn) fn(this.#conn);
    else this.#opened.then((conn) => (conn ? fn(conn) : callback(new WtcpError('ENOTCONN', 'socket is not connected'))));
  }

  _destroy(err, callback) {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#conn) {
      if (err) this.#conn.abort();
      else this.#conn.close();
    } else {
      this.#open(null);
    }
    callback(err);
    // As net.Socket: 'close' after 'error', hadError true when an error ended it.
    process.nextTick(() => this.emit('close', err != null));
  }

  /** Resets the connection (RST) and destroys the socket. */
  resetAndDestroy() {
    this.#conn?.abort();
    return this.destroy();
  }

  destroySoon() {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  setNoDelay(noDelay = true) {
    this.#noDelay = noDelay;
    this.#conn?.setNoDelay(noDelay);
    return this;
  }

  /** As net.Socket's: keepalive probes after `initialDelay` ms idle (0: the stack's 60 s). */
  setKeepAlive(enable = false, initialDelay = 0) {
    const idle = initialDelay > 0 ? Math.min(32767, Math.max(1, Math.ceil(initialDelay / 1000))) : undefined;
    this.#keepAlive = [Boolean(enable), { idle }];
    this.#conn?.setKeepAlive(...this.#keepAlive);
    return this;
  }

  /** Emits 'timeout' after `ms` without reading or writing (0 turns it off). */
  setTimeout(ms, callback) {
    this.#idleMs = ms;
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.#touch();
    return this;
  }

  get timeout() {
    return this.#idleMs || undefined;
  }

  #touch() {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#idleMs > 0 && !this.destroyed) {
      this.#idleTimer = setTimeout(() => this.emit('timeout'), this.#idleMs);
      this.#idleTimer.unref();
    }
  }

  address() {
    return this.localAddress ? { address: this.localAddress, port: this.localPort, family: 'IPv4' } : {};
  }

  ref() {
    return this;
  }

  unref() {
    return this;
  }

  get pending() {
    return !this.#conn;
  }

  get bufferSize() {
    return this.writableLength;
  }

  get readyState() {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** The wtcp connection (for info()), once connected. */
  get connection() {
    return this.#conn;
  }
}

function normalizePortHost(args) {
  const [port, host, listener] = args;
  if (typeof host === 'function') return [{ port }, host];
  return [{ port, host }, listener];
}

/** A net.Server-like listener: 'listening', 'connection' (a Socket), 'close', 'error'. */
export class Server extends EventEmitter {
  #stack;
  #allowHalfOpen;
  #noDelay;
  #listener = null;
  #sockets = new Set();
  #closing = false;

  constructor(options, connectionListener) {
    super();
    if (typeof options === 'function' || options === undefined) {
      throw new WtcpError('EINVAL', 'createServer(options, listener): options.stack is required');
    }
    this.#stack = checkStack(options.stack, 'createServer()');
    this.#allowHalfOpen = options.allowHalfOpen ?? false;
    this.#noDelay = options.noDelay ?? false;
    if (connectionListener) this.on('connection', connectionListener);
  }

  /** listen(port, host?, backlog?, cb?) or listen({ port, host, backlog }, cb?). */
  listen(...args) {
    const cb = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    const options = typeof args[0] === 'object' && args[0] !== null ? args[0] : { port: args[0], host: args[1], backlog: args[2] };
    if (this.#listener) throw new WtcpError('EINVAL', 'server is already listening');
    if (cb) this.once('listening', cb);
    this.#closing = false;
    try {
      this.#listener = this.#stack.listen({
        port: options.port ?? 0,
        host: typeof options.host === 'string' ? options.host : undefined,
        backlog: options.backlog ?? 511,
      });
    } catch (err) {
      process.nextTick(() => this.emit('error', err));
      return this;
    }
    process.nextTick(() => this.emit('listening'));
    this.#acceptLoop(this.#listener);
    return this;
  }

  async #acceptLoop(listener) {
    try {
      for await (const conn of listener) {
        const socket = new Socket({ stack: this.#stack, connection: conn, allowHalfOpen: this.#allowHalfOpen });
        if (this.#noDelay) socket.setNoDelay(true);
        this.#sockets.add(socket);
        socket.once('close', () => {
          this.#sockets.delete(socket);
          this.#maybeClosed();
        });
        this.emit('connection', socket);
      }
    } catch (err) {
      this.emit('error', err);
    }
  }

  address() {
    return this.#listener ? { address: this.#listener.address, port: this.#listener.port, family: 'IPv4' } : null;
  }

  get listening() {
    return this.#listener !== null;
  }

  /** Stops accepting; 'close' follows once every connection has closed. */
  close(callback) {
    if (callback) this.once('close', callback);
    if (!this.#listener) {
      if (callback) process.nextTick(() => this.emit('close'));
      return this;
    }
    this.#listener.close();
    this.#listener = null;
    this.#closing = true;
    this.#maybeClosed();
    return this;
  }

  /** Destroys every connection still open (http.Server's closeAllConnections for wtcp). */
  closeAllConnections() {
    for (const s of this.#sockets) s.destroy();
  }

  #maybeClosed() {
    if (this.#closing && this.#sockets.size === 0) {
      this.#closing = false;
      process.nextTick(() => this.emit('close'));
    }
  }

  getConnections(callback) {
    process.nextTick(callback, null, this.#sockets.size);
    return this;
  }

  ref() {
    return this;
  }

  unref() {
    return this;
  }

  [asyncDispose]() {
    return new Promise((resolve) => {
      this.close(() => resolve());
      this.closeAllConnections();
    });
  }
}

/** net.createServer over wtcp: createServer({ stack }, connectionListener?). */
export function createServer(options, connectionListener) {
  return new Server(options, connectionListener);
}

/** net.connect over wtcp: connect({ stack, host, port, timeout? }, connectListener?). */
export function connect(options, connectListener) {
  if (options === null || typeof options !== 'object') {
    throw new WtcpError('EINVAL', `connect(options): an object with stack, host and port, got ${describe(options)}`);
  }
  const socket = new Socket({ stack: options.stack, allowHalfOpen: options.allowHalfOpen });
  return socket.connect(options, connectListener);
}

export const createConnection = connect;

/** An http.Agent whose sockets are wtcp connections (keep-alive pooling included). */
export class Agent extends http.Agent {
  #stack;

  constructor(options) {
    super(options);
    this.#stack = checkStack(options?.stack, 'new Agent()');
  }

  // Returning the socket is enough: http.Agent then uses it (errors arrive on it).
  createConnection(options) {
    return connect({ stack: this.#stack, host: options.host, port: Number(options.port), timeout: options.timeout });
  }
}
