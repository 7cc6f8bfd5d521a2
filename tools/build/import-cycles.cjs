#!/usr/bin/env node
// Finds import circles among the TypeScript files of libs/, apps/ and tools/ (`npm run lint` runs it).
// Every kind of import counts: static, `import type`, `export ... from`, dynamic `import()` and `require()`.
// A type-only or lazily loaded edge still ties the two modules together (neither can be read, moved or
// split alone), and a circle that is type-only today is one value import away from a module that is
// undefined while it loads. Imports of the projects' packages (@movie-stream/<name>) are followed into their
// sources, so a circle through two projects is found too. Uses the TypeScript compiler the workspace has
// (its import scanner and module resolution): no dependency of its own.
// Usage: node tools/build/import-cycles.cjs [--root <dir>] [dir ...]   (default: this repository; libs apps tools)
// Prints each circle and exits 1 when there is one.
const { readdirSync, statSync } = require('node:fs');
const { join, relative, resolve, sep } = require('node:path');
const ts = require('typescript');

const ROOT = resolve(__dirname, '..', '..');
const SKIP_DIRS = new Set(['node_modules', 'dist', '.nx']);

function tsFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return SKIP_DIRS.has(name) ? [] : tsFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The graph: each file's imports that resolve to a scanned file. */
function importGraph(files, compilerOptions) {
  const scanned = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(ts.sys.readFile(file), true, true);
    const targets = new Set();
    for (const { fileName } of importedFiles) {
      const resolved = ts.resolveModuleName(fileName, file, compilerOptions, ts.sys).resolvedModule?.resolvedFileName;
      const target = resolved && resolve(resolved);
      if (target && scanned.has(target)) targets.add(target);
    }
    graph.set(file, [...targets]);
  }
  return graph;
}

/** Strongly connected components with a circle in them (Tarjan's algorithm, iterative). */
function circularComponents(graph) {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const out = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work = [[start, 0]];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1];
      const [node, i] = frame;
      const edges = graph.get(node);
      if (i < edges.length) {
        frame[1]++;
        const to = edges[i];
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push([to, 0]);
        } else if (onStack.has(to)) low.set(node, Math.min(low.get(node), index.get(to)));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(node)));
      }
      if (low.get(node) === index.get(node)) {
        const component = [];
        let n;
        do {
          n = stack.pop();
          onStack.delete(n);
          component.push(n);
        } while (n !== node);
        if (component.length > 1 || edges.includes(node)) out.push(component);
      }
    }
  }
  return out;
}

/** One shortest circle through the component's first file (by name), for the message. */
function oneCircle(graph, component) {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const from = new Map();
  const queue = [start];
  while (queue.length) {
    const node = queue.shift();
    for (const to of graph.get(node)) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(from.get(path[0]));
        return [...path, start];
      }
      if (!from.has(to)) {
        from.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

/**
 * The import circles among the .ts files under `dirs` (relative to `root`): one entry per group of files
 * that reach each other through imports, with all its `files` and one `circle` through them (paths
 * relative to `root`, '/'-separated).
 */
function findImportCycles(dirs = ['libs', 'apps', 'tools'], root = ROOT) {
  const { config } = ts.readConfigFile(join(root, 'tsconfig.base.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config ?? {}, ts.sys, root);
  const files = dirs.flatMap((d) => tsFiles(resolve(root, d)));
  const graph = importGraph(files, options);
  const rel = (f) => relative(root, f).split(sep).join('/');
  return circularComponents(graph)
    .map((component) => ({ files: component.map(rel).sort(), circle: oneCircle(graph, component).map(rel) }))
    .sort((a, b) => a.files[0].localeCompare(b.files[0]));
}

module.exports = { findImportCycles };

if (require.main === module) {
  const args = process.argv.slice(2);
  const rootAt = args.indexOf('--root');
  const root = rootAt >= 0 ? resolve(args.splice(rootAt, 2)[1]) : ROOT;
  const cycles = findImportCycles(args.length ? args : undefined, root);
  if (cycles.length === 0) {
    console.log('import-cycles: no import circles');
  } else {
    console.error(`import-cycles: ${cycles.length} import circle(s) (move what both sides need into a third module):`);
    for (const { files, circle } of cycles) {
      const others = files.filter((f) => !circle.includes(f));
      console.error(`  ${circle.join(' -> ')}${others.length ? ` (in a group with ${others.join(', ')})` : ''}`);
    }
    process.exit(1);
  }
}
