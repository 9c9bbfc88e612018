/**
 * Secret configuration values (prometheus/common `config.Secret`): passwords, tokens and keys that must never be
 * printed, logged or serialised.
 */

/**
 * A `<secret>` value (password, token, private key). It prints as `<secret>` everywhere — `String()`, template
 * literals, `JSON.stringify`, `util.inspect` — so it cannot leak into logs; {@link Secret.reveal} gives the value
 * to the one place that must send it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    Object.freeze(this);
  }

  /** The secret value itself; call it only where the value is sent, never to log or compare for display. */
  reveal(): string {
    return this.#value;
  }

  /** Always `<secret>`. */
  toString(): string {
    return SECRET_TOKEN;
  }

  /** Always `<secret>`, as prometheus/common marshals a `Secret`. */
  toJSON(): string {
    return SECRET_TOKEN;
  }

  /** Always `<secret>` for `console.log` and `util.inspect`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return SECRET_TOKEN;
  }
}

const SECRET_TOKEN = '<secret>';
