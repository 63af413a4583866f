import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { scaffoldImageRepo } from '../flows/init.js';

// The boot tasks need Nova, which cannot run here: render them the way Rally
// does (Jinja2 from the task args, Rally's own dependency) and read the result.
const TEMPLATES = new URL('../../templates/rally/', import.meta.url).pathname;
const HOSTILE = 'id "with" \'quotes\' {{ flavor }} {% if x %}\nnewline: yes # not a comment <&>';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a rendered task is read field by field in the asserts
function render(file: string, args: Record<string, unknown>): any {
  const script = 'import jinja2, json, sys; print(jinja2.Environment().from_string(open(sys.argv[1]).read()).render(**json.loads(sys.argv[2])))';
  return parse(execFileSync('python3', ['-c', script, join(TEMPLATES, file), JSON.stringify(args)], { encoding: 'utf8' }));
}

describe('templates/rally', () => {
  it('boot-and-delete: the seed\'s task (serial, times 2, max_seconds_per_iteration 50, failure_rate.max 20); hostile args stay values', () => {
    const task = render('boot-and-delete.yaml', { image_id: HOSTILE, image_name: HOSTILE, flavor: 'm1."small"' });
    const workload = task.subtasks[0].workloads[0];
    assert.deepEqual(workload.scenario, { 'NovaServers.boot_and_delete_server': { image: { id: HOSTILE }, flavor: { name: 'm1."small"' } } });
    assert.deepEqual(workload.runner, { serial: { times: 2 } });
    assert.deepEqual(workload.sla, { max_seconds_per_iteration: 50, failure_rate: { max: 20 } });
  });

  it('boot-runcommand-delete: runs check-image.sh from the task folder with the services to check', () => {
    const task = render('boot-runcommand-delete.yaml', { image_id: 'img-1', flavor: 'm1.small', task_dir: '/repo/templates/rally', check_services: 'sshd ncm-cdispd' });
    const args = task.subtasks[0].workloads[0].scenario['VMTasks.boot_runcommand_delete'];
    assert.deepEqual(args.command, { script_file: '/repo/templates/rally/check-image.sh', interpreter: '/bin/sh', command_args: 'sshd ncm-cdispd' });
    assert.equal(args.username, 'root');
    assert.equal(args.image.id, 'img-1');
    const script = readFileSync(join(TEMPLATES, 'check-image.sh'), 'utf8');
    for (const check of ['AQ_PERSONALITY', 'quattor-fetch', 'quattor-configure --all', 'systemctl is-active']) assert.ok(script.includes(check), check);
    execFileSync('sh', ['-n', join(TEMPLATES, 'check-image.sh')]);
  });

  it('is scaffolded by init', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'packuilon-init-rally-'));
    const written = await scaffoldImageRepo({ dir, match: '' });
    for (const file of ['templates/rally/boot-and-delete.yaml', 'templates/rally/boot-runcommand-delete.yaml', 'templates/rally/check-image.sh']) {
      assert.ok(written.includes(file) && existsSync(join(dir, file)), file);
    }
  });
});
