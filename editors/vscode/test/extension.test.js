// The extension's glue, with VS Code and the language client replaced by
// recording fakes: it starts `topoc lsp` for topo documents, follows the
// `topoc.path` setting, and its manifest points at the grammar.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const events = [];
const settings = { path: undefined };
let configurationListener;
let failStart = false;

class LanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    this.serverOptions = serverOptions;
    this.clientOptions = clientOptions;
    events.push(['new', id, serverOptions.command, serverOptions.args]);
    assert.deepEqual(
      clientOptions.documentSelector.map((s) => `${s.scheme}:${s.language}`),
      ['file:topo', 'untitled:topo'],
    );
  }
  async start() {
    events.push(['start', this.serverOptions.command]);
    if (failStart) throw new Error('spawn topoc ENOENT');
  }
  async stop() {
    events.push(['stop', this.serverOptions.command]);
  }
}

const fakes = {
  vscode: {
    workspace: {
      getConfiguration: (section) => {
        assert.equal(section, 'topoc');
        return { get: (key) => settings[key] };
      },
      onDidChangeConfiguration: (listener) => {
        configurationListener = listener;
        return { dispose() {} };
      },
    },
    window: {
      showErrorMessage: (message) => events.push(['error', message]),
    },
  },
  'vscode-languageclient/node': { LanguageClient, TransportKind: { stdio: 0 } },
};
const load = Module._load;
Module._load = function (request, ...rest) {
  return request in fakes ? fakes[request] : load.call(this, request, ...rest);
};
const extension = require('../extension.js');

test('starts topoc lsp for topo documents and follows topoc.path', async () => {
  const context = { subscriptions: [] };
  await extension.activate(context);
  assert.deepEqual(events.splice(0), [
    ['new', 'topoc', 'topoc', ['lsp']],
    ['start', 'topoc'],
  ]);
  assert.equal(context.subscriptions.length, 1);

  settings.path = '/opt/topoc/bin/topoc';
  await configurationListener({ affectsConfiguration: (key) => key === 'topoc.path' });
  assert.deepEqual(events.splice(0), [
    ['stop', 'topoc'],
    ['new', 'topoc', '/opt/topoc/bin/topoc', ['lsp']],
    ['start', '/opt/topoc/bin/topoc'],
  ]);

  await configurationListener({ affectsConfiguration: () => false });
  assert.deepEqual(events.splice(0), []);

  await extension.deactivate();
  assert.deepEqual(events.splice(0), [['stop', '/opt/topoc/bin/topoc']]);
});

test('a missing topoc is reported, not thrown', async () => {
  failStart = true;
  settings.path = undefined;
  await extension.activate({ subscriptions: [] });
  const error = events.find((e) => e[0] === 'error');
  assert.ok(error, JSON.stringify(events));
  assert.match(error[1], /topoc lsp/);
  assert.match(error[1], /topoc\.path/);
  failStart = false;
  events.splice(0);
});

test('the manifest contributes the language, its configuration and the grammar', () => {
  const root = path.join(__dirname, '..');
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const [language] = manifest.contributes.languages;
  assert.equal(language.id, 'topo');
  assert.deepEqual(language.extensions, ['.topo']);
  const [grammar] = manifest.contributes.grammars;
  assert.equal(grammar.scopeName, 'source.topo');
  const shipped = fs.readFileSync(path.join(root, grammar.path), 'utf8');
  const source = fs.readFileSync(path.join(root, '..', '..', 'grammar', 'topo.tmLanguage.json'), 'utf8');
  assert.equal(shipped, source, 'syntaxes/ holds a copy of grammar/topo.tmLanguage.json');

  const configuration = JSON.parse(
    fs.readFileSync(path.join(root, language.configuration), 'utf8'),
  );
  assert.equal(configuration.comments.lineComment, '#');
  const word = new RegExp(`^(?:${configuration.wordPattern})$`);
  for (const whole of ['active-active', 'key_manager', '1200rps', '75%', 'dc-3']) {
    assert.match(whole, word);
  }
  assert.equal(manifest.main, './dist/extension.js', 'the bundle of extension.js (npm run bundle)');
  assert.equal(manifest.contributes.configuration.properties['topoc.path'].default, 'topoc');
});
