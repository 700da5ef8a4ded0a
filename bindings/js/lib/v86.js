// v86.js: wtcp/v86 — an emulated machine's network card on a stack's guest LAN. v86 hands
// the guest's Ethernet frames to JavaScript on its bus ('net0-send') and takes frames for
// the guest ('net0-receive'); attachV86 joins them to stack.addGuestLan(), so the guest
// gets a lease from wtcp's DHCP server, DNS, and NAT onto the stack's link.

import { WtcpError } from './errors.js';
import { describe } from './args.js';

/** Wires `emulator` (a V86 instance) to `stack`: options are addGuestLan()'s, or { lan }
 * for an interface made already. Returns { lan, detach }. */
export function attachV86(emulator, stack, options = {}) {
  if (!emulator || typeof emulator.add_listener !== 'function' || typeof emulator.bus?.send !== 'function') {
    throw new WtcpError('EINVAL', `attachV86(emulator): a V86 instance (add_listener, bus.send), got ${describe(emulator)}`);
  }
  const { lan: given, ...lanOptions } = options;
  const lan = given ?? stack.addGuestLan(lanOptions);
  lan.onframe = (frame) => emulator.bus.send('net0-receive', frame);
  const onSend = (frame) => {
    if (!stack.closed) lan.input(frame);
  };
  emulator.add_listener('net0-send', onSend);
  return {
    lan,
    detach() {
      emulator.remove_listener('net0-send', onSend);
      lan.onframe = null;
    },
  };
}

/** A stack of its own, with the emulator on its guest LAN: its link a relay (options.relay),
 * or none when options.wisp names a Wisp server (the guests' streams go there); options.stack
 * holds createStack's other options. Returns { stack, lan, detach }. */
export async function connectWith(createStack, emulator, options) {
  const { relay, stack: stackOptions, ...lanOptions } = options ?? {};
  if (relay === undefined && lanOptions.wisp === undefined) {
    throw new WtcpError('EINVAL', 'connectV86(emulator, { relay } or { wisp }): name a relay or a Wisp server');
  }
  // Without a relay the stack's first link carries nothing: an address of its own on a
  // prefix no guest uses.
  const stack = await createStack(relay !== undefined ? { relay, ...stackOptions } : { address: '192.168.250.1', prefix: 24, ...stackOptions });
  try {
    return { stack, ...attachV86(emulator, stack, lanOptions) };
  } catch (err) {
    stack.close();
    throw err;
  }
}
