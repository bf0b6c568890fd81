// A resolved secret (password, store URL with credentials). It prints as "[redacted]" everywhere
// (JSON.stringify, String(), console.log, util.inspect) so a logged config never leaks; reveal() is the
// only way to read it, which keeps every use greppable.

const REDACTED = "[redacted]";

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}
