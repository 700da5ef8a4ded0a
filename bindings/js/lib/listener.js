// listener.js: a listening TCP socket: accept() promises and async iteration of the
// connections that arrive. Connections are taken from the core only when asked for, so
// a server that stops accepting lets its backlog fill and new SYNs wait (real
// backpressure, as listen(2)).

import { WtcpError, errorFromErrno } from './errors.js';
import { EV } from './wasm.js';
import { asyncDispose, dispose } from './dispose.js';

const EAGAIN = -3;

export class Listener {
  #stack;
  #core;
  #h;
  #waiters = []; // { resolve, reject }
  #closedError = null;

  /** The address and port it listens on. */
  address;
  port;

  /** @internal Made by stack.listen(). */
  constructor(stack, h, address, port) {
    this.#stack = stack;
    this.#core = stack._core;
    this.#h = h;
    this.address = address;
    this.port = port;
  }

  /** The next connection, or null once the listener is closed. */
  accept() {
    if (this.#closedError) return Promise.reject(this.#closedError);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#pull();
    });
  }

  #pull() {
    while (this.#waiters.length && !this.#closedError) {
      const h = this.#core.accept(this.#h);
      if (h === EAGAIN) return;
      const w = this.#waiters.shift();
      if (h < 0) {
        w.reject(errorFromErrno(h, `accept on port ${this.port}`));
        continue;
      }
      w.resolve(this.#stack._adopt(h));
      this.#stack._kick();
    }
  }

  /** @internal */
  _onEvents(bits) {
    if (bits & EV.ACCEPTABLE) this.#pull();
  }

  /** Stops listening: connections not yet accepted are reset; pending accepts get null. */
  close() {
    if (this.#closedError) return;
    this.#closedError = new WtcpError('EBADF', 'listener is closed');
    this.#core.close(this.#h);
    this.#stack._forget(this.#h);
    this.#stack._kick();
    for (const w of this.#waiters.splice(0)) w.resolve(null);
  }

  /** @internal */
  _stackClosed(err) {
    if (this.#closedError) return;
    this.#closedError = err;
    for (const w of this.#waiters.splice(0)) w.resolve(null);
  }

  async *[Symbol.asyncIterator]() {
    for (let conn; (conn = await this.accept().catch(nullWhenClosed)) !== null; ) yield conn;
  }

  [asyncDispose]() {
    this.close();
    return Promise.resolve();
  }
  [dispose]() {
    this.close();
  }
}

function nullWhenClosed(err) {
  if (err instanceof WtcpError && err.code === 'EBADF') return null;
  throw err;
}
