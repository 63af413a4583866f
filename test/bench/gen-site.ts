/**
 * Synthetic Aquilon site for benchmarks and large tests.
 *
 *   generateSite({ dir, hosts: 20000 })        profiles-info.xml + one profile per host
 *   mutateSite({ dir, changed: 10, touched: 50 }) K real changes + T recompiles (new mtime, same bytes)
 *   writeRepoMaps(repoDir)                      images/source-images.json + templates/template-map.json
 *
 * CLI:
 *   node --import tsx test/bench/gen-site.ts --dir D --hosts 20000 [--image-keys 500]
 *        [--match-fraction 0.05] [--gzip-fraction 0] [--seed 1] [--repo R]
 *   node --import tsx test/bench/gen-site.ts --dir D --mutate --changed 10 [--touched 0] [--matching-only]
 *
 * Output follows what Aquilon really writes (quattor/aquilon lib/aquilon/notify/index.py,
 * quattor/pan JsonUtils): the index is `<profile mtime='N'>NAME</profile>` lines joined by
 * "\n" with no trailing newline; profiles are Gson pretty JSON (2-space indent, keys sorted
 * because pan dicts are TreeMaps, `= < > & '` escaped as \u003d etc., no trailing newline).
 * Everything is deterministic from `seed`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';

/** The seed's PROFILE_MATCH: names of template hosts contain it. */
export const PROFILE_MATCH = '.cloud.template.json';
export const INDEX_NAME = 'profiles-info.xml';

// ---------------------------------------------------------------- determinism

export type Rng = () => number;

export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for fixtures. */
export function makeRng(seed: number | string): Rng {
  let a = typeof seed === 'number' ? seed >>> 0 : hash32(seed);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error('pick from empty list');
  return item;
}

function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}

