/**
 * The seed's own cdb2rabbit.py (stfc/packuilon usr/local/bin/cdb2rabbit.py at
 * f1b213c, vendored in test/fixtures/seed-bin), run side by side with
 * `packuilon detect` in queue mode on the same site, the same change and the
 * same broker: the reference the queue-mode target is a ratio to (issue 12,
 * item 9). Needs Debian's python3-pika (scripts/bench.sh installs it).
 *
 * The script reads /etc/packer-utils/config.ini; the bench runs a copy whose
 * only change is that path. Its cache (CACHE_DIR: one file per profile plus
 * cached_info.xml) is primed from the pristine site, so a run starts where a
 * seed that had seen the baseline would stand, and the files it rewrites are
 * put back after each run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'test', 'fixtures', 'seed-bin', 'cdb2rabbit.py');
const PYTHON = '/usr/bin/python3';

export interface SeedSite {
  pristine: string;
  indexName: string;
}

export interface SeedRun {
  seconds: number;
  code: number;
  stderr: string;
}

export interface SeedCdb2rabbit {
  queue: string;
  /** One pass over the site as it is now; then the cache is restored for `names` (what the change touched). */
  run(names: readonly string[]): Promise<SeedRun>;
}

/** Why the seed cannot run here, or undefined when it can. */
export function seedUnavailable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import pika'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : 'python3-pika is not installed (apt-get install python3-pika)';
}

export function prepareSeed(options: { dir: string; site: SeedSite; indexUrl: string; profileUrl: string; match: string; amqpUrl: string; queue: string }): SeedCdb2rabbit {
  const { dir, site } = options;
  const cache = join(dir, 'cache');
  const amqp = new URL(options.amqpUrl);
  if (!existsSync(join(cache, 'cached_info.xml'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(cache, { recursive: true });
    const copy = spawnSync('bash', ['-c', 'cp -a --reflink=auto "$1"/. "$2"/', 'cp', site.pristine, cache], { encoding: 'utf8' });
    if (copy.status !== 0) throw new Error(`seed cache copy failed: ${copy.stderr}`);
    rmSync(join(cache, site.indexName), { force: true });
  }
  const config = join(dir, 'config.ini');
  writeFileSync(
    config,
    [
      '[global]',
      `QUEUE = ${options.queue}`,
      `RABBIT_HOST = ${amqp.hostname}`,
      `RABBIT_PORT = ${amqp.port}`,
      `RABBIT_USER = ${decodeURIComponent(amqp.username)}`,
      `RABBIT_PW = ${decodeURIComponent(amqp.password)}`,
      '',
      '[cdb2rabbit]',
      `PROFILE_INFO_URL = ${options.indexUrl}`,
      // The script appends "/" + name itself.
      `PROFILE_DIR_URL = ${options.profileUrl.replace(/\/+$/, '')}`,
      `PROFILE_MATCH = ${options.match}`,
      `CACHE_DIR = ${cache}/`,
      '',
    ].join('\n'),
  );
  const source = readFileSync(SCRIPT, 'utf8');
  if (!source.includes("'/etc/packer-utils/config.ini'")) throw new Error(`${SCRIPT}: the config path to replace is not there`);
  const script = join(dir, 'cdb2rabbit.py');
  writeFileSync(script, source.replace("'/etc/packer-utils/config.ini'", JSON.stringify(config)));

  const restore = (names: readonly string[]) => {
    for (const name of names) copyFileSync(join(site.pristine, name), join(cache, name));
    copyFileSync(join(site.pristine, site.indexName), join(cache, 'cached_info.xml'));
  };
  restore([]);

  return {
    queue: options.queue,
    // Asynchronous: the Aquilon server it downloads from runs in this process.
    async run(names) {
      const started = process.hrtime.bigint();
      const child = spawn(PYTHON, ['-W', 'ignore', script], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const [code] = (await once(child, 'exit')) as [number | null];
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      restore(names);
      return { seconds, code: code ?? 128, stderr };
    },
  };
}
