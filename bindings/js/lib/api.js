// api.js: the package's ways to get a stack: createStack() (an address of your own, or
// one from the relay) and pair() (two linked stacks in one process). The entry modules
// (index.node.js, index.browser.js) re-export this after telling wasm.js where the .wasm is.

import { checkOptions } from './args.js';
import { instantiateCore } from './wasm.js';
import { Stack } from './stack.js';
import { PairLink, openRelay } from './links.js';
import { WtcpError } from './errors.js';

/** A new stack: `{ address, prefix?, mtu?, ... }` for a raw packet link, or
 * `{ relay: 'ws://...' }` to take the address from the relay and carry packets over it. */
export async function createStack(options) {
  options = checkOptions(options, 'createStack()');
  let relay = null;
  if (options.relay !== undefined) {
    if (options.address !== undefined) {
      throw new WtcpError('EINVAL', 'createStack(): the relay assigns the address: pass relay or address, not both');
    }
    relay = await openRelay(options.relay, options);
  } else if (options.address === undefined) {
    throw new WtcpError('EINVAL', 'createStack(): pass options.address (and prefix, mtu) or options.relay');
  }
  try {
    const core = await instantiateCore(options.wasm);
    const stack = new Stack(core, relay ? { ...options, ...relay.config } : options);
    relay?.link.attach(stack);
    return stack;
  } catch (err) {
    relay?.link.close();
    throw err;
  }
}

/** Two stacks linked in memory: 10.0.0.1/24 and 10.0.0.2/24 unless `a` / `b` say
 * otherwise; `faults` adds a seeded fault injector; other options go to both. */
export async function pair(options) {
  options = checkOptions(options, 'pair()');
  const { faults, a: optionsA, b: optionsB, ...common } = options;
  const a = await createStack({ address: '10.0.0.1', prefix: 24, ...common, ...checkOptions(optionsA, 'pair({ a })') });
  const b = await createStack({ address: '10.0.0.2', prefix: 24, ...common, ...checkOptions(optionsB, 'pair({ b })') }).catch(
    (err) => {
      a.close();
      throw err;
    },
  );
  linkStacks(a, b, { faults });
  return [a, b];
}

/** Links two existing stacks in memory (what pair() does). */
export function linkStacks(a, b, options) {
  if (!(a instanceof Stack) || !(b instanceof Stack)) throw new WtcpError('EINVAL', 'linkStacks(a, b): two stacks');
  return new PairLink(a, b, checkOptions(options, 'linkStacks()').faults);
}

export { Stack } from './stack.js';
export { Connection } from './connection.js';
export { Listener } from './listener.js';
export { UdpSocket } from './udp.js';
export { WtcpError, errnos } from './errors.js';
export { FaultInjector, PairLink, RelayLink, parseRelayConfig } from './links.js';
