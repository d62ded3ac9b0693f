import { compiledTemplate, type ArmResource, type ArmTemplate } from "../../scripts/infra/bicep.js";

export { compiledTemplate };

export function resourcesOf(t: ArmTemplate): ArmResource[] {
  return Array.isArray(t.resources) ? t.resources : Object.values(t.resources);
}

/** A nested deployment (one Bicep module) of infra/main.bicep, by its module name. */
export function deployment(main: ArmTemplate, name: string): ArmResource & { template: ArmTemplate; params: Record<string, unknown> } {
  const d = resourcesOf(main).find((r) => r.type === "Microsoft.Resources/deployments" && r.name === name);
  if (!d?.properties?.template) throw new Error(`no module deployment named ${name} in the compiled template`);
  // A parameter is { value } or, when the whole value is conditional, one "[expression]" string.
  const params = Object.fromEntries(Object.entries(d.properties.parameters ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : v.value]));
  return { ...d, template: d.properties.template, params };
}

export function resourcesOfType(t: ArmTemplate, type: string): ArmResource[] {
  return resourcesOf(t).filter((r) => r.type === type);
}

/** Every template: main and each module's, with its module name. */
export function allTemplates(main: ArmTemplate): { module: string; template: ArmTemplate }[] {
  return [
    { module: "main", template: main },
    ...resourcesOf(main)
      .filter((r) => r.type === "Microsoft.Resources/deployments" && r.properties?.template)
      .map((r) => ({ module: String(r.name), template: r.properties!.template! })),
  ];
}
