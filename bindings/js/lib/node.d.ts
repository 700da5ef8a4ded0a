// Types of "wtcp/node": net-compatible servers and sockets over a wtcp stack.

import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type { Stack, Connection } from './index.js';

export interface SocketOptions {
  stack: Stack;
  /** Wrap an established connection (what a Server does). */
  connection?: Connection;
  /** Keep the writable side open after the peer ends (default false, as net). */
  allowHalfOpen?: boolean;
}

export interface SocketConnectOptions {
  host: string;
  port: number;
  /** ETIMEDOUT if not established within this many ms. */
  timeout?: number;
  noDelay?: boolean;
}

/** A net.Socket-like Duplex over one wtcp connection. */
export class Socket extends Duplex {
  constructor(options: SocketOptions);
  connecting: boolean;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: 'IPv4' | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  bytesRead: number;
  bytesWritten: number;
  readonly pending: boolean;
  readonly bufferSize: number;
  readonly readyState: 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed';
  readonly timeout: number | undefined;
  /** The wtcp connection, once connected. */
  readonly connection: Connection | null;
  connect(options: SocketConnectOptions, connectListener?: () => void): this;
  connect(port: number, host: string, connectListener?: () => void): this;
  setNoDelay(noDelay?: boolean): this;
  setKeepAlive(enable?: boolean, initialDelay?: number): this;
  setTimeout(ms: number, callback?: () => void): this;
  address(): { address: string; port: number; family: 'IPv4' } | {};
  resetAndDestroy(): this;
  destroySoon(): void;
  ref(): this;
  unref(): this;
}

export interface ServerOptions {
  stack: Stack;
  allowHalfOpen?: boolean;
  noDelay?: boolean;
}

export interface ServerListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
}

/** A net.Server-like listener: 'listening', 'connection' (a Socket), 'close', 'error'. */
export class Server extends EventEmitter implements AsyncDisposable {
  constructor(options: ServerOptions, connectionListener?: (socket: Socket) => void);
  listen(port?: number, host?: string, backlog?: number, callback?: () => void): this;
  listen(port?: number, host?: string, callback?: () => void): this;
  listen(port?: number, callback?: () => void): this;
  listen(options: ServerListenOptions, callback?: () => void): this;
  address(): { address: string; port: number; family: 'IPv4' } | null;
  readonly listening: boolean;
  close(callback?: (err?: Error) => void): this;
  closeAllConnections(): void;
  getConnections(callback: (err: Error | null, count: number) => void): this;
  ref(): this;
  unref(): this;
  on(event: 'connection', listener: (socket: Socket) => void): this;
  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  [Symbol.asyncDispose](): Promise<void>;
}

export function createServer(options: ServerOptions, connectionListener?: (socket: Socket) => void): Server;

export interface NetConnectOptions extends SocketConnectOptions {
  stack: Stack;
  allowHalfOpen?: boolean;
}

export function connect(options: NetConnectOptions, connectListener?: () => void): Socket;
export const createConnection: typeof connect;

/** An http.Agent whose sockets are wtcp connections. */
export class Agent extends http.Agent {
  constructor(options: http.AgentOptions & { stack: Stack });
}
