// Starts `topoc lsp` for .topo files. The program is the `topoc.path`
// setting (default: `topoc` on PATH); changing it restarts the server.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

function serverOptions() {
  const command = vscode.workspace.getConfiguration('topoc').get('path') || 'topoc';
  return { command, args: ['lsp'], transport: TransportKind.stdio };
}

async function start() {
  client = new LanguageClient('topoc', 'topoc', serverOptions(), {
    documentSelector: [
      { scheme: 'file', language: 'topo' },
      { scheme: 'untitled', language: 'topo' },
    ],
  });
  try {
    await client.start();
  } catch (error) {
    vscode.window.showErrorMessage(
      `Could not start \`${serverOptions().command} lsp\`: ${error.message}. ` +
        'Install topoc (cargo install --locked --path .) or set "topoc.path".',
    );
  }
}

async function stop() {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop();
  }
}

/** @param {import('vscode').ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('topoc.path')) {
        await stop();
        await start();
      }
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
