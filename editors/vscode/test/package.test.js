// What `vsce package` ships: the bundle of extension.js with the language
// client inside, and the files VS Code reads beside it; the manifest names
// its repository. The bundle and vsce checks need `npm ci` first (CI runs
// it); without node_modules they are skipped, saying so.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Module = require('node:module');
const { execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

test('the manifest names its repository and packs the bundle', () => {
  assert.equal(manifest.repository.type, 'git');
  assert.ok(manifest.repository.url, 'a repository URL');
  assert.equal(manifest.repository.directory, 'editors/vscode');
  assert.equal(manifest.main, './dist/extension.js');
  assert.match(manifest.scripts['vscode:prepublish'], /npm run bundle/);
  assert.match(manifest.scripts.bundle, /--external:vscode/);
  const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  assert.match(ignore, /^\*\*$/m, 'everything is left out but what is named');
  assert.match(ignore, /^!dist\/extension\.js$/m);
});

test('the bundle loads with only vscode outside it', (t) => {
  if (!fs.existsSync(bin('esbuild'))) {
    t.skip('no node_modules: run npm ci');
    return;
  }
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'topo-bundle-')), 'extension.js');
  const args = manifest.scripts.bundle
    .split(' ')
    .slice(1)
    .map((a) => (a === '--outfile=dist/extension.js' ? `--outfile=${out}` : a));
  execFileSync(bin('esbuild'), [...args, '--log-level=warning'], { cwd: root });
  const required = [];
  // VS Code's API, as far as loading needs it: the client's classes extend
  // some of its classes.
  const vscode = new Proxy({}, {
    get: (known, name) => (name in known ? known[name] : (known[name] = class {})),
  });
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (!request.startsWith('node:') && !Module.isBuiltin(request)) required.push(request);
    return request === 'vscode' ? vscode : load.call(this, request, ...rest);
  };
  try {
    const extension = require(out);
    assert.equal(typeof extension.activate, 'function');
    assert.equal(typeof extension.deactivate, 'function');
  } finally {
    Module._load = load;
  }
  assert.deepEqual([...new Set(required)].filter((r) => r !== out), ['vscode']);
});

test('vsce packs exactly the bundle and what VS Code reads', (t) => {
  if (!fs.existsSync(bin('vsce')) || !fs.existsSync(bin('esbuild'))) {
    t.skip('no node_modules: run npm ci');
    return;
  }
  execFileSync('npm', ['run', '--silent', 'bundle'], { cwd: root, stdio: 'ignore' });
  const files = execFileSync(bin('vsce'), ['ls'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .sort();
  assert.deepEqual(files, [
    'README.md',
    'dist/extension.js',
    'language-configuration.json',
    'package.json',
    'syntaxes/topo.tmLanguage.json',
  ]);
});