export function uuidFrom(text: string): string {
  const rng = makeRng(text);
  const hex = Array.from({ length: 32 }, () => Math.floor(rng() * 16).toString(16));
  hex[12] = '4';
  hex[16] = '89ab'[Math.floor(rng() * 4)] ?? '8';
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

// ---------------------------------------------------------------- pan-style JSON

/** pan's escape(): every char outside [A-Za-z0-9] (and a leading digit) becomes _xx. */
export function panEscape(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    const ok = /[A-Za-z0-9]/.test(ch) && !(i === 0 && /[0-9]/.test(ch));
    out += ok ? ch : `_${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  }
  return out;
}

function gsonEscape(json: string): string {
  return json.replace(/[<>&='\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === 'object') {
    const src = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(src).sort()) out[key] = sortDeep(src[key]);
    return out;
  }
  return value;
}

/** Serialise like panc's JSON formatter (Gson pretty printing, html-safe, sorted keys). */
export function panJson(value: unknown): string {
  return gsonEscape(JSON.stringify(sortDeep(value), null, 2));
}

/** panJson of a value nested at `depth`, ready to splice into a parent's pretty text. */
function panJsonAt(value: unknown, depth: number): string {
  return panJson(value).replace(/\n/g, `\n${'  '.repeat(depth)}`);
}

// ---------------------------------------------------------------- catalogue

export interface OsSpec {
  os: string;
  version: string;
  major: number;
  description: string;
  kernel: string;
  arches: readonly string[];
}

export const OSES: readonly OsSpec[] = [
  { os: 'sl', version: '7x', major: 7, description: 'Scientific Linux', kernel: '3.10.0-1160.105.1.el7', arches: ['x86_64'] },
  { os: 'centos', version: '7x', major: 7, description: 'CentOS Linux', kernel: '3.10.0-1160.105.1.el7', arches: ['x86_64'] },
  { os: 'rocky', version: '8x', major: 8, description: 'Rocky Linux', kernel: '4.18.0-513.11.1.el8_9', arches: ['x86_64', 'aarch64'] },
  { os: 'rocky', version: '9x', major: 9, description: 'Rocky Linux', kernel: '5.14.0-362.18.1.el9_3', arches: ['x86_64', 'aarch64'] },
  { os: 'alma', version: '8x', major: 8, description: 'AlmaLinux', kernel: '4.18.0-513.11.1.el8_9', arches: ['x86_64'] },
  { os: 'alma', version: '9x', major: 9, description: 'AlmaLinux', kernel: '5.14.0-362.18.1.el9_3', arches: ['x86_64', 'aarch64'] },
];

/** Source keys `<os><osversion>-<arch>` of every OS/arch combination the generator uses. */
export function sourceKeys(): string[] {
  return OSES.flatMap((o) => o.arches.map((arch) => `${o.os}${o.version}-${arch}`));
}

function osSpec(os: string, version: string): OsSpec {
  const spec = OSES.find((o) => o.os === os && o.version === version);
  if (!spec) throw new Error(`unknown os ${os} ${version}`);
  return spec;
}

const BASE_PACKAGES = [
  'acl', 'audit', 'bash', 'bind-utils', 'bzip2', 'ca-certificates', 'ccm', 'cdp-listend', 'chrony',
  'cloud-init', 'coreutils', 'cronie', 'curl', 'dbus', 'dhcp-client', 'diffutils', 'dmidecode',
  'dracut', 'e2fsprogs', 'ethtool', 'file', 'findutils', 'gawk', 'git', 'glibc', 'gnupg2', 'grep',
  'grub2-pc', 'gzip', 'hostname', 'iproute', 'iptables', 'iputils', 'irqbalance', 'jq', 'kernel',
  'kernel-tools', 'kexec-tools', 'krb5-workstation', 'less', 'logrotate', 'lsof', 'lvm2', 'man-db',
  'mdadm', 'nano', 'ncm-accounts', 'ncm-cdispd', 'ncm-cron', 'ncm-filecopy', 'ncm-grub', 'ncm-metaconfig',
  'ncm-ncd', 'ncm-network', 'ncm-query', 'ncm-spma', 'ncm-sysctl', 'ncm-systemd', 'net-snmp', 'net-tools',
  'nfs-utils', 'nmap-ncat', 'openldap-clients', 'openssh-clients', 'openssh-server', 'openssl', 'pam',
  'parted', 'passwd', 'pciutils', 'perl', 'perl-CAF', 'perl-JSON-XS', 'perl-LC', 'perl-Template-Toolkit',
  'policycoreutils', 'procps-ng', 'psmisc', 'python3', 'python3-pip', 'qemu-guest-agent', 'rsync',
  'rsyslog', 'screen', 'sed', 'selinux-policy-targeted', 'setup', 'shadow-utils', 'sos', 'sssd',
  'strace', 'sudo', 'systemd', 'tar', 'tcpdump', 'tmux', 'traceroute', 'tuned', 'unzip', 'util-linux',
  'vim-enhanced', 'wget', 'which', 'xfsprogs', 'xz', 'yum-utils', 'zip',
] as const;

const PAD_PREFIXES = ['perl-', 'python3-', 'lib', 'golang-', 'texlive-', 'rubygem-', 'php-', 'R-', 'ghc-'];
const PAD_WORDS = [
  'yaml', 'xml', 'json', 'http', 'crypt', 'ssl', 'date', 'time', 'io', 'net', 'dns', 'ldap', 'sql',
  'zmq', 'png', 'tiff', 'font', 'graph', 'proto', 'grpc', 'cache', 'log', 'test', 'mock', 'uri',
];

/** A deterministic, OS-consistent package version (the same repo snapshot for every host). */
function packageVersion(name: string, os: OsSpec): string {
  if (name === 'kernel' || name === 'kernel-tools') return os.kernel;
  const h = hash32(`${name}/${os.os}${os.version}`);
  const dist = os.major === 7 ? 'el7' : `el${os.major}`;
  return `${1 + (h % 9)}.${(h >>> 4) % 20}.${(h >>> 9) % 12}-${1 + ((h >>> 13) % 30)}.${dist}`;
}

function packageNames(count: number, extra: readonly string[]): string[] {
  const names = new Set<string>([...extra, ...BASE_PACKAGES.slice(0, Math.min(count, BASE_PACKAGES.length))]);
  for (let i = 0; names.size < count; i++) {
    const prefix = PAD_PREFIXES[i % PAD_PREFIXES.length] ?? 'lib';
    const word = PAD_WORDS[Math.floor(i / PAD_PREFIXES.length) % PAD_WORDS.length] ?? 'x';
    const round = Math.floor(i / (PAD_PREFIXES.length * PAD_WORDS.length));
    names.add(`${prefix}${word}${round ? round + 1 : ''}`);
  }
  return [...names];
}

export function buildPackages(count: number, os: OsSpec, arch: string, extra: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of packageNames(count, extra)) {
    const archKey = name.startsWith('perl-') || name.startsWith('ncm-') || name === 'ccm' ? 'noarch' : arch;
    out[panEscape(name)] = { [panEscape(packageVersion(name, os))]: { arch: { [archKey]: '' } } };
  }
  return out;
}

export function buildRepositories(os: OsSpec, arch: string, snapshot: string): unknown[] {
  const tree = os.major === 7 ? ['os', 'updates', 'extras', 'epel'] : ['BaseOS', 'AppStream', 'PowerTools', 'epel'];
  return [...tree, 'quattor'].map((part) => ({
    name: `${os.os}${os.version}_${arch}_${part.toLowerCase()}_${snapshot}`,
    owner: 'cloud-support@example.org',
    protocols: [{ name: 'http', url: `http://yumit.example.org/${snapshot}/${os.os}/${os.version}/${arch}/${part}` }],
  }));
}

