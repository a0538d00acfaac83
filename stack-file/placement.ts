/**
 * Reading and writing the placement file named by `rplan:placement` (planning/placement/record.ts
 * has its format and checks). The program reads it at every preview to know where each user lives;
 * `npm run placement` writes it. A file that cannot be read or has any problem is one error naming
 * the file and listing every problem, before any host is contacted.
 */
import * as fs from "fs";
import * as path from "path";
import type { ClusterConfig } from "../planning/config";
import { parsePlacementRecord, PlacementInputError, PlacementRecord, renderPlacementRecord } from "../planning/placement";
import { PROJECT_DIR } from "./config";

export class PlacementFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlacementFileError";
  }
}

/** Where the stack's placement file is (undefined when the stack sets no `rplan:placement`). */
export function placementFilePath(cluster: ClusterConfig, projectDir = PROJECT_DIR): string | undefined {
  return cluster.placementFile === undefined ? undefined : path.join(projectDir, cluster.placementFile);
}

/**
 * The stack's placement record, checked against its nodes; undefined when the stack has no
 * `rplan:placement`. A missing file is an error: no file would mean nobody has a home.
 */
export function readPlacementRecord(cluster: ClusterConfig, projectDir = PROJECT_DIR): PlacementRecord | undefined {
  const file = placementFilePath(cluster, projectDir);
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const hint = (e as NodeJS.ErrnoException).code === "ENOENT" ? " (create it with `npm run placement -- sync`)" : "";
    throw new PlacementFileError(`cannot read the placement file ${file} (rplan:placement): ${(e as Error).message}${hint}`);
  }
  try {
    return parsePlacementRecord(text, cluster.placementFile!, cluster.nodes);
  } catch (e) {
    if (e instanceof PlacementInputError) throw new PlacementFileError(`the placement file ${file} has ${e.problems.length} problem${e.problems.length === 1 ? "" : "s"}:\n${e.problems.map((p) => `  - ${p}`).join("\n")}`);
    throw e;
  }
}

/** Write the record (rendered, users sorted) atomically: a crash never leaves half a file. */
export function writePlacementRecord(cluster: ClusterConfig, rec: PlacementRecord, projectDir = PROJECT_DIR): string {
  const file = placementFilePath(cluster, projectDir);
  if (file === undefined) throw new PlacementFileError("this stack has no rplan:placement: name its placement file first (e.g. `rplan:placement: placement.prod.yaml`)");
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, renderPlacementRecord(rec), { mode: 0o644 });
  fs.renameSync(tmp, file);
  return file;
}
