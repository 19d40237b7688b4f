import { AGGREGATES } from './aggregates.js';
import { DATE_FUNCTIONS } from './dates.js';
import { TEXT_FUNCTIONS, type FunctionDef } from './functions.js';
import { GEO_FUNCTIONS } from './geo-functions.js';
import { RANGE } from './range.js';

/**
 * Every ODSQL function the hub knows, in one list (docs/ods.md#odsql lists them for users): the
 * parser, the compiler and the analysis look names up here and nowhere else.
 */
export const BUILTINS: readonly FunctionDef[] = [
  ...TEXT_FUNCTIONS,
  ...DATE_FUNCTIONS,
  RANGE,
  ...GEO_FUNCTIONS,
  ...AGGREGATES,
];

const BY_NAME: ReadonlyMap<string, FunctionDef> = new Map(BUILTINS.map((fn) => [fn.name.toLowerCase(), fn]));

/** Function names are case-insensitive, like keywords. */
export function lookupFunction(name: string): FunctionDef | undefined {
  return BY_NAME.get(name.toLowerCase());
}
