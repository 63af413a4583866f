import { iniValue, type IniFile } from './ini.js';
import type { MigrateReport, Trigger } from './report.js';

// The mapping table from the seed's config.ini to packuilon.yaml. Every known
// key is either mapped or left behind with the reason; values of keys left
// behind are never repeated (RABBIT_PW, Slack hook URLs are secrets).

type Mapped = { to: string };
type Dropped = { reason: string };

const CREDENTIALS = 'OpenStack credentials: Packuilon reads clouds.yaml / OS_* variables (openstack.cloud), never a file in the repo';
const NOTIFY = 'notifications come from the GitLab pipeline (pipeline e-mails, integrations)';
const RALLY = 'the Rally helpers are replaced by `packuilon ci test`';

export const SETTING_RULES: Record<string, Mapped | Dropped> = {
  'global.QUEUE': { to: 'queue.name' },
  'global.RABBIT_HOST': { to: 'queue.url' },
  'global.RABBIT_PORT': { to: 'queue.url' },
  'global.RABBIT_USER': { to: 'queue.url' },
  'global.RABBIT_PW': { reason: 'a secret, never written: give it through the environment, PACKUILON_QUEUE_URL (or queue.password_env)' },
  'global.SUCCESS_ADDRESS': { reason: NOTIFY },
  'global.FAILURE_ADDRESS': { reason: NOTIFY },
  'global.SLACK_SUCCESS_HOOK': { reason: `${NOTIFY}; GitLab's Slack integration replaces the hook` },
  'global.SLACK_FAILURE_HOOK': { reason: `${NOTIFY}; GitLab's Slack integration replaces the hook` },
  'cdb2rabbit.PROFILE_INFO_URL': { to: 'aquilon.index_url' },
  'cdb2rabbit.PROFILE_DIR_URL': { to: 'aquilon.profile_url' },
  'cdb2rabbit.PROFILE_MATCH': { to: 'aquilon.match' },
  'cdb2rabbit.CACHE_DIR': { reason: 'Packuilon keeps its own detector state (state_dir); run `packuilon detect --baseline` once so it does not rebuild everything' },
  'rabbit2packer.THREAD_COUNT': { reason: 'builds run as CI jobs: their parallelism is the GitLab runner\'s `concurrent`; queue.prefetch keeps its default' },
  'rabbit2packer.LOG_DIR': { reason: 'build logs are CI job logs and artifacts' },
  'rabbit2packer.BUILD_FILE_DIR': { reason: 'rendered build files are committed under images/<key>/' },
  'rabbit2packer.PACKER_ADMIN_AUTH': { reason: CREDENTIALS },
  'rabbit2packer.PACKER_ADMIN_AUTH_FILE': { reason: CREDENTIALS },
  'rabbit2packer.PACKER_AUTH_FILE': { reason: CREDENTIALS },
  'rabbit2packer.PACKER_TEMPLATE_MAP': { to: 'templates.map' },
  'rabbit2packer.IMAGES_CONFIG': { to: 'templates.sources' },
  'rabbit2packer.PACKER_PATH': { reason: '`packuilon ci build` runs the `packer` on the CI job\'s PATH' },
  'rally-image-testing.DEPLOYMENT_UUID': { reason: `${RALLY}; set rally.env to an existing Rally env if you want one` },
  'rally-image-testing.RALLY_CODE_FOLDER': { reason: RALLY },
  'rally-image-testing.TASK_LOCATION': { reason: `${RALLY}; its task is templates/rally/boot-and-delete.yaml (rally.task)` },
  'rally-image-testing.LOG_DIR': { reason: `${RALLY}; its reports are CI artifacts (JUnit)` },
};

/** The keys that name credential files: they are never copied, even when a template names them. */
export const CREDENTIAL_KEYS = ['rabbit2packer.PACKER_ADMIN_AUTH', 'rabbit2packer.PACKER_ADMIN_AUTH_FILE', 'rabbit2packer.PACKER_AUTH_FILE'];

export interface MappedSettings {
  /** packuilon.yaml, before the templates section is added. */
  config: { aquilon?: Record<string, string>; trigger: Trigger; queue?: Record<string, string> };
  templateMap: string | undefined;
  sourceImages: string | undefined;
  credentialFiles: string[];
  /** Settings whose secrets must come from the environment instead. */
  secretEnvironment: SecretEnvironment[];
}

export interface SecretEnvironment {
  variable: string;
  setting: string;
}

