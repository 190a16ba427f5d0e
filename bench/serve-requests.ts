/**
 * Child side of the bench's IPC: answer `{id, op, payload}` messages from the parent with the
 * registered handlers, exit on `exit`, and announce readiness on standard output.
 */

/** A request handler: gets the payload, returns (or resolves to) a JSON-serialisable answer. */
export type RequestHandler = (payload: unknown) => unknown;

/**
 * Serve the parent's requests, then print `READY <json of info>` so `forkChild` resolves.
 * `onExit` runs before the process exits on the parent's `exit` request.
 */
export function serveRequests(
  info: Record<string, unknown>,
  handlers: Record<string, RequestHandler>,
  onExit: () => Promise<void> = async () => undefined,
): void {
  process.on('message', (message: { id: number; op: string; payload?: unknown }) => {
    if (message.op === 'exit') {
      void onExit().finally(() => process.exit(0));
      return;
    }
    const handler = handlers[message.op];
    void (async () => {
      try {
        if (!handler) throw new Error(`unknown op ${message.op}`);
        process.send?.({ id: message.id, result: (await handler(message.payload)) ?? null });
      } catch (error) {
        process.send?.({ id: message.id, error: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  // The parent going away must not leave this process behind.
  process.on('disconnect', () => process.exit(0));
  process.stdout.write(`READY ${JSON.stringify(info)}\n`);
}
