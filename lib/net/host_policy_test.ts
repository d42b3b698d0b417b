import { assert, assertEquals } from "../../tests/support/assert.ts";
import { refusedHostReason, refuseUnnamedHost } from "./host_policy.ts";

Deno.test("host policy: link-local and metadata hosts in every spelling, and only those", () => {
  const refused = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/x.tar.gz", // the same address as one decimal number
    "http://0xa9fea9fe/x.tar.gz",
    "http://169.254.1.1:8080/x.tar.gz",
    "http://[::ffff:169.254.169.254]/x.tar.gz",
    "http://[0:0:0:0:0:ffff:a9fe:a9fe]/x.tar.gz",
    "http://[fe80::1]/x.tar.gz",
    "https://[febf:1::2]/x.tar.gz",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[fd00:ec2::254]/latest/",
  ];
  for (const u of refused) assert(refusedHostReason(u) !== null, u);
  const fine = [
    "http://127.0.0.1:8000/a.tar.gz",
    "https://s3.amazonaws.com/kinetics/700_2020/train/abseiling.tar.gz",
    "http://169.255.0.1/x",
    "http://[fec0::1]/x",
    "http://[::1]/x",
  ];
  for (const u of fine) assertEquals(refusedHostReason(u), null, u);
  assertEquals(refuseUnnamedHost("http://169.254.169.254/x", ["169.254.169.254"]), null);
  assertEquals(refuseUnnamedHost("http://169.254.169.254:81/x", ["169.254.169.254:81"]), null);
  assert(refuseUnnamedHost("http://169.254.169.254:81/x", ["169.254.169.254:82"]) !== null);
  assertEquals(refuseUnnamedHost("http://[fe80::1]/x", ["[fe80::1]"]), null);
});