// ---------------------------------------------------------------- one profile

export type Branch = { type: 'domain'; name: string } | { type: 'sandbox'; name: string; author: string };

export interface HostSpec {
  hostname: string;
  domainname: string;
  personality: string;
  archetype: string;
  os: string;
  osVersion: string;
  arch: string;
  branch: Branch;
  ip: string;
  /** Physical machine (more disks and NICs) or an OpenStack VM. */
  virtual: boolean;
  /** Personality-specific packages, added to the base set. */
  extraPackages?: readonly string[];
  features?: readonly string[];
  /** Number of software.packages entries: the main size knob (~130 bytes each). */
  packageCount: number;
  /** Text of /etc/motd; mutateSite changes it. */
  motd?: string;
  /** Yum snapshot date, part of repository names. */
  snapshot?: string;
}

/** Everything except software.packages and software.repositories, which are spliced in. */
function hostParts(spec: HostSpec): Record<string, unknown> {
  const os = osSpec(spec.os, spec.osVersion);
  const fqdn = `${spec.hostname}.${spec.domainname}`;
  const rng = makeRng(fqdn);
  const mac = () => Array.from({ length: 3 }, () => Math.floor(rng() * 256).toString(16).padStart(2, '0')).join(':');
  const [a, b, c] = spec.ip.split('.');
  const net = `${a}.${b}.${c}`;
  const nics: Record<string, unknown> = { eth0: { boot: true, driver: spec.virtual ? 'virtio_net' : 'ixgbe', hwaddr: `fa:16:3e:${mac()}` } };
  const disks: Record<string, unknown> = spec.virtual
    ? { vda: { capacity: 102400, interface: 'virtio', model: 'virtual_disk', part_prefix: '' } }
    : { sda: { capacity: 479232, interface: 'sas', model: 'PERC H730P', part_prefix: '' } };
  if (!spec.virtual) {
    nics.eth1 = { boot: false, driver: 'ixgbe', hwaddr: `24:6e:96:${mac()}` };
    for (const d of ['sdb', 'sdc', 'sdd']) disks[d] = { capacity: 7630885, interface: 'sas', model: 'ST8000NM0075', part_prefix: '' };
  }
  const cores = spec.virtual ? pick(rng, [2, 4, 8]) : 20;
  const disk = spec.virtual ? 'vda' : 'sda';
  const features = spec.features ?? [`features/personality/${spec.personality}/config`];
  return {
    hardware: {
      cards: { nic: nics },
      cpu: Array.from({ length: spec.virtual ? 1 : 2 }, () => ({
        arch: spec.arch, cores, manufacturer: 'Intel', max_threads: spec.virtual ? cores : cores * 2,
        model: spec.virtual ? 'Intel Xeon Processor (Cascadelake)' : 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz', speed: 2100, vendor: 'Intel',
      })),
      harddisks: disks,
      location: 'r89.harwell.example.org',
      manufacturer: spec.virtual ? 'openstack' : 'dell',
      model: spec.virtual ? 'vm-openstack' : 'poweredge_r640',
      ram: [{ size: spec.virtual ? cores * 4096 : 196608 }],
      serialnumber: spec.virtual ? uuidFrom(`serial/${fqdn}`) : `CZ${Math.floor(rng() * 1e8)}`,
      sysloc: { building: 'r89', campus: 'harwell', city: 'didcot', continent: 'europe', country: 'gb', location: 'r89.harwell.example.org', room: 'hpd' },
    },
    metadata: { features: ['features/ntp/config', 'features/accounts/config', ...features], template: { branch: spec.branch } },
    software: {
      components: {
        accounts: {
          active: true, dispatch: true, remove_unknown: false,
          groups: { cloudops: { gid: 1500, requiredMembers: [] }, wheel: { gid: 10, requiredMembers: [] } },
          users: { cloudops: { comment: 'Cloud operations', gid: 1500, groups: ['wheel'], homeDir: '/home/cloudops', shell: '/bin/bash', uid: 1500 } },
        },
        ccm: {
          active: true, cache_root: '/var/lib/ccm', configFile: '/etc/ccm.conf', debug: 0, dispatch: true, force: 0,
          get_timeout: 30, lock_retries: 3, lock_wait: 30, profile: `http://aquilon.example.org/profiles/${fqdn}.json`,
          retrieve_retries: 3, retrieve_wait: 30, world_readable: 0,
        },
        cron: { active: true, dispatch: true, entries: [{ command: '/usr/sbin/ccm-fetch >/dev/null 2>&1', frequency: 'AUTO 0 * * * *', name: 'ccm-fetch', user: 'root' }] },
        filecopy: {
          active: true, dispatch: true,
          services: { [panEscape('/etc/motd')]: { config: spec.motd ?? `${fqdn}: managed by Quattor (${spec.personality}), do not edit\n`, group: 'root', owner: 'root', perms: '0644' } },
        },
        grub: { active: true, dispatch: true, kernelargs: 'crashkernel=auto console=tty0 console=ttyS0,115200n8 rd.lvm=0' },
        metaconfig: {
          active: true, dispatch: true,
          services: { [panEscape('/etc/sysconfig/chronyd')]: { contents: { OPTIONS: '-F 2' }, mode: 420, module: 'tiny', owner: 'root' } },
        },
        network: { active: true, dispatch: true, ethtool_wait: 30, managed_by_nm: os.major >= 8 },
        spma: { active: true, dispatch: true, packager: os.major >= 8 ? 'dnf' : 'yum', process_obsoletes: false, proxy: 'no', run: 'yes', userpkgs: 'no' },
        sysctl: { active: true, dispatch: true, variables: { [panEscape('net.ipv4.ip_forward')]: '0', [panEscape('vm.swappiness')]: '10' } },
        systemd: {
          active: true, dispatch: true,
          unit: Object.fromEntries(['chronyd', 'rsyslog', 'sshd', 'sssd'].map((u) => [u, { name: `${u}.service`, startstop: true, state: 'enabled', type: 'service' }])),
        },
      },
      packages: '@@PACKAGES@@',
      repositories: '@@REPOSITORIES@@',
    },
    system: {
      advertise_status: false,
      archetype: { model: `${spec.osVersion}-${spec.arch}`, name: spec.archetype, os: spec.os, os_lifecycle: 'production' },
      build: 'ready',
      filesystems: [
        { block_device_path: `${disk}1`, format: true, freq: 1, mount: true, mountopts: 'defaults', mountpoint: '/boot', pass: 2, preserve: true, type: 'xfs' },
        { block_device_path: `${disk}2`, format: true, freq: 1, mount: true, mountopts: 'defaults', mountpoint: '/', pass: 1, preserve: true, type: 'xfs' },
      ],
      kernel: { version: `${os.kernel}.${spec.arch}` },
      network: {
        default_gateway: `${net}.1`,
        domainname: spec.domainname,
        hostname: spec.hostname,
        interfaces: {
          eth0: { bootproto: 'static', broadcast: `${net}.255`, fqdn, gateway: `${net}.1`, ip: spec.ip, netmask: '255.255.255.0', network_environment: 'internal', network_type: 'unknown' },
        },
        nameserver: ['10.0.0.53', '10.0.1.53'],
        primary_ip: spec.ip,
      },
      os: {
        architecture: spec.arch,
        distribution: { description: os.description, family: 'el', name: spec.os },
        version: { major: os.major, name: spec.osVersion },
      },
      owner_eon_id: 4,
      personality: { host_environment: spec.branch.type === 'sandbox' ? 'dev' : 'prod', name: spec.personality, owner_eon_id: 4, stage: 'current' },
      services: {
        aqd: { instance: 'prod', servers: ['aquilon.example.org'] },
        bootserver: { instance: 'r89', servers: ['boot01.example.org', 'boot02.example.org'] },
        ntp: { instance: 'pool', servers: ['ntp1.example.org', 'ntp2.example.org'] },
        syslog: { instance: 'central', servers: ['loghost.example.org'] },
      },
    },
  };
}

