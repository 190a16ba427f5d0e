#!/usr/bin/env node
/**
 * The `keyless-deploy` binary: one entry point, subcommands. Exit codes: 0 success, 1 failure,
 * 2 usage or configuration error.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfigNotFoundError } from '../kube/load-kube-config.js';
import { ConfigError } from '../settings/config-error.js';
import { EXIT, UsageError, type CliIo } from './cli-io.js';
import { approvalCommand } from './commands/approval-command.js';
import { dispatchCommand } from './commands/dispatch-command.js';
import { githubAppManifestCommand } from './commands/github-app-manifest-command.js';
import { playgroundCommand } from './commands/playground-command.js';
import { runCommand } from './commands/run-command.js';
import { statusCommand } from './commands/status-command.js';
import { tokenCommand } from './commands/token-command.js';

export const MAIN_HELP = `Usage: keyless-deploy <command> [options]

Deploy to Kubernetes from GitHub Actions with OIDC identity instead of repository-write tokens.

Commands:
  playground   Run a local playground (embedded API server, OIDC issuer, receiver): no cluster needed
  token        Mint a token from a running playground's issuer
  dispatch     Ask a receiver to deploy an image, with the workflow's OIDC token (--wait follows it)
  run          Run the receiver and/or the controller in a cluster (run --receiver --controller)
  status       Show a DeployRequest (phase, conditions, images) through the kubeconfig
  approve      Approve a DeployRequest that waits for approval, as your Kubernetes user
  reject       Reject a DeployRequest that waits for approval, as your Kubernetes user
  github-app-manifest
               Print the GitHub App manifest (deployments:write, metadata:read, event deployment)
  help         Show help for a command: keyless-deploy help <command>

Options:
  -h, --help     Show this help
  -v, --version  Show the version

Exit codes: 0 success, 1 failure, 2 usage or configuration error (dispatch and status say more).

Examples:
  keyless-deploy playground --state-dir .playground
  keyless-deploy token --state-dir .playground --claim ref=refs/heads/main
  keyless-deploy run --receiver --oidc-audience https://deploy.example.com --attestation-key-file key.pem
`;

const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  playground: playgroundCommand,
  token: tokenCommand,
  run: runCommand,
  dispatch: (args, io) => dispatchCommand(args, io),
  status: statusCommand,
  approve: approvalCommand('approve'),
  reject: approvalCommand('reject'),
  'github-app-manifest': githubAppManifestCommand,
};

function version(): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The first line of a command's help (`Usage: ...`), or of the main help. */
async function usageLine(command: string | undefined): Promise<string> {
  let help = MAIN_HELP;
  const run = command ? COMMANDS[command] : undefined;
  if (run) {
    help = '';
    const capture: CliIo = {
      stdout: (text) => void (help += text),
      stderr: () => undefined,
      env: {},
      stopSignal: new Promise(() => undefined),
    };
    await run(['--help'], capture).catch(() => undefined);
  }
  const line = help.split('\n').find((l) => l.startsWith('Usage:'));
  return line ? `${line}\n` : '';
}

/** Run the CLI with arguments (without node and script path); resolves with the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help') {
      io.stdout(MAIN_HELP);
      return command === undefined ? EXIT.usage : EXIT.ok;
    }
    if (command === '-v' || command === '--version') {
      io.stdout(`keyless-deploy ${version()}\n`);
      return EXIT.ok;
    }
    if (command === 'help') {
      const target = args[0];
      if (!target) return (io.stdout(MAIN_HELP), EXIT.ok);
      const run = COMMANDS[target];
      if (!run) throw new UsageError(`unknown command "${target}"`);
      return await run(['--help'], io);
    }
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!run) throw new UsageError(`unknown command "${command}"`);
    return await run(args, io);
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof ConfigError ||
      error instanceof KubeConfigNotFoundError
    ) {
      const known = command !== undefined && Object.hasOwn(COMMANDS, command) ? command : undefined;
      const usage = error instanceof UsageError ? await usageLine(known) : '';
      io.stderr(
        `keyless-deploy: ${error.message}\n${usage}Run 'keyless-deploy ${known ? `${known} ` : ''}--help' for details.\n`,
      );
      return EXIT.usage;
    }
    io.stderr(`keyless-deploy: ${(error as Error).message ?? String(error)}\n`);
    return EXIT.failure;
  }
}

/** The process adapter: real stdout/stderr/env and signals. */
function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    stdoutIsTTY: process.stdout.isTTY === true,
    stopSignal: new Promise((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    }),
  };
}

/** Run as the process: arguments from argv, exit with the command's code (bin.ts calls this). */
export async function runMain(): Promise<never> {
  const code = await main(process.argv.slice(2), processIo());
  process.exit(code);
}

// `node dist/cli/main.js` (the container image's entry point) runs too; the installed binary is
// bin.js, which checks the Node version first.
const invokedDirectly =
  process.argv[1] !== undefined &&
  fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1]);
if (invokedDirectly) await runMain();
