// args.js: checking what callers pass: IPv4 addresses (text <-> the core's host-order
// numbers), ports, byte arrays and numeric options, with errors that say what was wrong.

import { WtcpError } from './errors.js';

const dotted = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** 'a.b.c.d' -> unsigned 32-bit number, or a WtcpError EINVAL naming `what`. */
export function parseAddress(text, what = 'address') {
  if (typeof text !== 'string' || !dotted.test(text)) {
    throw new WtcpError('EINVAL', `${what} must be a dotted IPv4 address such as '10.0.0.2', got ${describe(text)}`);
  }
  const [a, b, c, d] = text.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function formatAddress(n) {
  n >>>= 0;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The network mask of a prefix length, as an unsigned number. */
export function prefixMask(prefix) {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Validates a port number; `allowZero` for "pick one". */
export function checkPort(port, what = 'port', allowZero = false) {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new WtcpError('EINVAL', `${what} must be an integer ${allowZero ? 0 : 1}..65535, got ${describe(port)}`);
  }
  return port;
}

export function describe(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Object.prototype.toString.call(value);
}

const encoder = new TextEncoder();

/** A Uint8Array view of bytes given as Uint8Array, another view, ArrayBuffer or string
 * (UTF-8). Views share memory with the caller's data: nothing is copied here. */
export function toBytes(data, what = 'data') {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (typeof data === 'string') return encoder.encode(data);
  throw new WtcpError('EINVAL', `${what} must be a Uint8Array, ArrayBuffer, typed array or string, got ${describe(data)}`);
}

/** An optional integer option within [min, max]; undefined stays undefined. */
export function optionalInt(options, name, min, max) {
  const v = options[name];
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new WtcpError('EINVAL', `options.${name} must be an integer ${min}..${max}, got ${describe(v)}`);
  }
  return v;
}

/** An options argument: an object, or undefined when allowed. */
export function checkOptions(options, what, required = false) {
  if (options === undefined && !required) return {};
  if (options === null || typeof options !== 'object') {
    throw new WtcpError('EINVAL', `${what} expects an options object, got ${describe(options)}`);
  }
  return options;
}
