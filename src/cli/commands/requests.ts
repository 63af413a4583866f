import { forgeOf } from '../../flows/merge-requests.js';
import { EXIT } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';

/** The open Packuilon requests, from the forge itself (local state never decides). */
export async function run(context: CommandContext, options: Record<string, unknown>): Promise<number> {
  const loaded = context.config();
  const forge = forgeOf(loaded, context.io.env, context.log);
  const open = (await forge.listOpenRequests()).sort((a, b) => a.key.localeCompare(b.key));
  const now = Date.now();
  const rows = [];
  for (const request of open) {
    const pipeline = await forge.pipelineState(request);
    const ageHours = Math.max(0, (now - Date.parse(request.createdAt)) / 3_600_000);
    rows.push({ key: request.key, id: request.id, url: request.url, branch: request.branch, title: request.title, created_at: request.createdAt, age_hours: Math.round(ageHours * 10) / 10, pipeline });
  }
  if (options.json) {
    context.io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT.ok;
  }
  if (!rows.length) context.io.stdout.write(`no open Packuilon requests on ${forge.project}\n`);
  for (const row of rows) context.io.stdout.write(`${row.key}  ${ageOf(row.age_hours)}  pipeline ${row.pipeline}  ${row.url}\n`);
  return EXIT.ok;
}

function ageOf(hours: number): string {
  return hours < 48 ? `${Math.round(hours)}h` : `${Math.round(hours / 24)}d`;
}
