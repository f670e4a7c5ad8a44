/**
 * Bundler integration run (`npm run test:integration`, house style §11 "Integration"): proves that the package as
 * published works in real consumer apps.
 *
 * 1. `npm run build`, then `npm pack` into `build/integration/`, and checks the tarball (see {@link verifyTarball}).
 * 2. Copies each app of `test/integration/<app>/` (sources only) to a work directory OUTSIDE the repository, so that
 *    module resolution cannot fall back to the repository's own node_modules and hide a missing dependency, and
 *    installs the tarball there: `npm install --no-audit --no-fund --no-save <tarball>` (plus the app's pinned
 *    devDependencies: vite / webpack). Only the npm registry (or npm's cache) is used.
 * 3. Builds each app for production (`npm run build` in the app).
 * 4. Runs the Playwright spec `test/integration/*.integration.test.ts` (own config, so `npm run test:browser` is not
 *    affected) against the built apps, the Vite dev server and bare Node (SSR import).
 *
 * Options: `--skip-build` (reuse dist/ as it is), `--skip-install` (reuse the installed apps; only rebuild them),
 * `--no-test` (prepare only). The work directory is `$COSYVOICE_INTEGRATION_DIR`, else `<tmpdir>/cosyvoice-web-integration`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the tarball is packed. */
export const PACK_DIR = join(ROOT, 'build/integration');
/** The apps under test/integration/. */
export const APPS = ['vite-app', 'webpack-app'] as const;
/** Work directory holding the installed and built apps (read by the Playwright spec too). */
export const WORK_DIR = process.env['COSYVOICE_INTEGRATION_DIR'] ?? join(tmpdir(), 'cosyvoice-web-integration');

/** Files of an app that are copied (its sources), i.e. everything but installs and outputs. */
const SKIP = new Set(['node_modules', 'dist', 'package-lock.json']);

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    throw new Error(`\`${command} ${args.join(' ')}\` failed in ${cwd} (exit ${result.status ?? result.signal})`);
  }
  return result.stdout;
}

