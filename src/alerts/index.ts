/** The alerts module's public surface. */
export * from "./model.js";
export { IncidentStore } from "./incidentStore.js";
export { IncidentManager } from "./incidents.js";
export { AlertDispatcher, type AlertNotifier, type ChannelDeliveryStatus } from "./dispatcher.js";
export { pingHeartbeat, checkRotationTimerLiveness } from "./heartbeat.js";
export * from "./channels/index.js";
export { toRotationEventInput } from "./rotationEvents.js";
export { SetRoutingNotifier, serviceChannelConfigs } from "./routing.js";
