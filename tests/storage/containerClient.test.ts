import { describe, expect, it } from "vitest";
import { createStorageContainer } from "../../src/storage/containerClient.js";
import { hostileDns, useConnectionCounter } from "../helpers/hostileNetwork.js";

/** Azurite's published development account (not a secret). */
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

describe("issue 26, defect 5: the Storage client resolves before it connects", () => {
  const tcp = useConnectionCounter();

  it("host names are not resolved before connecting: a Storage host that resolves to loopback is refused, no connection is made", async () => {
    const container = createStorageContainer({
      location: {
        kind: "connectionString",
        connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEV_KEY};BlobEndpoint=http://storage.attacker.example:${tcp.port}/devstoreaccount1;`,
      },
      container: "rotator",
      timeoutInMs: 2_000,
      retryOptions: { maxTries: 1 },
      // What an attacker who controls the Storage host's DNS record answers: loopback.
      lookup: hostileDns({ "storage.attacker.example": "127.0.0.1" }),
    });
    const err = await container.exists().catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/storage\.attacker\.example was not called/);
    expect(tcp.connections).toBe(0);
  });
});
