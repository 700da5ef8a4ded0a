// v86.node.js: the wtcp/v86 entry for Node (the stack from index.node.js).
import { createStack } from './index.node.js';
import { attachV86, connectWith } from './v86.js';

export { attachV86 };
export const connectV86 = (emulator, options) => connectWith(createStack, emulator, options);
