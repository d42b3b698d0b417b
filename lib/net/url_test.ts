import { isHttpUrl, netHost } from "./url.ts";
import { assertEquals } from "../../tests/support/assert.ts";

Deno.test("url: isHttpUrl accepts http(s) in any case and nothing else", () => {
  for (const s of ["http://a", "https://127.0.0.1:8000/x.tar.gz", "HTTPS://Example.org/"]) {
    assertEquals(isHttpUrl(s), true, s);
  }
  for (
    const s of [
      "",
      "ftp://a/b",
      "file:///tmp/x",
      "/tmp/http://x",
      " http://a",
      "httpx://a",
      "http:/a",
    ]
  ) {
    assertEquals(isHttpUrl(s), false, s);
  }
});

Deno.test("url: netHost is the host[:port] --allow-net takes, default ports dropped", () => {
  assertEquals(netHost("http://127.0.0.1:8000/a.tar.gz"), "127.0.0.1:8000");
  assertEquals(netHost("http://localhost:80/x"), "localhost");
  assertEquals(netHost("https://Example.ORG:443/x?q=1"), "example.org");
  assertEquals(netHost("https://example.org:8443"), "example.org:8443");
  assertEquals(netHost("http://[::1]:9000/"), "[::1]:9000");
  assertEquals(netHost("http://user:pw@host.test:81/p"), "host.test:81");
});

Deno.test("url: netHost is null for no URL or a URL without a host", () => {
  for (
    const s of ["", "not a url", "/abs/path", "file:///tmp/x", "data:text/plain,hi", "mailto:a@b.c"]
  ) {
    assertEquals(netHost(s), null, s);
  }
});
