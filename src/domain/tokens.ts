import { createHmac } from 'node:crypto';
import { hubError } from '../errors.js';

/**
 * Continuation tokens are opaque to clients: base64url of `<type>.<epoch>.<position>.<mac>`. The
 * MAC (HMAC-SHA256 with the hub's secret, over the dataset name too) lets the hub tell a token it
 * issued from a forged or mistyped one, and a token of another dataset from one of an old epoch.
 */
const MAC_LENGTH = 16;

function mac(secret: string, parts: string[]): string {
  return createHmac('sha256', secret).update(parts.join('\n')).digest('hex').slice(0, MAC_LENGTH);
}

function encode(secret: string, dataset: string, type: string, epoch: string, position: string): string {
  const m = mac(secret, [type, dataset, epoch, position]);
  return Buffer.from(`${type}.${epoch}.${position}.${m}`, 'utf8').toString('base64url');
}

function decode(
  secret: string,
  dataset: string,
  type: string,
  token: string,
): { epoch: string; position: string } {
  const invalid = hubError(
    'INVALID_TOKEN',
    'the continuation token is malformed or was not issued for this dataset',
  );
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(token)) throw invalid;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const parts = text.split('.');
  if (parts.length !== 4) throw invalid;
  const [t, epoch, position, m] = parts as [string, string, string, string];
  if (t !== type || !/^[0-9a-f]{16}$/.test(epoch)) throw invalid;
  if (mac(secret, [type, dataset, epoch, position]) !== m) throw invalid;
  return { epoch, position };
}

export interface SeqPosition {
  readonly epoch: string;
  readonly seq: number;
}

export function encodeSeqToken(secret: string, dataset: string, pos: SeqPosition): string {
  return encode(secret, dataset, 's', pos.epoch, String(pos.seq));
}

export function decodeSeqToken(secret: string, dataset: string, token: string): SeqPosition {
  const { epoch, position } = decode(secret, dataset, 's', token);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(position))
    throw hubError('INVALID_TOKEN', 'the continuation token is malformed');
  return { epoch, seq: Number(position) };
}

export interface KeyPosition {
  readonly epoch: string;
  /** the last key of the previous page */
  readonly key: string;
}

export function encodeKeyToken(secret: string, dataset: string, pos: KeyPosition): string {
  return encode(secret, dataset, 'k', pos.epoch, Buffer.from(pos.key, 'utf8').toString('base64url'));
}

export function decodeKeyToken(secret: string, dataset: string, token: string): KeyPosition {
  const { epoch, position } = decode(secret, dataset, 'k', token);
  return { epoch, key: Buffer.from(position, 'base64url').toString('utf8') };
}
