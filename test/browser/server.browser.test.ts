/**
 * The test server itself, seen from the browser: isolation headers per project, byte ranges as the model loader
 * uses them (206 / 416 / If-Range), interrupted bodies, and path traversal refused.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from './fixtures.ts';
import { ROOT } from './server.ts';

const FIXTURE = 'test/fixtures/README.md';

test('isolation headers make the page crossOriginIsolated exactly in the isolated project', async ({
  openPage,
  isolated,
}) => {
  const page = await openPage('playback');
  const state = await page.evaluate(() => ({
    isolated: crossOriginIsolated,
    sab: typeof SharedArrayBuffer === 'function',
  }));
  expect(state).toEqual({ isolated, sab: isolated });
});

test('Range requests: 206 with Content-Range, suffix ranges, 416, If-Range, abortAfter', async ({ openPage }) => {
  const page = await openPage('playback');
  const bytes = readFileSync(join(ROOT, FIXTURE));
  const size = bytes.length;
  const r = await page.evaluate(async (path) => {
    const get = async (headers: Record<string, string>, query = '') => {
      const response = await fetch(`/${path.replace('test/', '')}${query}`, { headers });
      let body: number[] | string;
      try {
        body = Array.from(new Uint8Array(await response.arrayBuffer()));
      } catch (error) {
        body = String(error);
      }
      return {
        status: response.status,
        range: response.headers.get('content-range'),
        length: response.headers.get('content-length'),
        etag: response.headers.get('etag'),
        body,
      };
    };
    const full = await get({});
    return {
      full,
      middle: await get({ Range: 'bytes=10-19' }),
      open: await get({ Range: 'bytes=100-' }),
      suffix: await get({ Range: 'bytes=-5' }),
      beyond: await get({ Range: 'bytes=999999999-' }),
      ifRangeMatch: await get({ Range: 'bytes=0-3', 'If-Range': full.etag ?? '' }),
      ifRangeStale: await get({ Range: 'bytes=0-3', 'If-Range': '"stale"' }),
      aborted: await get({}, '?abortAfter=7'),
      traversal: (await fetch('/fixtures/..%2F..%2Fpackage.json')).status,
    };
  }, FIXTURE);
  const slice = (start: number, end: number): number[] => Array.from(bytes.subarray(start, end));
  expect(r.full.status).toBe(200);
  expect(r.full.body).toEqual(slice(0, size));
  expect(r.middle).toMatchObject({ status: 206, range: `bytes 10-19/${size}`, length: '10', body: slice(10, 20) });
  expect(r.open).toMatchObject({ status: 206, range: `bytes 100-${size - 1}/${size}`, body: slice(100, size) });
  expect(r.suffix).toMatchObject({
    status: 206,
    range: `bytes ${size - 5}-${size - 1}/${size}`,
    body: slice(size - 5, size),
  });
  expect(r.beyond).toMatchObject({ status: 416, range: `bytes */${size}` });
  expect(r.ifRangeMatch).toMatchObject({ status: 206, body: slice(0, 4) });
  expect(r.ifRangeStale).toMatchObject({ status: 200, body: slice(0, size) });
  expect(r.aborted.status).toBe(200);
  expect(typeof r.aborted.body).toBe('string'); // the body fails mid-way: a network error, not a short success
  expect(r.traversal).toBe(404);
});