async function step<T>(label: string, action: () => T | Promise<T>): Promise<T> {
  const start = performance.now();
  process.stdout.write(`integration: ${label}…\n`);
  const value = await action();
  process.stdout.write(`integration: ${label} done in ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
  return value;
}

/** What `npm pack --json` reports. */
interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: ReadonlyArray<{ readonly path: string }>;
}

/** Paths the package must not publish beyond its build: anything outside these. */
const ALLOWED = [/^dist\/esm\//, /^(package\.json|README\.md|LICENSE|NOTICE)$/];

/**
 * Checks the packed file list: only `dist/esm/**` and the metadata files; every `exports` target present; every
 * default worker URL literal of `spawn-worker.js` pointing at a published file; the worklet file present. Returns
 * the problems (empty when fine).
 */
export function verifyTarball(pack: PackResult, manifest: { exports: Record<string, unknown> }): string[] {
  const files = new Set(pack.files.map((f) => f.path));
  const problems: string[] = [];
  for (const file of files) {
    if (!ALLOWED.some((re) => re.test(file))) problems.push(`unexpected file in the package: ${file}`);
  }
  const targets = (value: unknown): string[] =>
    typeof value === 'string'
      ? [value]
      : typeof value === 'object' && value !== null
        ? Object.values(value).flatMap(targets)
        : [];
  for (const [key, value] of Object.entries(manifest.exports)) {
    for (const target of targets(value)) {
      const path = posix.normalize(target);
      if (path.includes('*')) {
        const prefix = path.slice(0, path.indexOf('*'));
        if (![...files].some((f) => f.startsWith(prefix)))
          problems.push(`exports["${key}"] matches no file: ${target}`);
      } else if (!files.has(path)) {
        problems.push(`exports["${key}"] → missing file ${target}`);
      }
    }
  }
  const spawn = 'dist/esm/src/core/spawn-worker.js';
  const source = readFileSync(join(ROOT, spawn), 'utf8');
  const urls = [...source.matchAll(/new Worker\(new URL\('([^']+)', import\.meta\.url\)/g)].map((m) => m[1] ?? '');
  if (urls.length === 0) problems.push(`${spawn}: no literal \`new Worker(new URL('…', import.meta.url))\` left`);
  for (const url of urls) {
    const path = posix.join(posix.dirname(spawn), url);
    if (!files.has(path)) problems.push(`${spawn} starts ${url}, which is not in the package (${path})`);
  }
  return problems;
}

/** Files every app carries as identical copies (each app stays a self-contained folder). */
const SHARED_FILES = ['src/main.js', 'ssr-check.js'];

/** Throws unless the apps' copies of {@link SHARED_FILES} are identical. */
function checkSharedFiles(): void {
  for (const file of SHARED_FILES) {
    const [first, ...rest] = APPS.map((app) => readFileSync(join(ROOT, 'test/integration', app, file), 'utf8'));
    if (rest.some((text) => text !== first)) throw new Error(`test/integration/*/${file} differ: keep them identical`);
  }
}

/** Copies an app's sources to the work directory (fresh unless `keepInstall`). */
function copyApp(app: string, keepInstall: boolean): string {
  const from = join(ROOT, 'test/integration', app);
  const to = join(WORK_DIR, app);
  if (!keepInstall) rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    if (SKIP.has(entry)) continue;
    rmSync(join(to, entry), { recursive: true, force: true });
    cpSync(join(from, entry), join(to, entry), { recursive: true });
  }
  return to;
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const started = performance.now();
  checkSharedFiles();
  if (!args.has('--skip-build')) await step('npm run build', () => run('npm', ['run', 'build'], ROOT));

  const tarball = await step('npm pack', () => {
    rmSync(PACK_DIR, { recursive: true, force: true });
    mkdirSync(PACK_DIR, { recursive: true });
    const out = run('npm', ['pack', '--json', '--pack-destination', PACK_DIR], ROOT);
    const [pack] = JSON.parse(out.slice(out.indexOf('['))) as PackResult[];
    if (pack === undefined) throw new Error('npm pack reported nothing');
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    const problems = verifyTarball(pack, manifest);
    if (problems.length > 0) throw new Error(`the packed tarball is wrong:\n  ${problems.join('\n  ')}`);
    const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
    process.stdout.write(
      `integration: ${pack.filename}: ${pack.files.length} files, ${mb(pack.size)} packed, ${mb(pack.unpackedSize)} unpacked\n`,
    );
    return join(PACK_DIR, pack.filename);
  });

  for (const app of APPS) {
    const dir = join(WORK_DIR, app);
    if (args.has('--skip-install') && existsSync(join(dir, 'node_modules/cosyvoice-web'))) {
      copyApp(app, true);
    } else {
      await step(`${app}: npm install`, () => {
        copyApp(app, false);
        run('npm', ['install', '--no-audit', '--no-fund', '--no-save', tarball], dir);
      });
    }
    await step(`${app}: production build`, () => {
      rmSync(join(dir, 'dist'), { recursive: true, force: true });
      run('npm', ['run', 'build'], dir);
      if (!statSync(join(dir, 'dist/index.html')).isFile()) throw new Error(`${app}: no dist/index.html`);
    });
  }

  if (!args.has('--no-test')) {
    await step('playwright (test/integration)', () => {
      const result = spawnSync('npx', ['playwright', 'test', '-c', 'test/integration/playwright.config.ts'], {
        cwd: ROOT,
        stdio: 'inherit',
        env: { ...process.env, COSYVOICE_INTEGRATION_DIR: WORK_DIR },
      });
      if (result.status !== 0) throw new Error(`the integration spec failed (exit ${result.status ?? result.signal})`);
    });
  }
  process.stdout.write(`integration: total ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`integration: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