/** `scheme://` + everything up to the last `@` before the path: a URL's user and password. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/\s]*@/i;

type Report = Pick<MigrateReport, 'mapped' | 'notMapped' | 'warnings'>;

export function mapSettings(ini: IniFile, trigger: Trigger, report: Report): MappedSettings {
  const get = (id: string): string | undefined => {
    const [section, key] = splitId(id);
    const value = iniValue(ini, section, key)?.trim();
    return value === '' ? undefined : value;
  };
  const seen = new Set<string>();
  for (const entry of ini.entries) {
    const id = `${entry.section}.${entry.key}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const rule = SETTING_RULES[id];
    if (!rule) report.notMapped.push({ item: id, reason: 'unknown setting (line ' + entry.line + ')' });
    else if ('reason' in rule) report.notMapped.push({ item: id, reason: rule.reason });
    else if (get(id) === undefined && id !== 'cdb2rabbit.PROFILE_MATCH') report.notMapped.push({ item: id, reason: 'empty' });
  }
  const mapped = (id: string, to: string) => report.mapped.push({ setting: id, to });

  const aquilon: Record<string, string> = {};
  const secretEnvironment: SecretEnvironment[] = [];
  for (const [id, key] of [['cdb2rabbit.PROFILE_INFO_URL', 'index_url'], ['cdb2rabbit.PROFILE_DIR_URL', 'profile_url']] as const) {
    const value = get(id);
    if (value === undefined) continue;
    // A user (or token) and password in the URL are secrets: the file gets the URL without them,
    // the environment variable of that key the whole URL (it beats the file).
    const bare = value.replace(USERINFO, '$1');
    if (bare !== value) {
      const variable = `PACKUILON_AQUILON_${key.toUpperCase()}`;
      secretEnvironment.push({ variable, setting: id });
      report.warnings.push(`${id} carries credentials: aquilon.${key} is written without them; set ${variable} to the whole URL, credentials included, where Packuilon runs (an environment file of mode 0600, never the repo)`);
    }
    aquilon[key] = bare;
    mapped(id, `aquilon.${key}`);
  }
  // An empty PROFILE_MATCH meant "all profiles" in the seed, as it does here.
  const match = iniValue(ini, 'cdb2rabbit', 'PROFILE_MATCH');
  if (match !== undefined) {
    aquilon.match = match.trim();
    mapped('cdb2rabbit.PROFILE_MATCH', 'aquilon.match');
  }

  const queue: Record<string, string> = {};
  const url = brokerUrl(get, report);
  if (url) queue.url = url;
  const name = get('global.QUEUE');
  if (name !== undefined) {
    queue.name = name;
    mapped('global.QUEUE', 'queue.name');
  }
  if (trigger === 'queue' && !url) report.warnings.push('trigger is queue but config.ini names no RABBIT_HOST: queue.url keeps its default (amqp://guest@127.0.0.1:5672/)');

  const templateMap = get('rabbit2packer.PACKER_TEMPLATE_MAP');
  if (templateMap) mapped('rabbit2packer.PACKER_TEMPLATE_MAP', 'templates.map');
  const sourceImages = get('rabbit2packer.IMAGES_CONFIG');
  if (sourceImages) mapped('rabbit2packer.IMAGES_CONFIG', 'templates.sources');

  return {
    config: {
      ...(Object.keys(aquilon).length ? { aquilon } : {}),
      trigger,
      ...(Object.keys(queue).length ? { queue } : {}),
    },
    templateMap,
    sourceImages,
    credentialFiles: CREDENTIAL_KEYS.map(get).filter((value): value is string => value !== undefined),
    secretEnvironment,
  };
}

/** `amqp://USER@HOST:PORT/`: the password (RABBIT_PW) never goes in. */
function brokerUrl(get: (id: string) => string | undefined, report: Report): string | undefined {
  const host = get('global.RABBIT_HOST');
  if (host === undefined) return undefined;
  const user = get('global.RABBIT_USER');
  let port = get('global.RABBIT_PORT');
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    report.notMapped.push({ item: 'global.RABBIT_PORT', reason: 'not a port number: queue.url uses the AMQP default, 5672' });
    port = undefined;
  }
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const url = `amqp://${user ? `${encodeURIComponent(user)}@` : ''}${hostPart}${port ? `:${port}` : ''}/`;
  try {
    if (new URL(url).hostname === '') throw new Error('no host');
  } catch {
    report.notMapped.push({ item: 'global.RABBIT_HOST', reason: 'not a host name: queue.url keeps its default' });
    return undefined;
  }
  report.mapped.push({ setting: 'global.RABBIT_HOST', to: 'queue.url' });
  if (port) report.mapped.push({ setting: 'global.RABBIT_PORT', to: 'queue.url' });
  if (user) report.mapped.push({ setting: 'global.RABBIT_USER', to: 'queue.url' });
  return url;
}

function splitId(id: string): [string, string] {
  const dot = id.lastIndexOf('.');
  return [id.slice(0, dot), id.slice(dot + 1)];
}