/** One profile as panc would write it. `cache` lets hosts of one image share the big parts. */
export function profileBytes(spec: HostSpec, cache?: Map<string, [Buffer, Buffer]>): Buffer {
  const os = osSpec(spec.os, spec.osVersion);
  const snapshot = spec.snapshot ?? '20240105';
  const cacheKey = `${spec.os}${spec.osVersion}|${spec.arch}|${spec.packageCount}|${(spec.extraPackages ?? []).join(',')}|${snapshot}`;
  let parts = cache?.get(cacheKey);
  if (!parts) {
    parts = [
      Buffer.from(panJsonAt(buildPackages(spec.packageCount, os, spec.arch, spec.extraPackages), 2)),
      Buffer.from(panJsonAt(buildRepositories(os, spec.arch, snapshot), 2)),
    ];
    cache?.set(cacheKey, parts);
  }
  const [head = '', middle = '', tail = ''] = panJson(hostParts(spec)).split(/"@@PACKAGES@@"|"@@REPOSITORIES@@"/);
  return Buffer.concat([Buffer.from(head), parts[0], Buffer.from(middle), parts[1], Buffer.from(tail)]);
}

export function profileText(spec: HostSpec): string {
  return profileBytes(spec).toString('utf8');
}

// ---------------------------------------------------------------- index

