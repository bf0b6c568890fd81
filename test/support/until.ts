// Polls a condition read from the real system (a row, a lock, the recorder's state) until it holds.

/** Resolves once `cond` is true; throws "timed out waiting for <what>" after `ms`. */
export async function until(cond: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}
