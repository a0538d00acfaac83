/** Lab set-up for tests that assert on which nodes exist: exactly N nodes, nothing left from other suites. */
import { ensureLab, labDown, readLabState } from "../../lab";
import type { LabState } from "../../lab";

export async function labWithExactly(nodes: number): Promise<LabState> {
  const state = readLabState();
  if (state && state.nodes.length !== nodes) await labDown();
  return ensureLab({ nodes });
}
