/** Exit codes of every command. */
export const EXIT = {
    ok: 0,
    failure: 1,
    usage: 2,
};
/** A usage error: wrong flags or arguments (exit code 2). */
export class UsageError extends Error {
    constructor(message) {
        super(message);
        this.name = 'UsageError';
    }
}
