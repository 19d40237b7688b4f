/**
 * Key layout of the LevelDB engine. One keyspace, utf8 keys, a one-letter table prefix:
 *
 *   g!<name>                 hub-wide values (secret, format: the layout's version, format.ts)
 *   m!<dataset>              dataset record (JSON)
 *   c!<epoch>!<seq>          the changelog: one entry per change          → encoded change
 *   k!<epoch>!<key>          current state: the latest change of each key → encoded change
 *   i!<epoch>!<term>␀<key>   term index: the terms of the latest version of each key → ''
 *   t!<epoch>!<key>          the terms a key is indexed under now, joined by ␀ (to replace them)
 *   j!<incarnation>!<n>      receive journal (raw requests, for recovery)
 *   b!<incarnation>!<id>     blobs (content-addressed files)
 *   x!<incarnation>!<ns>!<k> auxiliary entries
 *
 * Data is keyed by random ids, never by the dataset name: deleting a dataset is one atomic delete
 * of its record, after which its data is unreachable even if clearing it is interrupted (start-up
 * sweeps orphans), and a re-created dataset of the same name can never see old data. Changelog and
 * state are keyed by epoch so that a rebuild is written beside the live epoch and switched in by one
 * record write. `!` sorts below every other printable byte, so `<prefix>!` … `<prefix>"` bounds a range.
 */
export const SEP = '!';
export const END = '"'; // the byte after '!'

const SEQ_WIDTH = 16;

export const seqKey = (seq: number): string => String(seq).padStart(SEQ_WIDTH, '0');

export const keys = {
  global: (name: string) => `g!${name}`,
  dataset: (name: string) => `m!${name}`,
  datasetRange: { gt: 'm!', lt: `m${END}` },
  change: (epoch: string, seq: number) => `c!${epoch}!${seqKey(seq)}`,
  changePrefix: (epoch: string) => `c!${epoch}!`,
  state: (epoch: string, key: string) => `k!${epoch}!${key}`,
  statePrefix: (epoch: string) => `k!${epoch}!`,
  index: (epoch: string, term: string, key: string) => `i!${epoch}!${term}\u0000${key}`,
  indexPrefix: (epoch: string) => `i!${epoch}!`,
  terms: (epoch: string, key: string) => `t!${epoch}!${key}`,
  termsPrefix: (epoch: string) => `t!${epoch}!`,
  journal: (inc: string, n: number) => `j!${inc}!${seqKey(n)}`,
  journalPrefix: (inc: string) => `j!${inc}!`,
  blob: (inc: string, id: string) => `b!${inc}!${id}`,
  aux: (inc: string, ns: string, key: string) => `x!${inc}!${encodeNs(ns)}!${key}`,
  auxPrefix: (inc: string, ns: string) => `x!${inc}!${encodeNs(ns)}!`,
  auxAll: (inc: string) => `x!${inc}!`,
};

/** Namespaces are caller-chosen; keep '!' out of them so prefixes stay unambiguous. */
function encodeNs(ns: string): string {
  return encodeURIComponent(ns).replace(/!/g, '%21');
}

/** The range of every key that starts with `prefix` (which ends in '!'). */
export function prefixRange(prefix: string): { gt: string; lt: string } {
  return { gt: prefix, lt: prefix.slice(0, -1) + END };
}

/** Tables whose second segment is an epoch, and those whose second segment is an incarnation. */
export const EPOCH_TABLES = ['c', 'k', 'i', 't'] as const;
export const INCARNATION_TABLES = ['j', 'b', 'x'] as const;

/** Every range an epoch's data lives in (changelog, state). */
export const epochRanges = (epoch: string): Array<{ gt: string; lt: string }> =>
  EPOCH_TABLES.map((t) => prefixRange(`${t}${SEP}${epoch}${SEP}`));

/** Every range an incarnation's data lives in (journal, blobs, aux entries). */
export const incarnationRanges = (inc: string): Array<{ gt: string; lt: string }> =>
  INCARNATION_TABLES.map((t) => prefixRange(`${t}${SEP}${inc}${SEP}`));
