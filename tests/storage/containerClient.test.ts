import type dns from "node:dns";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStorageContainer } from "../../src/storage/containerClient.js";

/** Azurite's published development account (not a secret). */
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

describe("issue 26, defect 5: the Storage client resolves before it connects", () => {
  let tcp: net.Server;
  let connections = 0;
  let port = 0;
  beforeAll(async () => {
    tcp = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    port = (tcp.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => tcp.close(resolve));
  });

  /** What an attacker who controls the Storage host's DNS record answers: loopback. */
  const hostileLookup = ((
    _hostname: string,
    options: dns.LookupOptions,
    callback: (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void,
  ) => (options.all ? callback(null, [{ address: "127.0.0.1", family: 4 }]) : callback(null, "127.0.0.1", 4))) as typeof dns.lookup;

  it("host names are not resolved before connecting: a Storage host that resolves to loopback is refused, no connection is made", async () => {
    const container = createStorageContainer({
      location: {
        kind: "connectionString",
        connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEV_KEY};BlobEndpoint=http://storage.attacker.example:${port}/devstoreaccount1;`,
      },
      container: "rotator",
      timeoutInMs: 2_000,
      retryOptions: { maxTries: 1 },
      lookup: hostileLookup,
    });
    const err = await container.exists().catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/storage\.attacker\.example was not called/);
    expect(connections).toBe(0);
  });
});