export interface IndexEntry {
  name: string;
  mtime: number;
}

/** profiles-info.xml exactly as aquilon's build_index writes it. */
export function indexText(entries: readonly IndexEntry[]): string {
  const lines = ["<?xml version='1.0' encoding='utf-8'?>", '<profiles>'];
  for (const e of entries) {
    if (/[<>&'"]/.test(e.name)) throw new Error(`unsafe profile name ${e.name}`);
    lines.push(`<profile mtime='${e.mtime}'>${e.name}</profile>`);
  }
  lines.push('</profiles>');
  return lines.join('\n');
}

export function parseIndex(text: string): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (const m of text.matchAll(/<profile mtime='(\d+)'>([^<]+)<\/profile>/g)) {
    out.push({ mtime: Number(m[1]), name: String(m[2]).trim() });
  }
  return out;
}

// ---------------------------------------------------------------- site

const TEAMS = ['grid', 'cloud', 'isis', 'clf', 'diamond', 'hartree', 'jasmin', 'lsst', 'dune', 'cms', 'atlas', 'lhcb', 'scarf', 'epac', 'ukaea', 'cta'];
const ROLES = ['worker', 'wn', 'ui', 'ce', 'vm', 'gpu', 'db', 'web', 'proxy', 'batch', 'login', 'storage', 'nfs', 'jupyter', 'build', 'monitor'];
const AUTHORS = ['abc12345', 'xyz98765', 'sap86629', 'jdoe01'];

export interface ImageKeySpec {
  key: string;
  personality: string;
  os: string;
  osVersion: string;
  arch: string;
  packageCount: number;
}

export function imageKey(personality: string, os: string, osVersion: string, arch: string): string {
  return `${personality}-${os}${osVersion}-${arch}`;
}

export function makeImageKeys(count: number, seed: number | string = 1): ImageKeySpec[] {
  const rng = makeRng(`keys/${seed}`);
  const personalities = ['nubesvms', ...TEAMS.flatMap((t) => ROLES.map((r) => `${t}-${r}`))];
  const combos = OSES.flatMap((o) => o.arches.map((arch) => ({ os: o.os, osVersion: o.version, arch })));
  const pairs: ImageKeySpec[] = [];
  for (let round = 0; pairs.length < count; round++) {
    const batch = personalities.flatMap((p) => combos.map((c) => ({ p: round ? `${p}${round + 1}` : p, c })));
    for (const { p, c } of shuffle(rng, batch).slice(0, count - pairs.length)) {
      // 3..340 packages, skewed to small: profiles of ~9 KB (median ~10 KB) to ~50 KB
      const packageCount = Math.round(3 * Math.exp(rng() ** 2 * Math.log(340 / 3)));
      pairs.push({ key: imageKey(p, c.os, c.osVersion, c.arch), personality: p, ...c, packageCount });
    }
  }
  return pairs.sort((x, y) => (x.key < y.key ? -1 : 1));
}

export interface GenerateOptions {
  dir: string;
  hosts: number;
  imageKeys?: number;
  matchFraction?: number;
  gzipFraction?: number;
  sandboxFraction?: number;
  seed?: number | string;
  baseMtime?: number;
  /** Also write images/source-images.json and templates/template-map.json here. */
  repoDir?: string;
}

export interface SiteProfile {
  name: string;
  imageKey: string;
  matching: boolean;
}

export interface GenerateResult {
  profiles: SiteProfile[];
  matching: string[];
  imageKeys: string[];
  bytes: number;
}

function clearOldSite(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const index = join(dir, INDEX_NAME);
  if (existsSync(index)) {
    for (const e of parseIndex(readFileSync(index, 'utf8'))) rmSync(join(dir, e.name), { force: true });
    rmSync(index);
  }
  if (readdirSync(dir).length > 0) throw new Error(`${dir} holds files that are not from a generated site; refusing to write there`);
}

export function generateSite(opts: GenerateOptions): GenerateResult {
  const seed = opts.seed ?? 1;
  const matchFraction = opts.matchFraction ?? 0.05;
  const gzipFraction = opts.gzipFraction ?? 0;
  const sandboxFraction = opts.sandboxFraction ?? 0.05;
  const baseMtime = opts.baseMtime ?? 1_700_000_000;
  clearOldSite(opts.dir);
  const keys = makeImageKeys(opts.imageKeys ?? 500, seed);
  const rng = makeRng(`site/${seed}`);
  const cache = new Map<string, [Buffer, Buffer]>();
  const matchingCount = Math.round(opts.hosts * matchFraction);
  const profiles: SiteProfile[] = [];
  const entries: IndexEntry[] = [];
  let bytes = 0;
  for (let i = 0; i < opts.hosts; i++) {
    const matching = i < matchingCount;
    // template hosts cycle through every key; ordinary hosts crowd into the popular ones
    const k = matching ? keys[i % keys.length] : keys[Math.floor(keys.length * rng() ** 2)];
    if (!k) throw new Error('no image keys');
    const n = matching ? Math.floor(i / keys.length) : 0;
    const sandbox = matching ? n % 2 === 1 : rng() < sandboxFraction;
    const branch: Branch = sandbox
      ? { type: 'sandbox', name: `${k.personality}-dev`, author: pick(rng, AUTHORS) }
      : { type: 'domain', name: matching ? (n === 0 ? 'prod_cloud' : 'staging') : 'prod' };
    const hostname = matching
      ? `${k.personality}-${k.os}${k.osVersion}-${k.arch.replace('_', '-')}${n ? `-${n}` : ''}`
      : `${k.personality.replace('-', '')}${String(i).padStart(5, '0')}`;
    const domainname = matching ? 'cloud.template' : 'example.org';
    const subnet = Math.floor(i / 250);
    const ip = `10.${(subnet >> 8) & 255}.${subnet & 255}.${(i % 250) + 2}`;
    const text = profileBytes(
      { hostname, domainname, personality: k.personality, archetype: 'ral-tier1', os: k.os, osVersion: k.osVersion, arch: k.arch, branch, ip, virtual: matching || rng() < 0.6, packageCount: k.packageCount },
      cache,
    );
    const gz = rng() < gzipFraction;
    const name = `${hostname}.${domainname}.json${gz ? '.gz' : ''}`;
    const data = gz ? gzipSync(text) : text;
    const mtime = baseMtime + Math.floor(rng() * 30 * 86400);
    const file = join(opts.dir, name);
    writeFileSync(file, data);
    utimesSync(file, mtime, mtime);
    bytes += data.length;
    profiles.push({ name, imageKey: k.key, matching });
    entries.push({ name, mtime });
  }
  writeFileSync(join(opts.dir, INDEX_NAME), indexText(shuffle(rng, entries)));
  if (opts.repoDir) writeRepoMaps(opts.repoDir);
  return { profiles, matching: profiles.filter((p) => p.matching).map((p) => p.name), imageKeys: keys.map((k) => k.key), bytes };
}

/** The seed's DEFAULT entry (its template-map.json): two templates per image. */
export const SEED_DEFAULT_TEMPLATES = ['templates/unmanaged.json', 'templates/managed.json'] as const;

/**
 * images/source-images.json (every OS/arch combination) and templates/template-map.json
 * with `templates` as DEFAULT (copied from the project's templates/), by default one.
 */
export function writeRepoMaps(repoDir: string, templates: readonly string[] = ['templates/unmanaged.json']): { sourceImages: string; templateMap: string } {
  const sourceImages = join(repoDir, 'images', 'source-images.json');
  const templateMap = join(repoDir, 'templates', 'template-map.json');
  mkdirSync(dirname(sourceImages), { recursive: true });
  mkdirSync(dirname(templateMap), { recursive: true });
  const sources = Object.fromEntries(sourceKeys().map((k) => [k, uuidFrom(`glance/${k}`)]));
  writeFileSync(sourceImages, `${JSON.stringify(sources, null, 2)}\n`);
  writeFileSync(templateMap, `${JSON.stringify({ DEFAULT: templates }, null, 2)}\n`);
  for (const path of templates) {
    const template = join(repoDir, path);
    const ours = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', path);
    if (!existsSync(template) && existsSync(ours)) copyFileSync(ours, template);
  }
  return { sourceImages, templateMap };
}

// ---------------------------------------------------------------- mutate

export interface MutateOptions {
  dir: string;
  changed: number;
  touched?: number;
  /** Choose only among names containing PROFILE_MATCH. */
  matchingOnly?: boolean;
  seed?: number | string;
}

export interface MutateResult {
  /** Content changed and new mtime. */
  changed: string[];
  /** New mtime, identical bytes (a recompile). */
  touched: string[];
  mtime: number;
  /** Image keys of the changed profiles that match PROFILE_MATCH: the images that must change. */
  changedImageKeys: string[];
}

export function mutateSite(opts: MutateOptions): MutateResult {
  const indexFile = join(opts.dir, INDEX_NAME);
  const entries = parseIndex(readFileSync(indexFile, 'utf8'));
  const mtime = entries.reduce((m, e) => Math.max(m, e.mtime), 0) + 60;
  const pool = entries.filter((e) => !opts.matchingOnly || e.name.includes(PROFILE_MATCH)).map((e) => e.name);
  const touchedCount = opts.touched ?? 0;
  if (opts.changed + touchedCount > pool.length) throw new Error(`only ${pool.length} profiles to choose from`);
  const chosen = shuffle(makeRng(`mutate/${opts.seed ?? 1}/${mtime}`), pool).slice(0, opts.changed + touchedCount);
  const changed = chosen.slice(0, opts.changed);
  const touched = chosen.slice(opts.changed);
  const keys = new Set<string>();
  for (const name of changed) {
    const file = join(opts.dir, name);
    const gz = name.endsWith('.gz');
    const raw = readFileSync(file);
    const profile = JSON.parse((gz ? gunzipSync(raw) : raw).toString('utf8'));
    const motd = profile.software.components.filecopy.services[panEscape('/etc/motd')];
    const tail = / \(revision (\d+)\)\n?$|\n?$/;
    const revision = Number(tail.exec(motd.config)?.[1] ?? 0) + 1;
    motd.config = `${String(motd.config).replace(tail, '')} (revision ${revision})\n`;
    const text = panJson(profile);
    writeFileSync(file, gz ? gzipSync(text) : text);
    const s = profile.system;
    if (name.includes(PROFILE_MATCH)) keys.add(imageKey(s.personality.name, s.os.distribution.name, s.os.version.name, s.os.architecture));
  }
  const bump = new Set(chosen);
  for (const e of entries) {
    if (!bump.has(e.name)) continue;
    e.mtime = mtime;
    utimesSync(join(opts.dir, e.name), mtime, mtime);
  }
  writeFileSync(indexFile, indexText(entries));
  return { changed, touched, mtime, changedImageKeys: [...keys].sort() };
}

// ---------------------------------------------------------------- CLI

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string' },
      hosts: { type: 'string', default: '1000' },
      'image-keys': { type: 'string', default: '500' },
      'match-fraction': { type: 'string', default: '0.05' },
      'gzip-fraction': { type: 'string', default: '0' },
      seed: { type: 'string', default: '1' },
      repo: { type: 'string' },
      mutate: { type: 'boolean', default: false },
      changed: { type: 'string', default: '0' },
      touched: { type: 'string', default: '0' },
      'matching-only': { type: 'boolean', default: false },
    },
  });
  if (!values.dir) throw new Error('--dir is required');
  const started = Date.now();
  if (values.mutate) {
    const r = mutateSite({ dir: values.dir, changed: Number(values.changed), touched: Number(values.touched), matchingOnly: values['matching-only'], seed: values.seed });
    process.stdout.write(`${JSON.stringify({ ...r, ms: Date.now() - started }, null, 2)}\n`);
    return;
  }
  const r = generateSite({
    dir: values.dir, hosts: Number(values.hosts), imageKeys: Number(values['image-keys']), matchFraction: Number(values['match-fraction']),
    gzipFraction: Number(values['gzip-fraction']), seed: values.seed, repoDir: values.repo,
  });
  const summary = { dir: values.dir, hosts: r.profiles.length, matching: r.matching.length, imageKeys: r.imageKeys.length, bytes: r.bytes, ms: Date.now() - started };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`gen-site: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
