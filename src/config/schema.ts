import * as z from 'zod/mini';
import '../shared/zod.js';

// Our own file: strict objects, so an unknown key is reported as a typo.
// Every field is described; `npm run schema` turns this into schema/packuilon.schema.json.

const text = (description: string) => z.string().check(z.minLength(1), z.describe(description));
const seconds = (description: string, fallback: number) =>
  z._default(z.number().check(z.positive(), z.describe(description)), fallback);

export const AquilonConfig = z.strictObject({
  index_url: z.optional(text('URL of Aquilon\'s profiles-info.xml')),
  index_dir: z.optional(text('a local directory holding profiles-info.xml (or only profiles) instead of index_url')),
  profile_url: z.optional(text('base URL of the profiles [the directory of index_url]')),
  match: z._default(
    z.string().check(z.describe('substring a profile name must contain, as the seed\'s PROFILE_MATCH ["" = all]')),
    '',
  ),
  match_regex: z.optional(text('regular expression a profile name must match (with match, both must)')),
  timeout: seconds('seconds for one HTTP request', 30),
  retries: z._default(z.int().check(z.minimum(0), z.maximum(10), z.describe('retries of a failed download')), 3),
  concurrency: z._default(
    z.int().check(z.minimum(1), z.maximum(256), z.describe('profiles downloaded at once')),
    16,
  ),
});

export const QueueConfig = z.strictObject({
  url: z._default(
    text('AMQP URL; a password only from the environment (PACKUILON_QUEUE_URL or queue.password_env)'),
    'amqp://guest@127.0.0.1:5672/',
  ),
  password_env: z.optional(text('name of an environment variable holding the broker password')),
  name: z._default(text('durable queue name, shared with the seed\'s scripts'), 'build-queue'),
  prefetch: z._default(z.int().check(z.minimum(1), z.maximum(10000), z.describe('messages in hand at once, and the largest batch: one push per batch')), 400),
  max_message_bytes: z._default(
    z.int().check(z.positive(), z.describe('larger messages are dead-lettered')),
    16 * 1024 * 1024,
  ),
});

export const RepoConfig = z.strictObject({
  path: z._default(text('the image repo [the directory of the config file]'), '.'),
  remote: z.optional(text('git remote to push to [none: commit only]')),
  branch: z._default(text('branch commits go to'), 'main'),
  mode: z._default(z.enum(['direct', 'merge-request']).check(z.describe('commit to the branch, or branch + merge request')), 'direct'),
  push_retries: z._default(z.int().check(z.minimum(0), z.maximum(50), z.describe('fetch + rebase + push attempts after a rejected push')), 8),
  checkout: z._default(
    z.boolean().check(z.describe('update the work tree with the branch (merge --ff-only); false: a service clone nobody works in, only the branch ref moves')),
    true,
  ),
});

export const ForgeConfig = z.strictObject({
  type: z.enum(['gitlab', 'github']).check(z.describe('forge kind (merge-request mode)')),
  url: z.optional(text('forge base URL')),
  project: text('project path (gitlab) or owner/name (github)'),
  token_env: z.optional(text('environment variable holding the token; never the token itself [GITLAB_TOKEN for gitlab, GITHUB_TOKEN for github]')),
  labels: z._default(z.array(z.string()), ['packuilon']),
  assignees: z._default(z.array(z.string()), []),
  reviewers: z._default(z.array(z.string()), []),
  auto_merge: z._default(z.boolean().check(z.describe('merge when the pipeline succeeds')), false),
});

export const TemplatesConfig = z.strictObject({
  map: z._default(text('template map (JSON or YAML), relative to repo.path'), 'templates/template-map.json'),
  sources: z._default(text('source-image map (JSON or YAML), relative to repo.path'), 'images/source-images.json'),
});

export const OpenstackConfig = z.strictObject({
  cloud: z._default(text('cloud name in clouds.yaml; credentials never in this file'), 'packuilon'),
  interface: z._default(text('catalog interface of the endpoints: public | internal | admin (the cloud\'s own or OS_INTERFACE wins)'), 'public'),
  region: z.optional(text('catalog region of the endpoints (the cloud\'s region_name or OS_REGION_NAME wins)')),
  timeout: seconds('seconds for one Keystone or Glance request', 60),
});

