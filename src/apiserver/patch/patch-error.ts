/** A patch that is malformed (400) or cannot be applied (422). */
export class PatchError extends Error {
  constructor(
    message: string,
    readonly code: 400 | 422 = 400,
    readonly reason: string = code === 400 ? 'BadRequest' : 'Invalid',
  ) {
    super(message);
    this.name = 'PatchError';
  }
}
