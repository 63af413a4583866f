import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BuildOutput, describeLine, parseMachineReadableLine } from './machine-readable.js';
import { inspectHclTemplate, inspectJsonTemplate } from './template.js';

// Lines as Packer 1.6.6 wrote them (a file build and a failing null build).
const FILE_BUILD = `1795480532,,ui,say,==> render: Running post-processor: shell-local
1795480532,,ui,message,    render (shell-local): 0f87f8  build-out/sl7-aq-test.txt
1795480532,,ui,say,\\n==> Builds finished. The artifacts of successful builds are:
1795480532,render,artifact-count,2
1795480532,render,artifact,0,builder-id,packer.file
1795480532,render,artifact,0,id,File
1795480532,render,artifact,0,string,Stored file: build-out/sl7-aq-test.txt
1795480532,render,artifact,0,files-count,1
1795480532,render,artifact,0,file,0,build-out/a%!(PACKER_COMMA)b.txt
1795480532,render,artifact,0,end
1795480532,render,artifact,1,builder-id,packer.post-processor.manifest
1795480532,render,artifact,1,id,File
1795480532,render,artifact,1,end`;

const FAILED = `1795480538,,ui,say,==> sl7-aq-test: Provisioning step had errors: Running the cleanup provisioner%!(PACKER_COMMA) if present...
1795480538,,ui,error,Build 'sl7-aq-test' errored after 5 milliseconds 105 microseconds: Script exited with non-zero exit status: 3.Allowed exit codes are: [0]
1795480538,,error-count,1
1795480538,sl7-aq-test,error,Script exited with non-zero exit status: 3.Allowed exit codes are: [0]`;

function fold(text: string): BuildOutput {
  const output = new BuildOutput();
  for (const line of text.split('\n')) {
    const parsed = parseMachineReadableLine(line);
    assert.ok(parsed, line);
    output.add(parsed);
  }
  return output;
}

describe('packer machine-readable output', () => {
  it('splits fields and restores commas and newlines', () => {
    const line = parseMachineReadableLine('1795480538,,ui,say,\\n==> a%!(PACKER_COMMA) b');
    assert.ok(line);
    assert.deepEqual(line, { timestamp: 1795480538, target: '', type: 'ui', data: ['say', '\n==> a, b'] });
    assert.equal(describeLine(line), '==> a, b');
    assert.equal(describeLine(parseMachineReadableLine('1,t,artifact,0,id,X')!), 't artifact 0 id X');
  });

  it('is not fooled by text that is not machine-readable', () => {
    for (const text of ['', 'panic: runtime error', 'abc,,ui,say,x', '17,,UI,say,x', '17,t']) assert.equal(parseMachineReadableLine(text), undefined, text);
  });

  it('collects artifacts per build and index, files with commas intact', () => {
    const output = fold(FILE_BUILD);
    assert.equal(output.artifacts.length, 2);
    assert.deepEqual(output.firstArtifact(), { target: 'render', index: 0, builderId: 'packer.file', id: 'File', string: 'Stored file: build-out/sl7-aq-test.txt', files: ['build-out/a,b.txt'] });
    assert.deepEqual(output.errors, []);
  });

  it('collects the error lines of a failed build', () => {
    const output = fold(FAILED);
    assert.deepEqual(output.artifacts, []);
    assert.equal(output.errors.length, 1);
    assert.match(output.errors[0]!, /^sl7-aq-test: Script exited with non-zero exit status: 3/);
    assert.equal(output.uiErrors.length, 1);
    assert.deepEqual(output.lastErrors(), ['sl7-aq-test: Script exited with non-zero exit status: 3.Allowed exit codes are: [0]']);
  });
});

describe('build file inspection', () => {
  it('finds manifest outputs, filling user variables from the var file', () => {
    const text = JSON.stringify({
      variables: { out: 'default-out', image_name: '' },
      builders: [{ type: 'null' }],
      'post-processors': [[{ type: 'shell-local', inline: ['true'] }, { type: 'manifest', output: '{{user `out`}}/{{user `image_name`}}.json' }], 'manifest', { type: 'manifest', output: '{{ timestamp }}.json' }],
    });
    assert.deepEqual(inspectJsonTemplate(text, { image_name: 'img' }).manifests, ['default-out/img.json', 'packer-manifest.json']);
  });

  it('tells an openstack build file, and whether it names its own cloud', () => {
    assert.deepEqual(inspectJsonTemplate(JSON.stringify({ builders: [{ type: 'openstack' }] }), {}), { openstack: true, ownsCloud: false, manifests: [] });
    assert.equal(inspectJsonTemplate(JSON.stringify({ builders: [{ type: 'openstack', identity_endpoint: 'http://k/v3' }] }), {}).ownsCloud, true);
    assert.equal(inspectJsonTemplate('not json', {}).openstack, false);
    assert.equal(inspectHclTemplate('source "openstack" "x" {\n  flavor = "m1"\n}\n').openstack, true);
    assert.equal(inspectHclTemplate('source "null" "x" {}\n').openstack, false);
    const hcl = 'build {\n  post-processor "manifest" {\n    output = "m.json"\n  }\n  post-processor "manifest" {\n    output = "${var.x}.json"\n  }\n  post-processor "manifest" {}\n}\n';
    assert.deepEqual(inspectHclTemplate(hcl).manifests, ['m.json', 'packer-manifest.json']);
  });
});
