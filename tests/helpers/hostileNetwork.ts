import { execFileSync } from "node:child_process";
import dns from "node:dns";
import net from "node:net";
import os from "node:os";
import { afterAll, beforeAll } from "vitest";

/**
 * A TCP listener on 127.0.0.1 that counts connections and closes each at once: the proof that a
 * refused address was refused before a socket opened (issue 26, defect 5). Call at file or
 * describe level; it listens for the tests of that block.
 */
export function useConnectionCounter(): { readonly port: number; readonly connections: number } {
  let tcp: net.Server | undefined;
  const state = { port: 0, connections: 0 };
  beforeAll(async () => {
    const server = net.createServer((socket) => {
      state.connections++;
      socket.destroy();
    });
    tcp = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    state.port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => tcp?.close(resolve));
  });
  return state;
}

/** A resolver that answers what an attacker who controls these records would; other names resolve as usual. */
export function hostileDns(answers: Record<string, string>): typeof dns.lookup {
  return ((hostname: string, options: dns.LookupOptions, callback: (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void) => {
    const address = answers[hostname];
    if (address === undefined) return dns.lookup(hostname, options, callback as never);
    const family = net.isIP(address);
    return options.all ? callback(null, [{ address, family }]) : callback(null, address, family);
  }) as typeof dns.lookup;
}

/**
 * A real name the system resolver answers with a loopback address (Debian maps the host name to
 * 127.0.1.1 in /etc/hosts), or undefined where there is none: no hostile resolver needed, so it
 * shows what a client does without our `lookup` option.
 */
export function systemLoopbackAlias(): string | undefined {
  const name = os.hostname();
  try {
    return name !== "localhost" && execFileSync("getent", ["ahosts", name], { encoding: "utf8" }).startsWith("127.") ? name : undefined;
  } catch {
    return undefined;
  }
}
