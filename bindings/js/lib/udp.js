// udp.js: a bound UDP socket: send() datagrams, receive() them or iterate over them.
// Datagrams wait in the core's bounded queue until asked for (beyond it they are dropped
// and counted, as UDP allows).

import { WtcpError, errorFromErrno } from './errors.js';
import { parseAddress, checkPort, formatAddress, toBytes } from './args.js';
import { EV } from './wasm.js';
import { asyncDispose, dispose } from './dispose.js';

const EAGAIN = -3;
const MAX_DATAGRAM = 65535;

export class UdpSocket {
  #stack;
  #core;
  #h;
  #waiters = []; // { resolve, reject }
  #closedError = null;

  /** The local address and port. */
  address;
  port;

  /** @internal Made by stack.udp.bind(). */
  constructor(stack, h, address, port) {
    this.#stack = stack;
    this.#core = stack._core;
    this.#h = h;
    this.address = address;
    this.port = port;
  }

  /** Sends one datagram at once. Throws EMSGSIZE beyond the MTU. */
  send(data, host, port) {
    if (this.#closedError) throw this.#closedError;
    const bytes = toBytes(data);
    const addr = parseAddress(host, 'host');
    checkPort(port, 'port');
    if (!this.#stack._reachable(addr)) {
      throw new WtcpError('ENETUNREACH', `send to ${host}:${port}: network is unreachable (no gateway)`);
    }
    const r = this.#core.sendto(this.#h, bytes, addr, port);
    if (r < 0) throw errorFromErrno(r, `send to ${host}:${port}`);
    this.#stack._kick();
  }

  /** The next datagram { data, address, port }, or null once the socket is closed. */
  receive() {
    if (this.#closedError) return Promise.reject(this.#closedError);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#pull();
    });
  }

  #pull() {
    while (this.#waiters.length && !this.#closedError) {
      const r = this.#core.recvfrom(this.#h, MAX_DATAGRAM);
      if (r === EAGAIN) return;
      const w = this.#waiters.shift();
      if (typeof r === 'number') w.reject(errorFromErrno(r, `receive on UDP port ${this.port}`));
      else w.resolve({ data: r.data, address: formatAddress(r.addr), port: r.port });
    }
  }

  /** @internal */
  _onEvents(bits) {
    if (bits & EV.READABLE) this.#pull();
  }

  /** Closes the socket; pending receives get null. */
  close() {
    if (this.#closedError) return;
    this.#closedError = new WtcpError('EBADF', 'UDP socket is closed');
    this.#core.close(this.#h);
    this.#stack._forget(this.#h);
    for (const w of this.#waiters.splice(0)) w.resolve(null);
  }

  /** @internal */
  _stackClosed(err) {
    if (this.#closedError) return;
    this.#closedError = err;
    for (const w of this.#waiters.splice(0)) w.resolve(null);
  }

  async *[Symbol.asyncIterator]() {
    for (;;) {
      if (this.#closedError) return;
      const d = await this.receive();
      if (d === null) return;
      yield d;
    }
  }

  [asyncDispose]() {
    this.close();
    return Promise.resolve();
  }
  [dispose]() {
    this.close();
  }
}
