// A resolved secret (password, store URL with credentials). It prints as "[redacted]" everywhere
// (JSON.stringify, String(), console.log, util.inspect) so a logged config never leaks; reveal() is the
// only way to read it, which keeps every use greppable.

const REDACTED = "[redacted]";

export class Secret {
  #value: string | (() => never);

  constructor(value: string) {
    this.#value = value;
  }

  /** A secret a read-only tool did not load (config loaded with secrets: false); reading it throws. */
  static unresolved(at: string): Secret {
    const s = new Secret("");
    s.#value = () => {
      throw new Error(`${at}: secret not loaded by this command`);
    };
    return s;
  }

  reveal(): string {
    const v = this.#value;
    return typeof v === "string" ? v : v();
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
