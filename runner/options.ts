/** The resource options the engine applies around a diff: ignoreChanges and replaceOnChanges. */
import { PropertyChange } from "./display";
import { isPropertyObject, PropertyMap, PropertyValue } from "./props";

function splitPath(path: string): string[] {
  return path.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== "");
}

function getPath(m: PropertyValue, parts: string[]): PropertyValue | undefined {
  let v: PropertyValue | undefined = m;
  for (const p of parts) {
    if (Array.isArray(v)) v = v[Number(p)];
    else if (isPropertyObject(v)) v = v[p];
    else return undefined;
  }
  return v;
}

function setPath(v: PropertyValue | undefined, parts: string[], value: PropertyValue | undefined): PropertyValue | undefined {
  if (parts.length === 0) return value;
  const [head, ...rest] = parts;
  if (Array.isArray(v)) {
    const copy = [...v];
    const next = setPath(copy[Number(head)], rest, value);
    if (next !== undefined) copy[Number(head)] = next;
    return copy;
  }
  const copy: PropertyMap = isPropertyObject(v) ? { ...v } : {};
  const next = setPath(copy[head], rest, value);
  if (next === undefined) delete copy[head];
  else copy[head] = next;
  return copy;
}

/**
 * ignoreChanges: each listed property keeps its old value (or stays absent if it had none), as the
 * engine's processIgnoreChanges does before Check. Paths: "a", "a.b", "a[0]".
 */
export function applyIgnoreChanges(news: PropertyMap, olds: PropertyMap, paths: readonly string[]): PropertyMap {
  let result: PropertyValue | undefined = news;
  for (const path of paths) {
    const parts = splitPath(path);
    result = setPath(result, parts, getPath(olds, parts));
  }
  return (result ?? {}) as PropertyMap;
}

/** replaceOnChanges: does a changed property fall under this path ("*" means any)? */
export function matchesReplaceOnChanges(path: string, changes: readonly PropertyChange[]): boolean {
  if (path === "*") return changes.length > 0;
  const want = splitPath(path).join(".");
  return changes.some((c) => {
    const got = splitPath(c.path).join(".");
    return got === want || got.startsWith(want + ".") || want.startsWith(got + ".");
  });
}
