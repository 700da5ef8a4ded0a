// v86.browser.js: the wtcp/v86 entry for browsers and bundlers (the stack from index.browser.js).
import { createStack } from './index.browser.js';
import { attachV86, connectWith } from './v86.js';

export { attachV86 };
export const connectV86 = (emulator, options) => connectWith(createStack, emulator, options);
