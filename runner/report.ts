/** The framing of each pass's output: headers, policy violations, outputs. */
import { formatValue } from "./display";
import { PolicyViolation } from "./providers/policy-host";
import { PropertyMap } from "./props";

export const STAND_IN_NOTE = "(rplan stack runner: a test stand-in for the Pulumi CLI, see docs/stack-runner.md)";

export function header(pass: "preview" | "apply" | "refresh" | "destroy", stack: string): string {
  const verb = { preview: "Previewing update", apply: "Updating", refresh: "Refreshing", destroy: "Destroying" }[pass];
  return `${verb} (${stack}) ${STAND_IN_NOTE}:`;
}

export function violationLines(violations: readonly PolicyViolation[]): string[] {
  if (violations.length === 0) return [];
  const lines = ["", "Policy Violations:"];
  for (const v of violations) {
    const where = v.urn ? `  (${v.urn.split("::").slice(-2).join(": ")})` : "";
    lines.push(`    [${v.enforcementLevel}]  ${v.policyPackName} v${v.policyPackVersion}  ${v.policyName}${where}`);
    for (const l of v.message.split("\n")) lines.push(`    ${l}`);
  }
  return lines;
}

export function outputLines(outputs: PropertyMap): string[] {
  const keys = Object.keys(outputs);
  if (keys.length === 0) return [];
  return ["", "Outputs:", ...keys.map((k) => `    ${k}: ${formatValue(outputs[k])}`)];
}
