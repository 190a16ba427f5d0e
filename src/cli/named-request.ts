/** The DeployRequest an operator command names: `NAME -n NAMESPACE`, both required. */
import { UsageError } from './cli-io.js';

/** Read NAME (one positional) and `--namespace`; throws UsageError for anything missing or extra. */
export function namedRequest(
  positionals: readonly string[],
  values: Record<string, unknown>,
): { name: string; namespace: string } {
  const [name, extra] = positionals;
  if (!name) throw new UsageError('the DeployRequest NAME is required');
  if (extra) throw new UsageError(`unexpected argument ${extra}`);
  const namespace = values.namespace as string | undefined;
  if (!namespace) throw new UsageError('--namespace is required');
  return { name, namespace };
}
