#!/usr/bin/env node
// The `concordia` command as installed by npm: the sources are TypeScript run through tsx
// (docs/adr/0002-typescript-run-with-tsx.md), so register tsx's loader before importing them.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
