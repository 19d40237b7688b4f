import { configOf, pushEnabled, redactConfig } from '../../domain/config.js';
import type { Principal } from '../../domain/datasets.js';
import type { Hub } from '../../domain/hub.js';
import type { DatasetRecord, JsonObject } from '../../store/types.js';

/** The ICAR dataset list item (docs/datasets.md#datasets): name, url, changes, containedTypes. */
export function listItem(d: DatasetRecord, baseUrl: string): JsonObject {
  const url = `${baseUrl}/datasets/${d.name}`;
  const types = Array.isArray(d.attrs.types) ? d.attrs.types : [];
  return { name: d.name, url, changes: `${url}/changes`, containedTypes: types };
}

/** GET /datasets/{id}: the list item plus the dataset's figures and the status of its background work. */
export function detail(hub: Hub, d: DatasetRecord, baseUrl: string, principal: Principal): JsonObject {
  const config = configOf(d);
  const view: JsonObject = {
    ...listItem(d, baseUrl),
    title: config.title ?? null,
    count: d.count,
    lastSeq: d.lastSeq,
    lastPushAt: d.lastPushAt === null ? null : new Date(d.lastPushAt).toISOString(),
    push: { enabled: pushEnabled(config) },
    public: config.public === true,
    createdAt: new Date(d.createdAt).toISOString(),
    ...hub.statusOf(d),
  };
  if (principal.role === 'admin') view.config = redactConfig(config) as JsonObject;
  return view;
}
