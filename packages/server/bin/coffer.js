#!/usr/bin/env node
/**
 * The `coffer` command as one process. Node runs this file and then the TypeScript CLI itself (tsx's loader is
 * registered in-process rather than through a wrapper), so a supervisor's SIGTERM or SIGINT reaches the server
 * that listens, not a launcher that would die and leave it running.
 */
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
