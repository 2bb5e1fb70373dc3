// Mermaid's own parser accepts the flowcharts `topoc graph --format mermaid`
// prints, for every example and for a topology whose strings hold every
// character Mermaid treats specially.
//
//   cargo build && cd tests/mermaid && npm ci && TOPOC=../../target/debug/topoc npm test

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSDOM } from 'jsdom';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const topoc = path.resolve(here, process.env.TOPOC ?? '../../target/debug/topoc');

// Mermaid expects a browser; its parser only needs a DOM.
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

const inputs = [
  ...fs
    .readdirSync(path.join(root, 'examples'))
    .filter((name) => name.endsWith('.topo'))
    .map((name) => path.join(root, 'examples', name)),
  path.join(root, 'tests', 'fixtures', 'graph', 'hostile.topo'),
];

for (const input of inputs) {
  test(`mermaid parses the graph of ${path.basename(input)}`, async () => {
    const chart = execFileSync(topoc, ['graph', input, '--format', 'mermaid'], {
      encoding: 'utf8',
    });
    assert.ok(chart.startsWith('flowchart LR\n'));
    const result = await mermaid.parse(chart);
    assert.equal(result.diagramType, 'flowchart-v2');
  });
}

test('a broken chart is refused (the parser is really checking)', async () => {
  await assert.rejects(mermaid.parse('flowchart LR\n  a["x"] --> b[\n'));
  await assert.rejects(mermaid.parse('flowchart LR\n  a["x"]y"] --> b\n'));
  await assert.rejects(mermaid.parse('flowchart LR\n  subgraph s["a"]\n  a("x")\n'));
});
