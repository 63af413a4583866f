// Credentials the OpenStack way: a cloud of clouds.yaml (+ secure.yaml) named
// by OS_CLOUD or openstack.cloud, else the OS_* variables of an openrc file.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../shared/errors.js';
import { formatIssues } from '../shared/zod.js';
import { CloudEntry, CloudsFile } from './schema.js';

type Ref = { id: string } | { name: string; domain: { id: string } | { name: string } };
type DomainRef = { id: string } | { name: string };

export type AuthMethod =
  | { type: 'password'; user: Ref; password: string }
  | { type: 'application_credential'; id?: string; name?: string; user?: Ref; secret: string };

export interface Credentials {
  /** Where they came from, for messages: `cloud packuilon (/etc/openstack/clouds.yaml)` or `the OS_* variables`. */
  source: string;
  /** `user builder` / `application credential 1f2e…`: who, never the secret. */
  who: string;
  authUrl: string;
  method: AuthMethod;
  scope?: { project: Ref } | { domain: DomainRef } | undefined;
  region?: string | undefined;
  interface: string;
}

export interface CredentialOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** openstack.cloud from packuilon.yaml (OS_CLOUD wins). */
  cloud?: string | undefined;
  /** openstack.interface / openstack.region from packuilon.yaml (the cloud's own or OS_* values win). */
  interface?: string | undefined;
  region?: string | undefined;
}

/** clouds.yaml / secure.yaml search order of openstacksdk. */
export function cloudFiles(env: NodeJS.ProcessEnv, cwd: string, base: 'clouds' | 'secure'): string[] {
  const explicit = base === 'clouds' ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE;
  const home = env.HOME || homedir();
  const dirs = [cwd, join(env.XDG_CONFIG_HOME || join(home, '.config'), 'openstack'), '/etc/openstack'];
  return [...(explicit ? [explicit] : []), ...dirs.flatMap((d) => [join(d, `${base}.yaml`), join(d, `${base}.yml`)])];
}

function readCloud(file: string, name: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = CloudsFile.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(formatIssues(file, parsed.error));
  const cloud = parsed.data.clouds[name];
  if (cloud === undefined) return undefined;
  if (!cloud || typeof cloud !== 'object' || Array.isArray(cloud)) throw new ConfigError(`${file}: clouds.${name}: expected a mapping`);
  return cloud as Record<string, unknown>;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    out[key] = value && typeof value === 'object' && !Array.isArray(value) && prior && typeof prior === 'object' && !Array.isArray(prior)
      ? merge(prior as Record<string, unknown>, value as Record<string, unknown>)
      : value;
  }
  return out;
}

/** Resolve the credentials; a ConfigError names the file or variable that is wrong or missing. */
export function resolveCredentials(options: CredentialOptions): Credentials {
  const { env } = options;
  const name = env.OS_CLOUD || options.cloud;
  if (name) {
    const file = cloudFiles(env, options.cwd, 'clouds').find((f) => readCloud(f, name) !== undefined);
    if (file) {
      const secureFile = cloudFiles(env, options.cwd, 'secure').find((f) => readCloud(f, name) !== undefined);
      const raw = merge(readCloud(file, name)!, secureFile ? readCloud(secureFile, name)! : {});
      const parsed = CloudEntry.safeParse(raw);
      if (!parsed.success) throw new ConfigError(formatIssues(`${file}: clouds.${name}`, parsed.error));
      return fromCloud(parsed.data, `cloud ${name} (${file}${secureFile ? ` + ${secureFile}` : ''})`, options);
    }
    if (env.OS_CLOUD || !env.OS_AUTH_URL) {
      throw new ConfigError(`OpenStack cloud ${JSON.stringify(name)} (${env.OS_CLOUD ? 'OS_CLOUD' : 'openstack.cloud'}) is in no clouds.yaml (looked in ${cloudFiles(env, options.cwd, 'clouds').join(', ')})${env.OS_AUTH_URL ? '' : ', and OS_AUTH_URL is not set'}`);
    }
  }
  return fromEnvironment(env, options);
}

function fromCloud(cloud: CloudEntry, source: string, options: CredentialOptions): Credentials {
  const a = cloud.auth;
  const where = `${source}: auth`;
  if (!a.auth_url) throw new ConfigError(`${where}.auth_url: missing`);
  const appCred = cloud.auth_type === 'v3applicationcredential' || cloud.auth_type === 'application_credential' || !!a.application_credential_secret;
  return build(source, {
    authUrl: a.auth_url,
    appCred,
    userId: a.user_id,
    username: a.username,
    password: a.password,
    userDomainId: a.user_domain_id ?? a.domain_id,
    userDomainName: a.user_domain_name ?? a.domain_name,
    projectId: a.project_id,
    projectName: a.project_name,
    projectDomainId: a.project_domain_id ?? a.domain_id,
    projectDomainName: a.project_domain_name ?? a.domain_name,
    domainId: a.domain_id,
    domainName: a.domain_name,
    appCredId: a.application_credential_id,
    appCredName: a.application_credential_name,
    appCredSecret: a.application_credential_secret,
    region: cloud.region_name ?? options.region,
    interface: cloud.interface ?? options.interface,
    fields: { password: `${where}.password`, secret: `${where}.application_credential_secret`, user: `${where}.username` },
  });
}

