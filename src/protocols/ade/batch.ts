import type { HubError } from '../../errors.js';

/**
 * The ADE batch POST's answer: one `icarBatchResult` per posted item, in order (`id`, `meta` of the
 * item, `messages`: icarResponseMessageResource problems).
 */
export interface BatchResult {
  id?: string;
  meta?: unknown;
  messages: BatchMessage[];
}

export interface BatchMessage {
  type: string;
  severity: 'Information' | 'Warning' | 'Error';
  status: number;
  title: string;
  detail: string;
  /** JSON pointer of the offending value inside the item */
  instance: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function resultOf(item: unknown, messages: BatchMessage[]): BatchResult {
  const out: BatchResult = { messages };
  if (isObject(item)) {
    if (typeof item.id === 'string') out.id = item.id;
    if (isObject(item.meta)) out.meta = item.meta;
  }
  return out;
}

/** Every item stored: its identity and no messages. */
export const batchResults = (items: readonly unknown[]): BatchResult[] => items.map((i) => resultOf(i, []));

/**
 * A refused batch: each bad item's problems as Error messages, and on every other item an
 * Information message saying it was not stored either (the batch is all or nothing).
 */
export function refusedBatch(items: readonly unknown[], err: HubError): BatchResult[] {
  const byItem = new Map<number, BatchMessage[]>();
  for (const e of err.details.errors as {
    index?: number;
    path?: string;
    keyword?: string;
    message?: string;
  }[]) {
    const i = typeof e.index === 'number' ? e.index : 0;
    const list = byItem.get(i) ?? [];
    list.push({
      type: `urn:sync-hub:error:${err.code}`,
      severity: 'Error',
      status: err.status,
      title: e.keyword ?? err.code,
      detail: e.message ?? err.message,
      instance: `#${e.path ?? ''}`,
    });
    byItem.set(i, list);
  }
  return items.map((item, i) =>
    resultOf(
      item,
      byItem.get(i) ?? [
        {
          type: `urn:sync-hub:error:${err.code}`,
          severity: 'Information',
          status: err.status,
          title: 'not stored',
          detail: 'the batch was refused as a whole because of other items: nothing of it was stored',
          instance: '#',
        },
      ],
    ),
  );
}
