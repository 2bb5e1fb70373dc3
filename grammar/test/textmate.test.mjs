// The TextMate grammar (grammar/topo.tmLanguage.json), tokenized with the
// same engine VS Code uses, on every example: nothing is left unscoped or
// marked invalid, and each construct gets its scope.
//
//   cd grammar/test && npm ci && npm test

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vsctm from 'vscode-textmate';
import oniguruma from 'vscode-oniguruma';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const grammarPath = path.join(root, 'grammar', 'topo.tmLanguage.json');

const wasm = fs.readFileSync(path.join(here, 'node_modules', 'vscode-oniguruma', 'release', 'onig.wasm'));
await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
const registry = new vsctm.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }),
  loadGrammar: async (scopeName) =>
    scopeName === 'source.topo'
      ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath)
      : null,
});
const grammar = await registry.loadGrammar('source.topo');

/** Tokens of a text: [{line, start, end, text, scopes}]. */
function tokenize(text) {
  const tokens = [];
  let stack = vsctm.INITIAL;
  text.split('\n').forEach((line, number) => {
    const result = grammar.tokenizeLine(line, stack);
    for (const token of result.tokens) {
      tokens.push({
        line: number,
        start: token.startIndex,
        end: Math.min(token.endIndex, line.length),
        text: line.slice(token.startIndex, token.endIndex),
        scopes: token.scopes,
      });
    }
    stack = result.ruleStack;
  });
  return tokens;
}

/** The scopes of the token holding the `delta`th character of `needle`. */
function scopesAt(text, needle, delta = 0) {
  const offset = text.indexOf(needle);
  assert.notEqual(offset, -1, `${needle} not in the text`);
  const before = text.slice(0, offset + delta);
  const line = before.split('\n').length - 1;
  const column = before.length - before.lastIndexOf('\n') - 1;
  const token = tokenize(text).find((t) => t.line === line && t.start <= column && column < t.end);
  assert.ok(token, `no token at ${needle}`);
  return token.scopes;
}

function assertScope(text, needle, scope, delta = 0) {
  const scopes = scopesAt(text, needle, delta);
  assert.ok(scopes.includes(scope), `${needle}: expected ${scope}, got ${scopes.join(' ')}`);
}

const examples = fs
  .readdirSync(path.join(root, 'examples'))
  .filter((name) => name.endsWith('.topo'))
  .map((name) => path.join(root, 'examples', name));

test('the examples exist', () => {
  assert.ok(examples.length >= 4);
});

for (const example of examples) {
  test(`every character of ${path.basename(example)} is scoped, none invalid`, () => {
    const text = fs.readFileSync(example, 'utf8');
    for (const token of tokenize(text)) {
      if (token.text.trim() === '') continue;
      assert.ok(
        token.scopes.length > 1,
        `line ${token.line + 1}: "${token.text}" has only ${token.scopes.join(' ')}`,
      );
      assert.ok(
        !token.scopes.some((s) => s.startsWith('invalid')),
        `line ${token.line + 1}: "${token.text}" is ${token.scopes.join(' ')}`,
      );
    }
  });
}

test('keywords, names, strings, numbers, quantities, comments and secrets', () => {
  const text = fs.readFileSync(path.join(root, 'examples', 'multi-datacenter.topo'), 'utf8');
  assertScope(text, 'topology telco', 'storage.type.block.topo');
  assertScope(text, 'datacenter colombo', 'storage.type.block.topo');
  assertScope(text, 'colombo {', 'entity.name.section.topo');
  assertScope(text, 'cluster control_plane', 'storage.type.block.topo');
  assertScope(text, 'load_balancer api', 'storage.type.block.topo');
  assertScope(text, 'version = "4.2.0"', 'variable.other.property.topo');
  assertScope(text, 'version = "4.2.0"', 'keyword.operator.assignment.topo', 8);
  assertScope(text, '"4.2.0"', 'string.quoted.double.topo', 2);
  assertScope(text, 'peak_load = 1500rps', 'constant.numeric.quantity.topo', 13);
  assertScope(text, 'peak_load = 1500rps', 'keyword.other.unit.topo', 17);
  assertScope(text, 'poll = 30s', 'constant.numeric.quantity.topo', 7);
  assertScope(text, 'recovery_time = 4h', 'constant.numeric.quantity.topo', 16);
  assertScope(text, 'nodes = 2', 'constant.numeric.topo', 8);
  assertScope(text, '# Acknowledged', 'comment.line.number-sign.topo', 3);
  assertScope(text, '# Acknowledged', 'punctuation.definition.comment.topo');
  assertScope(text, 'secret("apim-db-password")', 'support.function.secret.topo');
  assertScope(text, 'secret("apim-db-password")', 'string.quoted.double.topo', 9);
  assertScope(text, 'secret("apim-db-password")', 'punctuation.definition.arguments.end.topo', 25);
  assertScope(text, 'ha = active-passive', 'constant.language.enum.topo', 5);
  assertScope(text, 'role = read-only', 'constant.language.enum.topo', 10);
  assertScope(text, 'key_manager = control_plane', 'variable.other.reference.topo', 15);
  assertScope(text, '[apim_db, shared_db]', 'variable.other.reference.topo', 10);
  assertScope(text, '[apim_db, shared_db]', 'punctuation.separator.comma.topo', 8);
  assertScope(text, 'restart = true', 'constant.language.boolean.topo', 10);
});

test('imports, multi-line lists and strings that look like other things', () => {
  const text = [
    'import "sites/colombo.topo" # the site',
    'upgrade u {',
    '  clusters = [',
    '    gateway, # the first',
    '    control_plane,',
    '  ]',
    '  window = "Sun # not a comment \\"quoted\\" \\u{1F600}"',
    '  read_only_window = 90min',
    '}',
  ].join('\n');
  assertScope(text, 'import', 'keyword.control.import.topo');
  assertScope(text, '"sites/', 'string.quoted.double.topo', 1);
  assertScope(text, '# the site', 'comment.line.number-sign.topo');
  assertScope(text, 'gateway,', 'variable.other.reference.topo');
  assertScope(text, 'control_plane,', 'variable.other.reference.topo');
  assertScope(text, '# not a comment', 'string.quoted.double.topo');
  assert.ok(!scopesAt(text, '# not a comment').some((s) => s.startsWith('comment')));
  assertScope(text, '\\"quoted', 'constant.character.escape.topo');
  assertScope(text, '\\u{1F600}', 'constant.character.escape.topo');
  assertScope(text, '90min', 'keyword.other.unit.topo', 2);
});

test('what is not topo is marked invalid', () => {
  const text = 'cluster gw {\n  Nodes = 2\n  cpu = 5m\n  host = "bad \\q escape"\n}';
  assertScope(text, 'Nodes', 'invalid.illegal.topo');
  assertScope(text, '5m', 'invalid.illegal.topo');
  assertScope(text, '\\q', 'invalid.illegal.escape.topo');
  // An unterminated string ends with its line.
  const open = 'a b {\n  host = "open\n  nodes = 2\n}';
  assertScope(open, 'nodes = 2', 'variable.other.property.topo');
  assertScope(open, 'nodes = 2', 'constant.numeric.topo', 8);
});
