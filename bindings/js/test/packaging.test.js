// packaging.test.js: what users get from npm: `npm pack` holds only what they need; the
// tarball installs into a fresh project where import('wtcp') and 'wtcp/node' work and
// echo data; Vite bundles the browser entry with the .wasm as an asset, and that bundle
// runs; the TypeScript declarations check against a usage sample.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile, readdir, readFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const run = promisify(execFile);
const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
let work;
let tarball;
let project;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'wtcp-pack-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkgDir });
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('[')));
  tarball = join(work, info.filename);
  project = join(work, 'app');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], { cwd: project });
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm package', () => {
  it('packs only what users need', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], { cwd: pkgDir });
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('[')));
    const files = info.files.map((f) => f.path).sort();
    expect(files).toContain('dist/wtcp.wasm');
    expect(files).toContain('lib/index.d.ts');
    expect(files).toContain('lib/node.d.ts');
    expect(files).toContain('lib/index.node.js');
    expect(files).toContain('lib/index.browser.js');
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    for (const f of files) expect(f).toMatch(/^(lib\/[\w.-]+\.(js|d\.ts)|dist\/wtcp\.wasm|package\.json|README\.md)$/);
    const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('wtcp');
    expect(pkg.type).toBe('module');
    expect(pkg.engines.node).toBe('>=20');
    expect(Object.keys(pkg.exports['.'])).toEqual(['types', 'node', 'browser', 'default']);
    expect(pkg.exports['./wtcp.wasm']).toBe('./dist/wtcp.wasm');
  });

  it('installs into a fresh project where import("wtcp") and "wtcp/node" echo data', async () => {
    const script = `
      import { pair } from 'wtcp';
      import { createServer, connect } from 'wtcp/node';
      import { createRequire } from 'node:module';
      const [a, b] = await pair();
      const l = b.listen({ port: 7 });
      (async () => { for await (const c of l) { for await (const x of c) await c.write(x); await c.end(); c.close(); } })().catch(() => {});
      const c = await a.connect({ host: '10.0.0.2', port: 7 });
      await c.write('echo through the packed tarball');
      await c.end();
      let got = ''; for await (const x of c) got += new TextDecoder().decode(x);
      c.close();
      const server = createServer({ stack: b }, (s) => s.pipe(s)).listen(8);
      const s = connect({ stack: a, host: '10.0.0.2', port: 8 });
      s.end('and through wtcp/node');
      let net = ''; for await (const d of s) net += d;
      server.close();
      const wasmPath = createRequire(import.meta.url).resolve('wtcp/wtcp.wasm');
      console.log(JSON.stringify({ got, net, wasmPath }));
      a.close(); b.close();
    `;
    await writeFile(join(project, 'echo.mjs'), script);
    const { stdout } = await run(process.execPath, ['echo.mjs'], { cwd: project });
    const out = JSON.parse(stdout);
    expect(out.got).toBe('echo through the packed tarball');
    expect(out.net).toBe('and through wtcp/node');
    expect(out.wasmPath).toMatch(/node_modules\/wtcp\/dist\/wtcp\.wasm$/);
  });

  it('bundles for the browser with Vite (the .wasm as an asset), and the bundle runs', async () => {
    const { build } = await import('vite');
    const web = join(project, 'web');
    await mkdir(web);
    await writeFile(join(web, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
    await writeFile(
      join(web, 'main.js'),
      `import { pair } from 'wtcp';
       export async function run() {
         const [a, b] = await pair();
         const l = b.listen({ port: 80 });
         (async () => { for await (const c of l) { for await (const x of c) await c.write(x); await c.end(); c.close(); } })().catch(() => {});
         const c = await a.connect({ host: '10.0.0.2', port: 80 });
         await c.write('hello from the bundle');
         const text = new TextDecoder().decode(await c.read());
         await c.end();
         await c.read();
         c.close();
         a.close(); b.close();
         return text;
       }
       globalThis.__wtcpRun = run;`,
    );
    await build({
      root: web,
      base: './',
      logLevel: 'silent',
      configFile: false,
      build: { outDir: join(web, 'dist'), target: 'es2022', assetsInlineLimit: 0, modulePreload: false },
    });
    const assets = await readdir(join(web, 'dist', 'assets'));
    const wasm = assets.find((f) => f.endsWith('.wasm'));
    const js = assets.find((f) => f.endsWith('.js'));
    expect(wasm).toBeTruthy();
    const bundle = await readFile(join(web, 'dist', 'assets', js), 'utf8');
    expect(bundle).toContain(wasm);
    expect(bundle).not.toMatch(/node:|require\(/);

    // Run the browser bundle here, with fetch() answering from the build output as a web
    // server would (Node's fetch has no file: URLs).
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (url) => {
      const bytes = await readFile(fileURLToPath(new URL(String(url))));
      return new Response(bytes, { headers: { 'content-type': 'application/wasm' } });
    };
    try {
      await import(pathToFileURL(join(web, 'dist', 'assets', js)).href);
      expect(await globalThis.__wtcpRun()).toBe('hello from the bundle');
    } finally {
      globalThis.fetch = realFetch;
    }
  });

  it('type declarations check against a usage sample (tsc --noEmit)', async () => {
    const tsc = join(pkgDir, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '--noEmit', '-p', 'test/types'], { cwd: pkgDir }).catch((e) => e);
    expect(result.stdout ?? '').toBe('');
    expect(result.code ?? 0).toBe(0);
  });
});
