import type { GatewayKind } from "../types.js";
import { createManualAdapter, type ManualGatewayConfig } from "./adapter.js";

export const manualKind: GatewayKind<ManualGatewayConfig> = {
  create: (config) => createManualAdapter({ config }),
  describe: (g) => `manual — an operator updates ${g.targets.length > 0 ? g.targets.join(", ") : "the targets listed in the incident"} and confirms`,
  endpoints: () => [],
};
