#!/usr/bin/env node
// run.mjs: runs a WASI preview 1 command under Node's node:wasi, with stdio, arguments, environment and preopened directories.
//
//   node wasi/run.mjs [--dir HOST[=GUEST]]... [--env K=V]... FILE.wasm [ARG]...
//
// stdin, stdout and stderr are the process's own (fd 0, 1, 2), so packets framed on
// stdin/stdout pass straight through. WTCP_* variables of Node's environment are passed
// on (the relay sets them), then --env adds or overrides. --dir HOST=GUEST preopens the
// host directory HOST under the guest path GUEST (--dir D alone: the same path in both).
// With WTCP_LINK_DIR (`wtcp-relay exec --fifo`), that directory is preopened as /wtcp-link
// and the program gets WTCP_LINK_IN=/wtcp-link/in and WTCP_LINK_OUT=/wtcp-link/out: the
// POSIX layer's packets go there, and stdin/stdout stay the program's.
// The exit status is the program's; a trap prints its message and exits with 134.

const usage = `usage: node run.mjs [--dir HOST[=GUEST]]... [--env K=V]... FILE.wasm [ARG]...
Runs a WASI (preview 1) command under Node's node:wasi.
  --dir HOST=GUEST  preopen directory HOST as GUEST in the program (--dir D: D as D)
  --env K=V         set an environment variable (WTCP_* from Node's are passed on)
`;

function fail(message, status = 2) {
    process.stderr.write(`run.mjs: ${message}\n`);
    process.exit(status);
}

const argv = process.argv.slice(2);
const preopens = {};
const env = {};
for (const [k, v] of Object.entries(process.env))
    if (k.startsWith('WTCP_')) env[k] = v;

let i = 0;
for (; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
        if (i + 1 >= argv.length) fail(`${a} needs a value\n${usage}`);
        return argv[++i];
    };
    if (a === '--dir') {
        const d = value();
        const eq = d.indexOf('=');
        const host = eq < 0 ? d : d.slice(0, eq);
        const guest = eq < 0 ? d : d.slice(eq + 1);
        if (!host || !guest) fail(`--dir ${d}: want HOST=GUEST`);
        preopens[guest] = host;
    } else if (a === '--env') {
        const kv = value();
        const eq = kv.indexOf('=');
        if (eq <= 0) fail(`--env ${kv}: want K=V`);
        env[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a === '-h' || a === '--help') {
        process.stdout.write(usage);
        process.exit(0);
    } else if (a === '--') {
        i++;
        break;
    } else if (a.startsWith('-')) {
        fail(`unknown option ${a}\n${usage}`);
    } else {
        break;
    }
}
if (i >= argv.length) fail(`no program given\n${usage}`);
if (process.env.WTCP_LINK_DIR) {
    preopens['/wtcp-link'] = process.env.WTCP_LINK_DIR;
    delete env.WTCP_LINK_DIR;
    env.WTCP_LINK_IN ??= '/wtcp-link/in';
    env.WTCP_LINK_OUT ??= '/wtcp-link/out';
}
const file = argv[i];
const args = argv.slice(i);

// node:wasi prints an ExperimentalWarning when loaded; it says nothing useful here and
// stderr belongs to the program.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
    const text = typeof warning === 'string' ? warning : warning?.message;
    if (/WASI/.test(text ?? '')) return;
    emitWarning.call(process, warning, ...rest);
};
const { WASI } = await import('node:wasi');
const { readFile } = await import('node:fs/promises');

let bytes;
try {
    bytes = await readFile(file);
} catch (e) {
    fail(`${file}: ${e.message}`, 1);
}

const wasi = new WASI({ version: 'preview1', args, env, preopens, returnOnExit: true });
let status;
try {
    const module = await WebAssembly.compile(bytes);
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
    status = wasi.start(instance);
} catch (e) {
    const what = e instanceof WebAssembly.RuntimeError ? 'trap' : 'error';
    process.stderr.write(`run.mjs: ${file}: ${what}: ${e.message}\n`);
    status = e instanceof WebAssembly.RuntimeError ? 134 : 1;
}
process.exitCode = status;
