import { EventEmitter } from 'node:events';
import { hubError, isHubError } from '../errors.js';
import type {
  AppendRequest,
  AppendResult,
  DatasetRecord,
  JsonObject,
  JsonValue,
  Store,
} from '../store/types.js';
import { configOf, pushEnabled, recoveryEnabled, type DatasetConfig } from './config.js';
import { schemaSetProblems, SchemaSets, type CompiledSchemaSet } from './schema-set.js';
import { compileRecordSchema, MAX_PROBLEMS, type SchemaProblem } from './validation.js';

/** A request as a protocol received it: what the receive journal keeps and recovery replays. */
export interface Envelope {
  readonly protocol: string;
  /** the records/resources/events as received */
  readonly body: JsonValue;
  /** request-level parameters the translation needs (namespaces, msgid, sync headers…) */
  readonly params?: JsonObject;
  /**
   * The body's JSON text exactly as received, when the protocol has it (JSON.parse(bodyText) is
   * `body`): the journal then stores it as is instead of serialising the body a second time.
   */
  readonly bodyText?: string;
}

/** The journal's text of an envelope: {"protocol","params","body"}, splicing the received text when there is one. */
export function journalText(e: Envelope): string {
  const head = `{"protocol":${JSON.stringify(e.protocol)}${e.params ? `,"params":${JSON.stringify(e.params)}` : ''},"body":`;
  return head + (e.bodyText ?? JSON.stringify(e.body)) + '}';
}

/** A document to check against the dataset's schema, and its position in the request. */
export interface Subject {
  readonly index: number;
  readonly doc: unknown;
}

/** What a protocol's translator makes of an envelope: an append plus what to validate. */
export interface Translation extends Omit<AppendRequest, 'journal' | 'recorded'> {
  /** records in the request (for the response and for inactivity alerts) */
  readonly received: number;
  readonly subjects: readonly Subject[];
}

export interface TranslateInput {
  readonly envelope: Envelope;
  readonly dataset: DatasetRecord;
  readonly config: DatasetConfig;
  /** live: a request being received; replay: recovery rebuilding from the journal */
  readonly mode: 'live' | 'replay';
  readonly now: number;
}

export type Translator = (input: TranslateInput) => Translation | Promise<Translation>;

/**
 * A check of a live request's translation before anything of it is stored (a scoped key's push:
 * protocols/scope.ts): throwing refuses the whole request.
 */
export type WriteGuard = (t: Translation) => Promise<void>;

export interface IngestResult extends AppendResult {
  readonly received: number;
}

export interface IngestedEvent {
  readonly dataset: string;
  readonly received: number;
  readonly changes: number;
  readonly at: number;
}

export type IngestSource = 'push' | 'schedule';

/**
 * The one way data gets in. Every protocol hands its request here as an envelope; the protocol's
 * translator turns it into writes, the dataset schema checks every document, the raw envelope goes
 * to the receive journal, and all of it is one atomic store append.
 */
export class Ingestor extends EventEmitter<{ ingested: [IngestedEvent] }> {
  private readonly translators = new Map<string, Translator>();
  /** the datasets' schema sets (docs/icar.md#schema-sets) */
  readonly schemaSets: SchemaSets;

  constructor(private readonly store: Store) {
    super();
    this.schemaSets = new SchemaSets(store);
  }

  register(protocol: string, translator: Translator): void {
    this.translators.set(protocol, translator);
  }

  translator(protocol: string): Translator {
    const t = this.translators.get(protocol);
    if (!t) throw hubError('INTERNAL', `no translator for protocol '${protocol}'`);
    return t;
  }

  async ingest(
    dataset: DatasetRecord,
    envelope: Envelope,
    source: IngestSource = 'push',
    guard?: WriteGuard,
  ): Promise<IngestResult> {
    const now = Date.now();
    const { request, received } = await this.prepare(dataset, envelope, source, now, guard);
    const result = await this.store.append(dataset.name, request);
    this.report(dataset, received, result, now);
    return { ...result, received };
  }

