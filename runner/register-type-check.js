/**
 * Preloaded (`node -r`) into a pass's process for `--type-check`: ts-node with the TypeScript
 * checker, as the Pulumi language host loads a program. tsconfig.json has ts-node transpile with
 * swc, which cannot type-check (and ts-node refuses swc with typeCheck), so this turns swc off.
 */
"use strict";
require("ts-node").register({ typeCheck: true, swc: false });
