/** Assertions for tests (node:assert underneath; JSR's @std/assert is not reachable here). */
import nodeAssert from "node:assert/strict";

/**
 * Fails unless the condition holds.
 * @param cond the condition
 * @param msg what went wrong
 */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg ?? "assertion failed");
}

/**
 * Fails unless the two values are deeply equal.
 * @param actual what came out
 * @param expected what should have
 * @param msg what went wrong
 */
export function assertEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, msg ?? "values differ");
}

/**
 * Fails unless `fn` throws (or rejects) with an error whose message matches.
 * @param fn the code
 * @param pattern what the message must contain or match
 * @returns the error
 */
export async function assertRejects(
  fn: () => unknown,
  pattern?: RegExp | string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    const msg = String((e as Error)?.message ?? e);
    if (pattern !== undefined) {
      const ok = typeof pattern === "string" ? msg.includes(pattern) : pattern.test(msg);
      nodeAssert.ok(ok, `error message ${JSON.stringify(msg)} does not match ${pattern}`);
    }
    return e as Error;
  }
  throw new nodeAssert.AssertionError({ message: "expected an error, none was thrown" });
}
