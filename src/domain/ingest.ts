import { EventEmitter } from 'node:events';
import { hubError } from '../errors.js';
import type {
  AppendRequest,
  AppendResult,
  DatasetRecord,
  JsonObject,
  JsonValue,
  Store,
} from '../store/types.js';
import { configOf, pushEnabled, recoveryEnabled, type DatasetConfig } from './config.js';
import { compileRecordSchema } from './validation.js';

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

  constructor(private readonly store: Store) {
    super();
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
    const config = configOf(dataset);
    if (source === 'push' && !pushEnabled(config)) {
      throw hubError('PUSH_DISABLED', `push is disabled for dataset '${dataset.name}'; its data is kept`);
    }
    const now = Date.now();
    const t = await this.translator(envelope.protocol)({ envelope, dataset, config, mode: 'live', now });
    if (guard) await guard(t);
    checkSubjects(config, t.subjects);
    const { received, subjects: _subjects, ...append } = t;
    const request: AppendRequest = {
      ...append,
      recorded: now,
      journal: recoveryEnabled(config) ? journalText(envelope) : undefined,
    };
    const result = await this.store.append(dataset.name, request);
    if (received > 0 && !result.duplicate) {
      this.emit('ingested', { dataset: dataset.name, received, changes: result.changes, at: now });
    }
    return { ...result, received };
  }
}

/**
 * The dataset schema applies to every document of every protocol; one violation rejects the request.
 * The 400 names the element (its position in the request) and ajv's message, and carries the
 * offending value's JSON pointer (`path`) and the failed `keyword` for clients that act on them.
 */
export function checkSubjects(config: DatasetConfig, subjects: readonly Subject[]): void {
  if (config.schema === undefined) return;
  const validate = compileRecordSchema(config.schema, config.validationMode ?? 'strict');
  for (const s of subjects) {
    const problem = validate(s.doc);
    if (problem !== null) {
      throw hubError(
        'SCHEMA_VIOLATION',
        `element ${s.index} does not match the dataset schema: ${problem.message}`,
        { index: s.index, path: problem.path, keyword: problem.keyword },
      );
    }
  }
}
