/**
 * The protobuf wire format, read defensively: varints of at most 10 bytes, length-delimited fields
 * that must fit in what is left, field numbers and wire types checked. Every problem is a
 * {@link ProtobufError} naming the byte offset, never an exception from deep inside a parser.
 */

/** Malformed protobuf input (answered 400 BadRequest). */
export class ProtobufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufError';
  }
}

/** Wire types of the protobuf encoding. */
export const WIRE = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

const MAX_FIELD_NUMBER = 2 ** 29 - 1;

/** A cursor over one message's bytes. `base` is the message's offset in the whole body (for errors). */
export class WireReader {
  private position = 0;

  constructor(
    private readonly data: Uint8Array,
    private readonly base = 0,
  ) {}

  /** True when every byte has been read. */
  get done(): boolean {
    return this.position >= this.data.length;
  }

  /** Absolute offset of the next byte in the body. */
  get offset(): number {
    return this.base + this.position;
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wire: number } {
    const at = this.offset;
    const key = this.varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field < 1 || field > MAX_FIELD_NUMBER)
      throw new ProtobufError(`invalid field number ${field} at byte ${at}`);
    if (wire > WIRE.fixed32) throw new ProtobufError(`invalid wire type ${wire} at byte ${at}`);
    return { field, wire };
  }

  /** An unsigned varint (at most 10 bytes, 64 bits). */
  varint(): bigint {
    const at = this.offset;
    let result = 0n;
    for (let index = 0; index < 10; index++) {
      if (this.position >= this.data.length)
        throw new ProtobufError(`unexpected end of data in a varint at byte ${at}`);
      const byte = this.data[this.position++] as number;
      result |= BigInt(byte & 0x7f) << BigInt(7 * index);
      if ((byte & 0x80) === 0) {
        if (index === 9 && byte > 1) throw new ProtobufError(`varint overflows 64 bits at byte ${at}`);
        return result;
      }
    }
    throw new ProtobufError(`varint longer than 10 bytes at byte ${at}`);
  }

  /** A length-delimited field's bytes and their absolute offset. */
  lengthDelimited(): { bytes: Uint8Array; offset: number } {
    const at = this.offset;
    const length = this.varint();
    const left = this.data.length - this.position;
    if (length > BigInt(left))
      throw new ProtobufError(
        `length ${length} at byte ${at} exceeds the ${left} bytes left in the enclosing message`,
      );
    const offset = this.offset;
    const bytes = this.data.subarray(this.position, this.position + Number(length));
    this.position += Number(length);
    return { bytes, offset };
  }

  /** Skip a field's value of the given wire type (groups are not used by Kubernetes: refused). */
  skipValue(wire: number): void {
    const at = this.offset;
    switch (wire) {
      case WIRE.varint:
        this.varint();
        return;
      case WIRE.bytes:
        this.lengthDelimited();
        return;
      case WIRE.fixed64:
      case WIRE.fixed32: {
        const size = wire === WIRE.fixed64 ? 8 : 4;
        if (this.data.length - this.position < size)
          throw new ProtobufError(`unexpected end of data in a fixed-size value at byte ${at}`);
        this.position += size;
        return;
      }
      default:
        throw new ProtobufError(`group wire type ${wire} at byte ${at} is not used by Kubernetes`);
    }
  }
}
