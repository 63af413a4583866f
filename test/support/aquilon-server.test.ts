import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { startAquilonServer, type AquilonServer } from './aquilon-server.js';

const SITE = fileURLToPath(new URL('../../examples/site/profiles/', import.meta.url));
const INDEX = 'profiles-info.xml';
const SL7 = 'nubesvms-sl7x-x86-64.cloud.template.json';
const GZ = 'grid-worker-rocky8x-x86-64.cloud.template.json.gz';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Raw request: the path goes out as given (fetch() and URL strings normalise '..' away). */
function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((ok, fail) => {
    const { hostname, port } = new URL(base);
    const req = request({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

function indexNames(xml: string): string[] {
  return [...xml.matchAll(/<profile mtime='(\d+)'>([^<]+)<\/profile>/g)].map((m) => String(m[2]));
}

describe('aquilon-server', () => {
  let aq: AquilonServer;
  before(async () => {
    aq = await startAquilonServer({ dir: SITE });
  });
  after(async () => {
    await aq.close();
  });

  it('serves the index and profiles under /profiles/', async () => {
    assert.match(aq.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(aq.indexUrl, `${aq.url}/profiles/profiles-info.xml`);
    assert.equal(aq.profileUrl, `${aq.url}/profiles/`);
    const index = await fetch(aq.indexUrl);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'application/xml');
    assert.equal(await index.text(), readFileSync(`${SITE}${INDEX}`, 'utf8'));
    const profile = await fetch(new URL(SL7, aq.profileUrl));
    assert.equal(profile.headers.get('content-type'), 'application/json');
    assert.ok(profile.headers.get('last-modified'));
    const json = (await profile.json()) as { system: { network: { hostname: string } } };
    assert.equal(json.system.network.hostname, 'nubesvms-sl7x-x86-64');
  });

  it('serves profiles in subdirectories (clusters/…)', async () => {
    const res = await fetch(new URL('clusters/ceph-r89-prod.json', aq.profileUrl));
    assert.equal(res.status, 200);
  });

  it('serves .json.gz as raw gzip bytes, not content-encoded', async () => {
    const res = await get(aq.url, `/profiles/${GZ}`, { 'Accept-Encoding': 'gzip' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/gzip');
    assert.equal(res.headers['content-encoding'], undefined);
    assert.deepEqual(res.body, readFileSync(`${SITE}${GZ}`));
    const profile = JSON.parse(gunzipSync(res.body).toString('utf8')) as { system: { personality: { name: string } } };
    assert.equal(profile.system.personality.name, 'grid-worker');
  });

  it('does not compress unless asked to', async () => {
    const res = await get(aq.url, `/profiles/${SL7}`, { 'Accept-Encoding': 'gzip' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.deepEqual(res.body, readFileSync(`${SITE}${SL7}`));
  });

  it('answers 404 for missing files and directories', async () => {
    assert.equal((await get(aq.url, '/profiles/nope.json')).status, 404);
    assert.equal((await get(aq.url, '/profiles/clusters')).status, 404);
    assert.equal((await get(aq.url, '/profiles/')).status, 404);
    assert.equal((await get(aq.url, '/package.json')).status, 404);
  });

  it('rejects .. paths, plain and percent-encoded', async () => {
    for (const path of ['/profiles/../../package.json', '/profiles/%2e%2e/%2e%2e/package.json', '/profiles/clusters/..%2f..%2fREADME.md', '/profiles/%2e%2e%5cx']) {
      const res = await get(aq.url, path);
      assert.equal(res.status, 400, path);
    }
  });

  it('supports HEAD and If-Modified-Since', async () => {
    const head = await get(aq.url, `/profiles/${SL7}`, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(Number(head.headers['content-length']), readFileSync(`${SITE}${SL7}`).length);
    const lastModified = String(head.headers['last-modified']);
    assert.equal((await get(aq.url, `/profiles/${SL7}`, { 'If-Modified-Since': lastModified })).status, 304);
    assert.equal((await get(aq.url, '/profiles/x', {}, 'POST')).status, 405);
  });

  it('counts requests per path', async () => {
    const before = aq.requests.get(INDEX) ?? 0;
    await fetch(aq.indexUrl);
    await fetch(aq.indexUrl);
    assert.equal(aq.requests.get(INDEX), before + 2);
    await get(aq.url, '/elsewhere');
    assert.equal(aq.requests.get('/elsewhere'), 1);
  });

  it('failNext fails the next N requests, then recovers', async () => {
    aq.failNext(INDEX, 2, 503);
    assert.equal((await fetch(aq.indexUrl)).status, 503);
    assert.equal((await fetch(aq.indexUrl)).status, 503);
    assert.equal((await fetch(aq.indexUrl)).status, 200);
    aq.failNext(`/profiles/${SL7}`, 1);
    assert.equal((await fetch(new URL(SL7, aq.profileUrl))).status, 500);
    assert.equal((await fetch(new URL(SL7, aq.profileUrl))).status, 200);
  });

  it('delay slows a path down until removed', async () => {
    aq.delay(SL7, 150);
    let t = Date.now();
    await fetch(new URL(SL7, aq.profileUrl));
    assert.ok(Date.now() - t >= 140, 'delayed');
    aq.delay(SL7, 0);
    t = Date.now();
    await fetch(new URL(SL7, aq.profileUrl));
    assert.ok(Date.now() - t < 140, 'not delayed');
  });

  it('a short client timeout sees a delayed server as a timeout', async () => {
    aq.delay(INDEX, 300);
    await assert.rejects(fetch(aq.indexUrl, { signal: AbortSignal.timeout(50) }), { name: 'TimeoutError' });
    aq.delay(INDEX, 0);
  });
});

describe('aquilon-server with gzip', () => {
  let aq: AquilonServer;
  before(async () => {
    aq = await startAquilonServer({ dir: SITE, gzip: true });
  });
  after(async () => {
    await aq.close();
  });

  it('content-encodes when the client accepts gzip', async () => {
    const res = await get(aq.url, `/profiles/${INDEX}`, { 'Accept-Encoding': 'gzip, deflate' });
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers.vary, 'Accept-Encoding');
    assert.equal(gunzipSync(res.body).toString('utf8'), readFileSync(`${SITE}${INDEX}`, 'utf8'));
  });

  it('sends identity when gzip is not accepted', async () => {
    for (const accept of [undefined, 'identity', 'gzip;q=0']) {
      const res = await get(aq.url, `/profiles/${INDEX}`, accept ? { 'Accept-Encoding': accept } : {});
      assert.equal(res.headers['content-encoding'], undefined, String(accept));
      assert.equal(res.body.toString('utf8'), readFileSync(`${SITE}${INDEX}`, 'utf8'));
    }
  });

  it('fetch() decodes it transparently', async () => {
    const res = await fetch(new URL(SL7, aq.profileUrl));
    assert.equal(await res.text(), readFileSync(`${SITE}${SL7}`, 'utf8'));
  });

  it('still serves .json.gz raw', async () => {
    const res = await get(aq.url, `/profiles/${GZ}`, { 'Accept-Encoding': 'gzip' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.deepEqual(res.body, readFileSync(`${SITE}${GZ}`));
  });
});

describe('examples/site fixture', () => {
  const xml = readFileSync(`${SITE}${INDEX}`, 'utf8');

  it('has the index in the format aquilon writes', () => {
    assert.ok(xml.startsWith("<?xml version='1.0' encoding='utf-8'?>\n<profiles>\n"));
    assert.ok(xml.endsWith('\n</profiles>'), 'no trailing newline, as build_index joins lines with \\n');
  });

  it('lists only files that exist and parse, with the fields packuilon reads', () => {
    const names = indexNames(xml);
    assert.equal(names.length, 8);
    for (const name of names) {
      const raw = readFileSync(`${SITE}${name}`);
      const profile = JSON.parse((name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as {
        metadata: { template: { branch: { type: string; name: string; author?: string } } };
        system: { personality: { name: string }; archetype: { name: string }; os?: { distribution: { name: string } } };
      };
      assert.ok(['domain', 'sandbox'].includes(profile.metadata.template.branch.type), name);
      assert.ok(profile.system.personality.name, name);
      if (name.startsWith('clusters/')) assert.equal(profile.system.os, undefined);
      else assert.ok(profile.system.os?.distribution.name, name);
    }
    const matching = names.filter((n) => n.includes('.cloud.template.json'));
    assert.equal(matching.length, 5);
  });
});
