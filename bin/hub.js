#!/usr/bin/env node
// The `hub` command. The CLI is TypeScript run through tsx (a runtime dependency of the hub, like
// `npm start`), so it works from a fresh clone after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
