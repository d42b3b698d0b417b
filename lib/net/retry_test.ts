import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { AGAIN, isRetryableStatus, parseRetryAfter, retryDelayMs, retrying } from "./retry.ts";

Deno.test("retry policy: exponential backoff with jitter, Retry-After honoured", () => {
  assertEquals(retryDelayMs(1, 1000, 60_000, null, () => 0), 500);
  assertEquals(retryDelayMs(3, 1000, 60_000, null, () => 0.999999), 3999.998);
  assertEquals(retryDelayMs(10, 1000, 8000, null, () => 0), 4000);
  assertEquals(retryDelayMs(1, 1000, 60_000, 7000, () => 0), 7000);
  assertEquals(retryDelayMs(1, 1000, 60_000, 3_600_000, () => 0), 600_000);
  assertEquals(parseRetryAfter("120"), 120_000);
  assertEquals(
    parseRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT", Date.parse("Wed, 21 Oct 2015 07:28:00 GMT")),
    10_000,
  );
  assertEquals(parseRetryAfter("soon"), null);
  assertEquals(parseRetryAfter(null), null);
  assertEquals([408, 429, 500, 503, 400, 401, 404].map(isRetryableStatus), [
    true,
    true,
    true,
    true,
    false,
    false,
    false,
  ]);
});

Deno.test("retry loop: waits what afterFailure says, goes on at once after AGAIN, ends on a value", async () => {
  const events: string[] = [];
  let n = 0;
  const started = Date.now();
  const value = await retrying(async () => {
    n++;
    events.push(`try ${n}`);
    if (n === 1) throw new Error("refused");
    if (n === 2) return AGAIN;
    if (n === 3) throw new Error("busy");
    return await Promise.resolve(n * 10);
  }, (e) => {
    events.push(`failed: ${(e as Error).message}`);
    return 60;
  });
  assertEquals(value, 40);
  assertEquals(events, ["try 1", "failed: refused", "try 2", "try 3", "failed: busy", "try 4"]);
  // two waits of 60 ms, none after AGAIN
  assert(Date.now() - started >= 110, `${Date.now() - started} ms`);
});

Deno.test("retry loop: afterFailure throwing gives up with its error, and no attempt follows", async () => {
  let n = 0;
  await assertRejects(
    () =>
      retrying(async () => {
        n++;
        return await Promise.reject(new Error(`attempt ${n} failed`));
      }, (e) => {
        if (n >= 3) throw new Error(`gave up: ${(e as Error).message}`);
        return 1;
      }),
    "gave up: attempt 3 failed",
  );
  assertEquals(n, 3);
});
