/**
 * Loads every built-in ODSQL function into the registry (functions.ts holds search()). Imported by
 * the parser, so that any query sees them all.
 */
import './aggregates.js';
import './dates.js';
import './geo-functions.js';
import './range.js';
