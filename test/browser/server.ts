/**
 * Static HTTP server for the browser tests (Node `http`, no dependencies).
 *
 * - Serves the built test pages (`/pages/…` from `build/browser-pages`, see build-pages.ts), test fixtures
 *   (`/fixtures/…`), the package build (`/dist/…`) and installed packages (`/node_modules/…`, e.g. ORT's wasm).
 * - `GET /page/<name>` returns a minimal HTML document that loads the module `/pages/<name>.js`.
 * - `isolated: true` adds `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`
 *   to every response, which makes pages `crossOriginIsolated` (SharedArrayBuffer, threaded wasm).
 * - Single `Range: bytes=…` requests are answered with `206` (or `416`), honouring `If-Range`, because the model
 *   loader resumes downloads with them. Multi-range requests get the whole file (`200`), as RFC 9110 allows.
 * - `?abortAfter=N` on any file URL destroys the connection after N body bytes (simulates an interrupted download).
 * - `/corrupt/<path>` serves `/<path>` of the other mounts with byte 100 inverted, except JSON files (a model package
 *   whose manifest is intact but one of whose files is damaged in transit or on the server).
 * - A directory URL ending in `/` serves the directory's `index.html` (a static site under a sub-path, e.g. `/demo/`).
 * - Binds 127.0.0.1 on an automatically chosen port (a secure context for `http:`).
 *
 * Run by hand: `npx tsx test/browser/server.ts [--isolated] [--port 8080]`.
 */
import { createReadStream, readFileSync, statSync, type Stats } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
/** Where build-pages.ts writes the bundled test pages. */
export const PAGES_DIR = join(ROOT, 'build/browser-pages');

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Send COOP/COEP so that pages are cross-origin isolated. */
  readonly isolated: boolean;
  /** URL prefix → directory. Defaults to {@link DEFAULT_MOUNTS}. */
  readonly mounts?: Readonly<Record<string, string>>;
  /** Port to listen on; 0 (default) picks a free one. */
  readonly port?: number;
}

/** A running server. */
export interface TestServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Whether responses carry the isolation headers. */
  readonly isolated: boolean;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** Default mounts: test pages, fixtures, the package build and installed packages. */
export const DEFAULT_MOUNTS: Readonly<Record<string, string>> = {
  '/pages/': PAGES_DIR,
  '/fixtures/': join(ROOT, 'test/fixtures'),
  '/dist/': join(ROOT, 'dist'),
  '/node_modules/': join(ROOT, 'node_modules'),
  '/shared-data/': resolve(ROOT, '../shared/data'),
  '/demo/': join(ROOT, 'build/demo'),
  '/tiny-package-gz/': join(ROOT, 'build/tiny-package-gz'),
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wav': 'audio/wav',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
};

/** Parses a single-range `Range` header against a file size: a `[start, end]` pair (inclusive), `'unsatisfiable'`, or `null` (serve everything). */
export function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return null; // multi-range or another unit: ignore the header
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') return null;
  let start: number;
  let end: number;
  if (from === '') {
    const suffix = Number(to);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(from);
    end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
    if (to !== '' && Number(to) < start) return null; // invalid: ignore
  }
  if (start >= size || size === 0) return 'unsatisfiable';
  return [start, end];
}

function etagOf(stats: Stats): string {
  return `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
}

function pageHtml(name: string): string {
  const safe = name.replace(/[^\w-]/g, '');
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${safe}</title></head><body>\n<script type="module" src="/pages/${safe}.js"></script>\n</body></html>\n`;
}

function resolveFile(mounts: Readonly<Record<string, string>>, pathname: string): string | null {
  for (const [prefix, dir] of Object.entries(mounts)) {
    if (!pathname.startsWith(prefix)) continue;
    const relative = normalize(decodeURIComponent(pathname.slice(prefix.length)));
    const file = resolve(dir, relative);
    if (file !== dir && !file.startsWith(dir + sep)) return null; // path traversal
    return file;
  }
  return null;
}

function handle(request: IncomingMessage, response: ServerResponse, options: Required<ServerOptions>): void {
  if (options.isolated) {
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  }
  response.setHeader('Cache-Control', 'no-store');
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const page = /^\/page\/([\w-]+)$/.exec(url.pathname);
  if (page !== null || url.pathname === '/' || url.pathname === '/index.html') {
    const body = page === null ? '<!doctype html><title>test server</title>\n' : pageHtml(page[1] ?? '');
    response.writeHead(200, { 'Content-Type': TYPES['.html'] ?? '', 'Content-Length': Buffer.byteLength(body) });
    response.end(request.method === 'HEAD' ? undefined : body);
    return;
  }
  const corrupt = url.pathname.startsWith('/corrupt/');
  const path = corrupt ? url.pathname.slice('/corrupt'.length) : url.pathname;
  const file = resolveFile(options.mounts, path.endsWith('/') ? `${path}index.html` : path);
  let stats: Stats | undefined;
  try {
    stats = file === null ? undefined : statSync(file);
  } catch {
    stats = undefined;
  }
  if (file === null || stats === undefined || !stats.isFile()) {
    response.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${url.pathname}\n`);
    return;
  }
  if (corrupt && extname(file) !== '.json') {
    const body = readFileSync(file);
    if (body.length > 100) body[100] = (body[100] ?? 0) ^ 0xff;
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    response.end(request.method === 'HEAD' ? undefined : body);
    return;
  }
  const size = stats.size;
  const etag = etagOf(stats);
  response.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
  response.setHeader('Accept-Ranges', 'bytes');
  response.setHeader('ETag', etag);
  response.setHeader('Last-Modified', stats.mtime.toUTCString());
  const ifRange = request.headers['if-range'];
  const range =
    ifRange === undefined || ifRange === etag || ifRange === stats.mtime.toUTCString()
      ? parseRange(request.headers.range, size)
      : null;
  if (range === 'unsatisfiable') {
    response.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
    return;
  }
  const [start, end] = range ?? [0, size - 1];
  const length = size === 0 ? 0 : end - start + 1;
  if (range === null) response.writeHead(200, { 'Content-Length': length });
  else response.writeHead(206, { 'Content-Length': length, 'Content-Range': `bytes ${start}-${end}/${size}` });
  if (request.method === 'HEAD' || length === 0) {
    response.end();
    return;
  }
  const abortAfter = url.searchParams.get('abortAfter');
  const limit = abortAfter === null ? Infinity : Number(abortAfter);
  const stream = createReadStream(file, { start, end: limit < length ? start + Math.max(0, limit) - 1 : end });
  if (limit < length) {
    stream.on('end', () => response.destroy());
    stream.pipe(response, { end: false });
  } else {
    stream.pipe(response);
  }
}

/** Starts a server; see the module comment. */
export async function startServer(options: ServerOptions): Promise<TestServer> {
  const resolved: Required<ServerOptions> = {
    isolated: options.isolated,
    mounts: options.mounts ?? DEFAULT_MOUNTS,
    port: options.port ?? 0,
  };
  const server = createServer((request, response) => {
    handle(request, response, resolved);
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(resolved.port, '127.0.0.1', () => {
      done();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    isolated: resolved.isolated,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => {
          done();
        });
      }),
  };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const portIndex = process.argv.indexOf('--port');
  const server = await startServer({
    isolated: process.argv.includes('--isolated'),
    port: portIndex > 0 ? Number(process.argv[portIndex + 1]) : 0,
  });
  console.log(`serving ${server.isolated ? 'cross-origin isolated ' : ''}at ${server.url}`);
}
