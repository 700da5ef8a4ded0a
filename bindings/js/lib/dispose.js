// dispose.js: the explicit resource management symbols (`using` / `await using`), with a
// fallback for engines that do not define them yet.

export const asyncDispose = Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose');
export const dispose = Symbol.dispose ?? Symbol.for('Symbol.dispose');
