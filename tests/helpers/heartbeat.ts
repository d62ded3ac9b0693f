import { EmulatorServer } from "../../emulators/common/server.js";

/** A heartbeat monitor (healthchecks.io style) on 127.0.0.1: GET /ping/<id> answers 200; the tests count its requests. */
export async function startHeartbeatMonitor(): Promise<EmulatorServer> {
  const heartbeat = new EmulatorServer({ name: "heartbeat" });
  heartbeat.route("GET", /^\/ping\/[a-z0-9]+$/, () => ({ status: 200, body: { ok: true } }));
  await heartbeat.start();
  return heartbeat;
}