  /**
   * Several datasets' requests as one atomic append (POST /transactions): every part is translated,
   * validated and journaled as if it came alone, then all are stored or none. An error names the
   * dataset whose part it is about.
   */
  async ingestMany(
    parts: ReadonlyArray<{ dataset: DatasetRecord; envelope: Envelope }>,
  ): Promise<IngestResult[]> {
    const now = Date.now();
    const prepared: Array<{ request: AppendRequest; received: number }> = [];
    for (const { dataset, envelope } of parts) {
      try {
        const p = await this.prepare(dataset, envelope, 'push', now);
        if (p.request.sweep || p.request.clearAux) {
          throw hubError('INTERNAL', 'a sweeping request cannot be part of a multi-dataset append');
        }
        prepared.push(p);
      } catch (err) {
        if (!isHubError(err) || err.status >= 500) throw err;
        throw hubError(err.code, `dataset '${dataset.name}': ${err.message}`, {
          ...err.details,
          dataset: dataset.name,
        });
      }
    }
    const results = await this.store.appendMany(
      parts.map((p, i) => ({ name: p.dataset.name, request: prepared[i]!.request })),
    );
    return results.map((result, i) => {
      const received = prepared[i]!.received;
      this.report(parts[i]!.dataset, received, result, now);
      return { ...result, received };
    });
  }

  private async prepare(
    dataset: DatasetRecord,
    envelope: Envelope,
    source: IngestSource,
    now: number,
    guard?: WriteGuard,
  ): Promise<{ request: AppendRequest; received: number }> {
    const config = configOf(dataset);
    if (source === 'push' && !pushEnabled(config)) {
      throw hubError('PUSH_DISABLED', `push is disabled for dataset '${dataset.name}'; its data is kept`);
    }
    const t = await this.translator(envelope.protocol)({ envelope, dataset, config, mode: 'live', now });
    if (guard) await guard(t);
    checkSubjects(config, t.subjects, await this.schemaSets.load(dataset));
    const { received, subjects: _subjects, ...append } = t;
    const request: AppendRequest = {
      ...append,
      recorded: now,
      journal: recoveryEnabled(config) ? journalText(envelope) : undefined,
    };
    return { request, received };
  }

  private report(dataset: DatasetRecord, received: number, result: AppendResult, now: number): void {
    if (received > 0 && !result.duplicate) {
      this.emit('ingested', { dataset: dataset.name, received, changes: result.changes, at: now });
    }
  }
}

/** A problem of one element of a request: where it is in the request, and what is wrong. */
export interface ElementProblem extends SchemaProblem {
  readonly index: number;
}

/**
 * The dataset schema (and its schema set, when it has one) applies to every document of every
 * protocol; any violation rejects the whole request. The 400 names the first element (its position
 * in the request) and ajv's message, carries the offending value's JSON pointer (`path`) and the
 * failed `keyword`, and lists every problem of every element in `errors` (at most MAX_PROBLEMS;
 * `truncated` when there were more).
 */
export function checkSubjects(
  config: DatasetConfig,
  subjects: readonly Subject[],
  set?: CompiledSchemaSet,
): void {
  if (config.schema === undefined && set === undefined) return;
  const validate =
    config.schema === undefined
      ? undefined
      : compileRecordSchema(config.schema, config.validationMode ?? 'strict');
  const unknownType = config.icar?.unknownResourceType ?? 'refuse';
  const errors: ElementProblem[] = [];
  let truncated = false;
  for (const s of subjects) {
    const found = [
      ...(validate ? validate(s.doc) : []),
      ...(set ? schemaSetProblems(set, s.doc, unknownType) : []),
    ];
    for (const p of found) errors.push({ index: s.index, ...p });
    if (errors.length >= MAX_PROBLEMS) {
      truncated = errors.length > MAX_PROBLEMS || s !== subjects[subjects.length - 1];
      break;
    }
  }
  if (errors.length === 0) return;
  const first = errors[0]!;
  throw hubError(
    'SCHEMA_VIOLATION',
    `element ${first.index} does not match the dataset schema: ${first.message}`,
    {
      index: first.index,
      path: first.path,
      keyword: first.keyword,
      errors: errors.slice(0, MAX_PROBLEMS),
      ...(truncated ? { truncated: true } : {}),
    },
  );
}
