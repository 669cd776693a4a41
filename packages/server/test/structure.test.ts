/**
 * The shape of the server's source: handlers are leaves (no handler imports another; what they share lives in its
 * own module under src/), and no file in src/ takes part in an import cycle, type-only imports included.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const HANDLERS = join(SRC, 'handlers');

/** Every `.ts` file under a directory, as absolute paths. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The relative imports of a file (`import … from './x.ts'`, `export … from`, `import './x.ts'`), resolved. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)].map(
    (m) => m[1] ?? m[2]!,
  );
  return specifiers.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s));
}

/** The first import cycle reachable from `files` (as a path of files, first = last), or undefined. */
function findCycle(files: readonly string[], importsOf = relativeImports): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...stack.slice(stack.indexOf(file)), file];
    state.set(file, 'open');
    stack.push(file);
    for (const next of importsOf(file)) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of files) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('server source structure', () => {
  it('should find relative imports, type-only and re-exports included (the checks below rely on it)', () => {
    const imports = relativeImports(join(SRC, 'index.ts')).map((f) => relative(SRC, f));
    assert.ok(imports.includes('app.ts'), `index.ts imports: ${imports.join(', ')}`);
    assert.ok(imports.includes('context.ts'), 'the `export type … from` of context.ts');
    const put = relativeImports(join(HANDLERS, 'object-put.ts')).map((f) => relative(SRC, f));
    assert.ok(put.includes('context.ts'), 'the `import type` of context.ts');
  });

  it('should have no handler that imports another handler', () => {
    const handlers = sourceFiles(HANDLERS);
    assert.ok(handlers.length >= 14, `handler files found: ${handlers.length}`);
    const offending = handlers.flatMap((file) =>
      relativeImports(file)
        .filter((target) => dirname(target) === HANDLERS)
        .map((target) => `${relative(SRC, file)} → ${relative(SRC, target)}`),
    );
    assert.deepEqual(offending, []);
  });

  it('should have no import cycle among the files of src/', () => {
    const cycle = findCycle(sourceFiles(SRC));
    assert.equal(cycle?.map((f) => relative(SRC, f)).join(' → '), undefined);
  });

  it('should report a cycle through the files that form it (the check itself, on a small graph)', () => {
    const graph: Record<string, string[]> = { a: ['b'], b: ['c', 'd'], c: ['a'], d: [] };
    assert.deepEqual(
      findCycle(['d', 'a'], (f) => graph[f]!),
      ['a', 'b', 'c', 'a'],
    );
    assert.equal(
      findCycle(['a'], (f) => (f === 'c' ? [] : graph[f]!)),
      undefined,
    );
  });
});
