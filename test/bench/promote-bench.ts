// `ci promote` of one image whose predecessor has 50 members, on a real
// Keystone + Glance (test/support/openstack.ts): median wall time of the
// promote flow (read state, plan, apply: rename, 50 members added and
// accepted, warehouse, deactivate). Set-up of the images is not timed.
//   node --import tsx test/bench/promote-bench.ts [--members N] [--runs R]
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/shared/log.js';
import { createGlance, createSession, resolveCredentials } from '../../src/openstack/index.js';
import { promote } from '../../src/flows/promote.js';
import { sharedOpenstack, openrc } from '../support/openstack.js';

const { values } = parseArgs({ options: { members: { type: 'string', default: '50' }, runs: { type: 'string', default: String(process.env.BENCH_RUNS ?? 3) } } });
const memberCount = Number(values.members);
const runs = Number(values.runs);
const { info, release } = await sharedOpenstack();
const log = silentLogger();
try {
  const env = openrc(info, 'image-admin');
  const glance = createGlance(createSession({ credentials: resolveCredentials({ env, cwd: '/nonexistent' }), log }));
  const admin = createSession({ credentials: resolveCredentials({ env: openrc(info, 'admin'), cwd: '/nonexistent' }), log });
  const token = await admin.token();
  const projects: string[] = [];
  for (let i = 0; i < memberCount; i++) {
    const response = await fetch(`${info.authUrl}/projects`, {
      method: 'POST', headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ project: { name: `bench-${process.pid}-${i}`, domain_id: 'default' } }),
    });
    projects.push(((await response.json()) as { project: { id: string } }).project.id);
  }
  const repo = await mkdtemp(join(tmpdir(), 'packuilon-promote-bench-'));
  await mkdir(join(repo, 'images', 'bench-sl7x-x86_64'), { recursive: true });
  const loaded = loadConfig({ env: {}, cwd: repo });
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const name = `bench-${process.pid}-${run}`;
    const older = await glance.create({ name, disk_format: 'raw', container_format: 'bare', AQ_OS: 'sl' });
    await glance.upload(older.id, Buffer.from('old'));
    for (const project of projects) {
      await glance.addMember(older.id, project);
      await glance.setMemberStatus(older.id, project, 'accepted');
    }
    const candidate = await glance.create({ name: `Next-${name}`, disk_format: 'raw', container_format: 'bare' });
    await glance.upload(candidate.id, Buffer.from('new'));
    await writeFile(join(repo, 'images', 'bench-sl7x-x86_64', 'image.json'), JSON.stringify({ profiles: { 'h.example.org': 'sha256:00' } }));
    const started = performance.now();
    const report = await promote({ loaded, env, cwd: repo, log, key: 'bench-sl7x-x86_64', imageIds: [candidate.id] });
    const ms = performance.now() - started;
    times.push(ms);
    process.stdout.write(`run ${run + 1}: ${(ms / 1000).toFixed(2)} s, ${report.changes.length} changes\n`);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  process.stdout.write(`ci promote, 1 image, ${memberCount} members: median ${(median / 1000).toFixed(2)} s of ${runs} runs (min ${(times[0]! / 1000).toFixed(2)}, max ${(times[times.length - 1]! / 1000).toFixed(2)})\n`);
} finally {
  await release();
}
