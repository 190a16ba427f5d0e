/**
 * The GitHub Action (action.yml): reads the step's inputs, runs `keyless-deploy dispatch` with the
 * job's OIDC token, writes outputs (request-name, phase, deployment-url) and a job summary. Compiled
 * to action/dist (committed, no `npm install` at run time) by `npm run build:action`.
 */
import { appendFileSync } from 'node:fs';
import { runDispatch } from '../cli/commands/dispatch-command.js';
/** An input as GitHub passes it: INPUT_<NAME>, trimmed; empty means unset. */
function input(env, name) {
    const value = env[`INPUT_${name.toUpperCase()}`]?.trim();
    return value ? value : undefined;
}
/** The dispatch arguments for the step's inputs. */
export function argsFromInputs(env) {
    const args = [
        '--url',
        input(env, 'url') ?? '',
        '--audience',
        input(env, 'audience') ?? '',
        '--namespace',
        input(env, 'namespace') ?? '',
        '--target',
        input(env, 'target') ?? '',
    ];
    const image = input(env, 'image');
    if (image)
        args.push('--image', image);
    for (const line of (input(env, 'images') ?? '')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean))
        args.push('--image', line);
    for (const name of ['environment', 'reason', 'timeout']) {
        const value = input(env, name);
        if (value)
            args.push(`--${name}`, value);
    }
    if ((input(env, 'wait') ?? 'true') === 'true')
        args.push('--wait');
    return args;
}
function summary(result) {
    const icon = result.code === 0 ? '✅' : '❌';
    const rows = [
        ['Request', result.name ? `\`${result.namespace}/${result.name}\`` : '(not created)'],
        ['Phase', result.phase ?? 'unknown'],
        ['Message', result.message ?? ''],
        ...(result.deploymentUrl ? [['GitHub deployment', result.deploymentUrl]] : []),
    ];
    return [
        `### ${icon} keyless-deploy`,
        '',
        '| | |',
        '| --- | --- |',
        ...rows.map(([k, v]) => `| ${k} | ${String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`),
        '',
    ].join('\n');
}
/** Run the action; resolves with the process exit code. */
export async function runAction(env, fetchImpl = fetch) {
    const io = {
        stdout: (text) => void process.stdout.write(text),
        stderr: (text) => void process.stdout.write(`::error::${text.trimEnd().replace(/\n/g, '%0A')}\n`),
        env,
        stopSignal: new Promise(() => undefined),
    };
    let result;
    try {
        result = await runDispatch(argsFromInputs(env), io, fetchImpl);
    }
    catch (error) {
        io.stderr(`keyless-deploy: ${error.message}`);
        result = { code: error instanceof Error && error.name === 'UsageError' ? 2 : 1 };
    }
    if (env.GITHUB_OUTPUT) {
        appendFileSync(env.GITHUB_OUTPUT, `request-name=${result.name ?? ''}\nphase=${result.phase ?? ''}\ndeployment-url=${result.deploymentUrl ?? ''}\n`);
    }
    if (env.GITHUB_STEP_SUMMARY)
        appendFileSync(env.GITHUB_STEP_SUMMARY, summary(result));
    return result.code;
}
// Only when run as the action's entry point (not when a test imports it).
if (process.env.GITHUB_ACTIONS === 'true' || process.env.KEYLESS_ACTION_MAIN === 'true') {
    process.exitCode = await runAction(process.env);
}