function fromEnvironment(env: NodeJS.ProcessEnv, options: CredentialOptions): Credentials {
  const v = (name: string) => env[name] || undefined;
  if (!v('OS_AUTH_URL')) throw new ConfigError('no OpenStack credentials: set openstack.cloud or OS_CLOUD (clouds.yaml), or the OS_* variables of an openrc file (OS_AUTH_URL missing)');
  const appCred = v('OS_AUTH_TYPE') === 'v3applicationcredential' || !!v('OS_APPLICATION_CREDENTIAL_SECRET');
  return build('the OS_* variables', {
    authUrl: v('OS_AUTH_URL')!,
    appCred,
    userId: v('OS_USER_ID'),
    username: v('OS_USERNAME'),
    password: v('OS_PASSWORD'),
    userDomainId: v('OS_USER_DOMAIN_ID'),
    userDomainName: v('OS_USER_DOMAIN_NAME'),
    projectId: v('OS_PROJECT_ID') ?? v('OS_TENANT_ID'),
    projectName: v('OS_PROJECT_NAME') ?? v('OS_TENANT_NAME'),
    projectDomainId: v('OS_PROJECT_DOMAIN_ID'),
    projectDomainName: v('OS_PROJECT_DOMAIN_NAME'),
    domainId: v('OS_DOMAIN_ID'),
    domainName: v('OS_DOMAIN_NAME'),
    appCredId: v('OS_APPLICATION_CREDENTIAL_ID'),
    appCredName: v('OS_APPLICATION_CREDENTIAL_NAME'),
    appCredSecret: v('OS_APPLICATION_CREDENTIAL_SECRET'),
    region: v('OS_REGION_NAME') ?? options.region,
    interface: (v('OS_INTERFACE') ?? v('OS_ENDPOINT_TYPE'))?.replace(/URL$/, '') ?? options.interface,
    fields: { password: 'OS_PASSWORD', secret: 'OS_APPLICATION_CREDENTIAL_SECRET', user: 'OS_USERNAME' },
  });
}

interface Flat {
  authUrl: string;
  appCred: boolean;
  userId?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  userDomainId?: string | undefined;
  userDomainName?: string | undefined;
  projectId?: string | undefined;
  projectName?: string | undefined;
  projectDomainId?: string | undefined;
  projectDomainName?: string | undefined;
  domainId?: string | undefined;
  domainName?: string | undefined;
  appCredId?: string | undefined;
  appCredName?: string | undefined;
  appCredSecret?: string | undefined;
  region?: string | undefined;
  interface?: string | undefined;
  fields: { password: string; secret: string; user: string };
}

function build(source: string, f: Flat): Credentials {
  if (!/^https?:\/\//.test(f.authUrl)) throw new ConfigError(`${source}: auth_url: expected an http(s) URL, received ${JSON.stringify(f.authUrl)}`);
  const authUrl = f.authUrl.replace(/\/+$/, '').replace(/(\/v3)?$/, '/v3');
  const userDomain = f.userDomainId ? { id: f.userDomainId } : { name: f.userDomainName ?? 'Default' };
  const user: Ref | undefined = f.userId ? { id: f.userId } : f.username ? { name: f.username, domain: userDomain } : undefined;
  const common = { source, authUrl, region: f.region, interface: f.interface ?? 'public' };
  if (f.appCred) {
    if (!f.appCredSecret) throw new ConfigError(`${source}: ${f.fields.secret}: missing`);
    if (!f.appCredId && !(f.appCredName && user)) throw new ConfigError(`${source}: application credential: set its id, or its name and the user`);
    // an application credential carries its own scope
    return {
      ...common,
      who: `application credential ${f.appCredId ?? f.appCredName}`,
      method: { type: 'application_credential', ...(f.appCredId ? { id: f.appCredId } : { name: f.appCredName!, user: user! }), secret: f.appCredSecret },
    };
  }
  if (!user) throw new ConfigError(`${source}: ${f.fields.user}: missing`);
  if (!f.password) throw new ConfigError(`${source}: ${f.fields.password}: missing`);
  const projectDomain = f.projectDomainId ? { id: f.projectDomainId } : { name: f.projectDomainName ?? 'Default' };
  const scope = f.projectId ? { project: { id: f.projectId } }
    : f.projectName ? { project: { name: f.projectName, domain: projectDomain } }
      : f.domainId ? { domain: { id: f.domainId } }
        : f.domainName ? { domain: { name: f.domainName } } : undefined;
  return { ...common, who: `user ${f.userId ?? f.username}`, method: { type: 'password', user, password: f.password }, scope };
}
