// Glance v2 over a Keystone session: the image lifecycle calls Packuilon makes.
import { Readable } from 'node:stream';
import { parseJson, OpenstackError, type Session } from './session.js';
import { Image, ImageList, Member, MemberList } from './schema.js';

export type PatchOp =
  | { op: 'add' | 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

export interface ImageStore {
  /** Every image matching the filters (Glance query parameters), following `next` links. */
  list(filters?: Record<string, string>): Promise<Image[]>;
  /** null when absent (404). */
  find(id: string): Promise<Image | null>;
  get(id: string): Promise<Image>;
  create(fields: Record<string, unknown>): Promise<Image>;
  /** Stream the image data (PUT /file). */
  upload(id: string, data: Readable | Uint8Array): Promise<void>;
  /** RFC 6902 patch (application/openstack-images-v2.1-json-patch); a no-op list is not sent. */
  patch(id: string, ops: PatchOp[], step?: string): Promise<Image>;
  deactivate(id: string): Promise<void>;
  reactivate(id: string): Promise<void>;
  members(id: string): Promise<Member[]>;
  addMember(id: string, project: string): Promise<Member>;
  setMemberStatus(id: string, project: string, status: Member['status']): Promise<Member>;
  removeMember(id: string, project: string): Promise<void>;
  remove(id: string): Promise<void>;
}

/** The path of a property in a JSON patch: `/` and `~` escaped (RFC 6901). */
export const pointer = (key: string) => `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;

export function createGlance(session: Session, options: { endpoint?: string; pageSize?: number } = {}): ImageStore {
  let base: string | undefined = options.endpoint?.replace(/\/+$/, '');
  const root = async () => (base ??= (await session.endpoint('image')).replace(/\/v2(\.\d+)?$/, ''));
  const url = async (path: string) => `${await root()}/v2${path}`;
  const id = (value: string) => encodeURIComponent(value);
  const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  const store: ImageStore = {
    async list(filters = {}) {
      const query = new URLSearchParams({ limit: String(options.pageSize ?? 500), ...filters });
      let next: string | undefined = await url(`/images?${query.toString()}`);
      const images: Image[] = [];
      for (let page = 0; next; page++) {
        const response = await session.request('GET', next, { step: `list images (page ${page + 1})` });
        const body = await parseJson(response, ImageList, 'list images');
        images.push(...body.images);
        // `next` is a path with the marker (`/v2/images?marker=…`), relative to the endpoint
        next = body.next ? `${await root()}${body.next.startsWith('/v2') ? '' : '/v2'}${body.next}` : undefined;
        if (page > 10_000) throw new Error('list images: more than 10,000 pages: a `next` loop?');
      }
      return images;
    },
    async find(imageId) {
      const response = await session.request('GET', await url(`/images/${id(imageId)}`), { step: `get image ${imageId}`, allow: [404] });
      if (response.status === 404) {
        await response.body?.cancel();
        return null;
      }
      return parseJson(response, Image, `get image ${imageId}`);
    },
    async get(imageId) {
      const image = await store.find(imageId);
      if (!image) throw new OpenstackError(404, `image ${imageId}: not found in Glance (or not visible to ${session.credentials.who})`);
      return image;
    },
    async create(fields) {
      const response = await session.request('POST', await url('/images'), { step: `create image ${String(fields.name)}`, ...json(fields) });
      return parseJson(response, Image, 'create image');
    },
    async upload(imageId, data) {
      const body = data instanceof Readable ? (Readable.toWeb(data) as ReadableStream) : data;
      const response = await session.request('PUT', await url(`/images/${id(imageId)}/file`), {
        step: `upload image ${imageId}`,
        body: body as BodyInit,
        headers: { 'content-type': 'application/octet-stream' },
      });
      await response.body?.cancel();
    },
    async patch(imageId, ops, step) {
      if (ops.length === 0) return store.get(imageId);
      const response = await session.request('PATCH', await url(`/images/${id(imageId)}`), {
        step: step ?? `update image ${imageId}`,
        body: JSON.stringify(ops),
        headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' },
      });
      return parseJson(response, Image, step ?? `update image ${imageId}`);
    },
    async deactivate(imageId) {
      const response = await session.request('POST', await url(`/images/${id(imageId)}/actions/deactivate`), { step: `deactivate image ${imageId}` });
      await response.body?.cancel();
    },
    async reactivate(imageId) {
      const response = await session.request('POST', await url(`/images/${id(imageId)}/actions/reactivate`), { step: `reactivate image ${imageId}` });
      await response.body?.cancel();
    },
    async members(imageId) {
      const response = await session.request('GET', await url(`/images/${id(imageId)}/members`), { step: `list members of image ${imageId}` });
      return (await parseJson(response, MemberList, `list members of image ${imageId}`)).members;
    },
    async addMember(imageId, project) {
      const step = `add member ${project} to image ${imageId}`;
      const response = await session.request('POST', await url(`/images/${id(imageId)}/members`), { step, ...json({ member: project }) });
      return parseJson(response, Member, step);
    },
    async setMemberStatus(imageId, project, status) {
      const step = `set member ${project} of image ${imageId} ${status}`;
      const response = await session.request('PUT', await url(`/images/${id(imageId)}/members/${id(project)}`), { step, ...json({ status }) });
      return parseJson(response, Member, step);
    },
    async removeMember(imageId, project) {
      const response = await session.request('DELETE', await url(`/images/${id(imageId)}/members/${id(project)}`), { step: `remove member ${project} from image ${imageId}`, allow: [404] });
      await response.body?.cancel();
    },
    async remove(imageId) {
      const response = await session.request('DELETE', await url(`/images/${id(imageId)}`), { step: `delete image ${imageId}`, allow: [404] });
      await response.body?.cancel();
    },
  };
  return store;
}
