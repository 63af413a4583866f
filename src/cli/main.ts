import { Command, CommanderError, Option } from 'commander';
import { ConfigError, EXIT, exitCodeOf, messageOf, PackuilonError, redact } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { VERSION } from '../version.js';
import type { CliIo, CommandContext } from './io.js';

type Action = (context: CommandContext, options: Record<string, unknown>, args: string[]) => Promise<number>;

/**
 * The command table. Each command's code is imported only when it runs, so
 * `detect` never loads what `history` or `migrate` need.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  // The logger and the config loader are loaded with the first command that
  // runs: `--help` and `--version` need neither pino nor zod nor yaml.
  let logger: Logger | undefined;
  let createLogger: (() => Logger) | undefined;
  const log = () => (logger ??= createLogger!());
  // With no config file, a config error says which file was looked for and how to name one.
  let noConfigFile: string | undefined;
  const program = new Command('packuilon')
    .version(VERSION)
    .description('Aquilon profile changes → rendered Packer build files in git → CI builds, tests and promotes images')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) });

  const command = (name: string, description: string, example: string, load: () => Promise<{ run: Action }>, parent: Command = program) => {
    const sub = parent
      .command(name)
      .description(description)
      .addHelpText('after', `\nExample:\n  ${example}\n`)
      .option('--config <file>', 'config file [PACKUILON_CONFIG, else ./packuilon.yaml]');
    sub.action(async (...params: unknown[]) => {
      const cmd = params[params.length - 1] as Command;
      const options = cmd.opts();
      const [{ loadConfig }, logging] = await Promise.all([import('../config/index.js'), import('../shared/log.js')]);
      const prettify = await logging.loadPrettifier(io.env, io.stderr);
      createLogger = () => logging.createCliLogger(io.env, io.stderr, prettify);
      const context: CommandContext = {
        io,
        get log() {
          return log();
        },
        config: (overrides) => {
          const loaded = loadConfig({ file: options.config as string | undefined, env: io.env, cwd: io.cwd, overrides });
          noConfigFile = loaded.lookedFor;
          return loaded;
        },
      };
      const { run } = await load();
      exitCode = await run(context, options, cmd.args);
    });
    return sub;
  };

  command('detect', 'one pass: find changed profiles; render + commit (direct) or publish (queue)', 'packuilon detect --config /etc/packuilon/packuilon.yaml', () => import('./commands/detect.js'))
    .addOption(new Option('--trigger <mode>', 'direct | queue [config trigger]').choices(['direct', 'queue']))
    .option('--baseline', 'only record the current profiles as seen; commit nothing')
    .option('--json', 'print the report as JSON');
  command('watch', 'run detect every S seconds until stopped', 'packuilon watch --interval 60', () => import('./commands/watch.js'))
    .addOption(new Option('--trigger <mode>', 'direct | queue').choices(['direct', 'queue']))
    .option('--interval <seconds>', 'seconds between passes', '60');
  command('consume', 'queue consumer: render → commit → push → ack, until SIGTERM', 'packuilon consume --metrics-port 9464', () => import('./commands/consume.js'))
    .option('--metrics-port <port>', 'serve /metrics (Prometheus) and /healthz on this port')
    .option('--metrics-host <host>', 'address for the metrics server', '127.0.0.1')
    .option('--max-messages <count>', 'stop after this many messages (a one-shot run)');
  command('dlq', 'inspect or re-queue dead-lettered messages', 'packuilon dlq list --json', () => import('./commands/dlq.js'))
    .argument('<action>', 'list | replay')
    .option('--limit <count>', 'list at most this many', '100')
    .option('--profile <name>', 'replay only the letters of this profile')
    .option('--json', 'print JSON');
  command('render', 'print or write the build files for one profile; no side effects', 'packuilon render host.cloud.template.json --out /tmp/out', () => import('./commands/render.js'))
    .argument('<profile>', 'a profile JSON file')
    .option('--out <dir>', 'write <key>/… there instead of printing');
  command('submit', 'commit (direct) or queue a build from flags, as a skeleton profile', 'packuilon submit --personality nubesvms --os sl --os-version 7x --arch x86_64 --archetype ral-tier1 --domain prod', () => import('./commands/submit.js'))
    .requiredOption('--personality <name>', 'personality')
    .option('--os <name>', 'OS distribution', 'sl')
    .option('--os-version <version>', 'OS version', '7x')
    .option('--arch <arch>', 'architecture', 'x86_64')
    .option('--archetype <name>', 'archetype', 'ral-tier1')
    .option('--domain <name>', 'domain (not with --sandbox)')
    .option('--sandbox <author/name>', 'sandbox (not with --domain)')
    .addOption(new Option('--trigger <mode>', 'direct | queue').choices(['direct', 'queue']))
    .option('--json', 'print the result as JSON');
  command('rerender', 're-render images from their manifests with the current templates and maps; one commit per image that changes', 'packuilon rerender --dry-run', () => import('./commands/rerender.js'))
    .argument('[keys...]', 'image keys [every image]')
    .option('--dry-run', 'list what would change; write nothing')
    .option('--json', 'print the report as JSON');
  command('history', 'the audit trail from git: image changes, profiles, triggers, newest first', 'packuilon history nubesvms-sl7x-x86_64 --json', () => import('./commands/history.js'))
    .argument('[key]', 'an image key')
    .option('-n, --limit <count>', 'at most this many entries')
    .option('--json', 'print JSON');
  command('requests', 'the open Packuilon merge requests / pull requests, their ages and pipeline states', 'packuilon requests --json', () => import('./commands/requests.js'))
    .option('--json', 'print JSON');
  command('init', 'scaffold an image repo (templates, maps, packuilon.yaml) in DIR', 'packuilon init ./images-repo --index-url http://aquilon.example.org/profiles/profiles-info.xml', () => import('./commands/init.js'))
    .argument('[dir]', 'target directory [current directory]')
    .option('--index-url <url>', "Aquilon's profiles-info.xml URL")
    .option('--index-dir <dir>', 'a local directory of profiles instead')
    .option('--match <substring>', 'profile name filter, as the seed\'s PROFILE_MATCH', '.cloud.template.json')
    .option('--remote <name>', 'git remote to push to');
  command('migrate', 'import a seed /etc/packer-utils into this directory (or --into)', 'packuilon migrate /etc/packer-utils --into ./images-repo', () => import('./commands/migrate.js'))
    .argument('<dir>', 'the seed configuration directory')
    .option('--into <dir>', 'target directory [current directory]')
    .addOption(new Option('--trigger <mode>', 'trigger to write [direct]').choices(['direct', 'queue']))
    .option('--json', 'print the report as JSON');

  command('rollback', 'the newest warehoused image of each image name of KEY becomes current again; exit 1 names those with nothing to roll back', 'packuilon rollback nubesvms-sl7x-x86_64', () => import('./commands/rollback.js'))
    .argument('<key>', 'an image key')
    .option('--out <dir>', 'the out/ directory [<repo>/out]')
    .option('--json', 'print the change list as JSON');
  command('prune', 'retention: warehoused images beyond promote.keep per name (only ours); a dry run unless --apply', 'packuilon prune nubesvms-sl7x-x86_64 --apply', () => import('./commands/prune.js'))
    .argument('[key]', 'an image key [every name]')
    .option('--apply', 'delete / deactivate (promote.prune) instead of listing')
    .option('--out <dir>', 'the out/ directory [<repo>/out]')
    .option('--json', 'print the report as JSON');

  // Pipeline jobs, one subcommand each: `packuilon ci plan`, `ci build`, ….
  const ci = program.command('ci').description('pipeline jobs run by .gitlab-ci.yml (plan, build, test, promote, reject, local)');
  command('plan', 'the images changed between two commits (defaults from GitLab CI variables) and why', 'packuilon ci plan --from 1a2b3c4 --to 5d6e7f8 --child-pipeline out/child-pipeline.yml', () => import('./commands/ci-plan.js'), ci)
    .option('--from <sha>', 'start of the range [CI_MERGE_REQUEST_DIFF_BASE_SHA, else CI_COMMIT_BEFORE_SHA, else the parent of --to]')
    .option('--to <sha>', 'end of the range [CI_COMMIT_SHA, else HEAD]')
    .option('--json', 'print the plan as JSON')
    .option('--child-pipeline <file>', 'write the child pipeline (one job chain per image to build) to FILE');
  command('validate', 'merge-request gate: config and map schemas, build files parse, packer validate, re-render drift check', 'packuilon ci validate', () => import('./commands/ci-validate.js'), ci)
    .option('--from <sha>', 'start of the range [as ci plan]')
    .option('--to <sha>', 'end of the range [as ci plan]');
  command('local', "run this repo's .gitlab-ci.yml here with gitlab-ci-local (jobs in shells, PACKUILON = this build)", 'packuilon ci local -- --variable CI_COMMIT_BEFORE_SHA=1a2b3c4', () => import('./commands/ci-local.js'), ci)
    .argument('[args...]', 'passed on to gitlab-ci-local (after --)');
  command('build', 'packer validate + packer build of every build file of an image; writes out/<key>/build.json and build.env', 'packuilon ci build nubesvms-sl7x-x86_64 --out out', () => import('./commands/ci-build.js'), ci)
    .argument('<key>', 'an image key: a folder of images/')
    .option('--out <dir>', 'folder for <key>/ (build.json, build.env, logs) [<repo>/out]');
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  command('test', 'run the Rally task against the new image and decide: exit 0 pass, 3 the image failed, 1 Rally could not say', 'packuilon ci test nubesvms-sl7x-x86_64 --junit out/nubesvms-sl7x-x86_64/rally-junit.xml', () => import('./commands/ci-test.js'), ci)
    .argument('<key>', 'the image key')
    .option('--image-id <id>', 'the image to test (repeatable) [the IDs in out/<key>/build.json]', collect)
    .option('--task <file>', 'Rally task [templates/rally/<key>.yaml, else rally.task]')
    .option('--junit <file>', 'JUnit report [out/<key>/rally-junit.xml]');
  command('notify', 'tell people an image\'s final outcome: email and/or chat webhook; a failed notification is a warning', 'packuilon ci notify nubesvms-sl7x-x86_64 --outcome promoted', () => import('./commands/ci-notify.js'), ci)
    .argument('<key>', 'the image key')
    .addOption(new Option('--outcome <outcome>', 'what happened to the image (auto: rejected or build-failed as out/<key>/ says, else none)').choices(['promoted', 'rejected', 'build-failed', 'auto']).makeOptionMandatory())
    .option('--image-id <id>', 'the image (repeatable) [the IDs in out/<key>/build.json]', collect);
  command('promote', 'promote the new images of KEY: old ones warehoused, visibility, members, properties and provenance moved over', 'packuilon ci promote nubesvms-sl7x-x86_64', () => import('./commands/ci-promote.js'), ci)
    .argument('<key>', 'an image key')
    .option('--image-id <id>', 'a new image (repeatable) [the IDs of out/<key>/build.json]', collect, [])
    .option('--out <dir>', 'the out/ directory [<repo>/out]')
    .option('--json', 'print the change list as JSON');
  command('reject', 'a new image that failed its test → broken-<name>-<date>, private, no members; the current one untouched', 'packuilon ci reject nubesvms-sl7x-x86_64', () => import('./commands/ci-reject.js'), ci)
    .argument('<key>', 'an image key')
    .option('--image-id <id>', 'a rejected image (repeatable) [the IDs of out/<key>/build.json]', collect, [])
    .option('--if-failed', 'only when out/<key>/test.json says the test failed the image (its image IDs); else say why not and exit 0')
    .option('--out <dir>', 'the out/ directory [<repo>/out]')
    .option('--json', 'print the change list as JSON');

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const code = exitCodeOf(error);
    const hint = noConfigFile && error instanceof ConfigError ? `no config file (looked for ${noConfigFile}; name one with --config FILE or PACKUILON_CONFIG=FILE): ` : '';
    io.stderr.write(`packuilon: ${redact(`${hint}${messageOf(error)}`)}\n`); // whatever threw, no URL password reaches the terminal
    if (createLogger && (!(error instanceof PackuilonError) || code !== EXIT.usage)) log().error({ err: messageOf(error) }, 'command failed');
    return code;
  }
  return exitCode;
}