export const PromoteConfig = z.strictObject({
  candidate_prefix: z._default(z.string().check(z.describe('removed from the candidate\'s name on promotion, when present')), 'Next-'),
  retire: z._default(z.enum(['deactivate', 'hide']).check(z.describe('what happens to a warehoused image: deactivated, or hidden (os_hidden)')), 'deactivate'),
  keep: z._default(z.int().check(z.minimum(0), z.describe('warehoused images kept per name')), 3),
  prune: z._default(z.enum(['delete', 'deactivate']).check(z.describe('what happens to warehoused images beyond keep')), 'deactivate'),
  prune_after_promote: z._default(z.boolean().check(z.describe('ci promote prunes the names it promoted')), false),
  copy_properties: z._default(z.array(z.string().check(z.minLength(1))).check(z.describe('extra Glance properties the new image takes from the old')), []),
  chain_source: z._default(z.array(z.string().check(z.minLength(1))).check(z.describe('image keys whose new image replaces the old one in the source-image map')), []),
  date_format: z._default(text('date in warehoused-/broken- names (strftime %d %m %Y %y %H %M %S, UTC)'), '%d-%m-%Y-%H-%M-%S'),
});

export const PackerConfig = z.strictObject({
  timeout: seconds('seconds one `packer build` (or `packer validate`) may run before it is stopped', 7200),
});

export const RallyConfig = z.strictObject({
  env: z.optional(text('an existing Rally env [made from the OS_* variables]')),
  config_file: z.optional(text('passed to rally as --config-file')),
  task: z._default(text('Rally task; templates/rally/<key>.yaml wins for that image'), 'templates/rally/boot-and-delete.yaml'),
  success_threshold: z._default(z.number().check(z.minimum(0), z.maximum(100)), 90),
  timeout: seconds('seconds before the Rally task is aborted', 1800),
  flavor: z._default(text('the task arg `flavor`: Nova flavor of the test server'), 'm1.small'),
  task_args: z._default(
    z.record(z.string(), z.unknown()).check(z.describe('more task args for the Rally task (rendered by Rally from --task-args-file, never spliced into text)')),
    {},
  ),
});

export const NotifyConfig = z.strictObject({
  email: z.optional(
    z.strictObject({
      smtp_url_env: z._default(text('environment variable holding the SMTP URL (smtp://user:password@host:port); never the URL itself'), 'PACKUILON_SMTP_URL'),
      from: text('sender address'),
      success_to: z._default(z.array(z.string()).check(z.describe('recipients when an image is promoted (the seed\'s SUCCESS_ADDRESS)')), []),
      failure_to: z._default(z.array(z.string()).check(z.describe('recipients when an image is rejected or failed to build (the seed\'s FAILURE_ADDRESS)')), []),
    }),
  ),
  webhook_url_env: z._default(text('environment variable holding a Slack/Mattermost-compatible incoming-webhook URL'), 'PACKUILON_WEBHOOK_URL'),
  timeout: seconds('seconds for one notification (SMTP or webhook)', 20),
});

export const Config = z.strictObject({
  aquilon: z.prefault(AquilonConfig, {}),
  state_dir: z.optional(text('detector state [$XDG_STATE_HOME/packuilon]')),
  trigger: z._default(z.enum(['direct', 'queue']).check(z.describe('direct: render + commit in-process; queue: publish to RabbitMQ')), 'direct'),
  queue: z.prefault(QueueConfig, {}),
  repo: z.prefault(RepoConfig, {}),
  forge: z.optional(ForgeConfig),
  templates: z.prefault(TemplatesConfig, {}),
  image_name: z._default(
    text('image name format: {personality} {os} {os_version} {arch} {archetype} {domain} {key}'),
    '{personality}-{os}{os_version}-{arch}',
  ),
  openstack: z.optional(OpenstackConfig),
  rally: z.optional(RallyConfig),
  packer: z.prefault(PackerConfig, {}),
  notify: z.prefault(NotifyConfig, {}),
  promote: z.prefault(PromoteConfig, {}),
});

export type Config = z.infer<typeof Config>;
export type ConfigInput = z.input<typeof Config>;

/** The merge-request keys, commented out, as `init` and `migrate` write them: the token's variable is named, never the token. */
export const FORGE_KEYS_COMMENT = `
# Merge-request mode: every image change reviewed as a merge request (GitLab) or pull request (GitHub).
# Needs repo.remote. The token only from the environment, in the variable token_env names.
# repo:
#   mode: merge-request
# forge:
#   type: gitlab                      # gitlab | github
#   url: https://gitlab.example.org   # GitHub: https://api.github.com, or https://HOST/api/v3
#   project: cloud/images             # GitHub: owner/name
#   token_env: GITLAB_TOKEN           # [GITLAB_TOKEN for gitlab, GITHUB_TOKEN for github]
#   labels: [packuilon]
#   assignees: []
#   reviewers: []
#   auto_merge: false
`;
