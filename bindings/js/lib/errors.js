// errors.js: WtcpError, the one error type of the package, and the core's error codes
// (the WTCP_ERRNO_MAP of include/wtcp.h; a test checks this table against the wasm).

/** Negative errno values of the core, by name. */
export const errnos = Object.freeze({
  EINVAL: -1,
  EBADF: -2,
  EAGAIN: -3,
  ENOMEM: -4,
  EMFILE: -5,
  EADDRINUSE: -6,
  EADDRNOTAVAIL: -7,
  EISCONN: -8,
  ENOTCONN: -9,
  EALREADY: -10,
  EINPROGRESS: -11,
  ECONNREFUSED: -12,
  ECONNRESET: -13,
  ECONNABORTED: -14,
  ETIMEDOUT: -15,
  EPIPE: -16,
  EMSGSIZE: -17,
  ENETUNREACH: -18,
  EHOSTUNREACH: -19,
  EOPNOTSUPP: -20,
  ENOPROTOOPT: -21,
  EPROTO: -22,
  ENOBUFS: -23,
});

const messages = {
  EINVAL: 'invalid argument',
  EBADF: 'bad or stale socket handle',
  EAGAIN: 'operation would block',
  ENOMEM: 'out of memory',
  EMFILE: 'no free socket slots',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  EISCONN: 'socket is already connected',
  ENOTCONN: 'socket is not connected',
  EALREADY: 'operation already in progress',
  EINPROGRESS: 'operation now in progress',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ECONNABORTED: 'connection aborted',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'broken pipe: sending side is shut down',
  EMSGSIZE: 'message too long',
  ENETUNREACH: 'network is unreachable',
  EHOSTUNREACH: 'no route to host',
  EOPNOTSUPP: 'operation not supported on this socket',
  ENOPROTOOPT: 'protocol option not available',
  EPROTO: 'protocol error',
  ENOBUFS: 'no buffer space available',
  // Not from the core: the package's own.
  EIO: 'input/output error (loading wtcp.wasm, or the link)',
};

const names = new Map(Object.entries(errnos).map(([name, value]) => [value, name]));

/** Every failure of the package: `code` is a name such as 'ECONNREFUSED'. */
export class WtcpError extends Error {
  /**
   * @param {string} code
   * @param {string} [message] what happened, in words; defaults to the code's meaning
   * @param {{ cause?: unknown }} [options]
   */
  constructor(code, message, options) {
    super(message ?? messages[code] ?? code, options);
    this.name = 'WtcpError';
    this.code = code;
    /** The core's negative errno, when the code is one of the core's. */
    this.errno = errnos[code];
  }
}

/** The WtcpError for a negative result of the core, with what was being done. */
export function errorFromErrno(errno, doing) {
  const code = names.get(errno) ?? 'EPROTO';
  const text = messages[code] ?? `error ${errno}`;
  return new WtcpError(code, doing ? `${doing}: ${text}` : text);
}

/** The symbolic name of a negative core result ('EAGAIN'), or undefined. */
export function errnoName(errno) {
  return names.get(errno);
}
