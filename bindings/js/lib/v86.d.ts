// v86.d.ts: types of wtcp/v86, an emulated machine's network card on a stack's guest LAN.
import type { Stack, EthernetInterface, GuestLanOptions, StackTuning } from './index.js';

/** What attachV86 needs of a V86 instance. */
export interface V86Like {
  add_listener(event: 'net0-send', fn: (frame: Uint8Array) => void): void;
  remove_listener(event: 'net0-send', fn: (frame: Uint8Array) => void): void;
  bus: { send(event: 'net0-receive', frame: Uint8Array): void };
}

export interface Attached {
  lan: EthernetInterface;
  /** Stops carrying frames (the interface stays). */
  detach(): void;
}

/** Wires the emulator's NIC to stack.addGuestLan(options) (or to options.lan). */
export function attachV86(emulator: V86Like, stack: Stack, options?: GuestLanOptions & { lan?: EthernetInterface }): Attached;

/** A stack of its own on the relay (or, with `wisp` and no relay, on a Wisp server), with
 * the emulator on its guest LAN. */
export function connectV86(
  emulator: V86Like,
  options: GuestLanOptions & ({ relay: string } | { relay?: undefined; wisp: string }) & { stack?: Omit<StackTuning, 'mtu'> },
): Promise<Attached & { stack: Stack }>;
