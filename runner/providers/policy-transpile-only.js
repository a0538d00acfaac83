/**
 * Preloaded (`node -r`) into the policy-pack process when the runner does not type-check
 * (its default, as for the program). @pulumi/pulumi's run-policy-pack registers ts-node with
 * `typeCheck: true`, which loads the TypeScript checker and costs about 4 s of CPU on every pass;
 * here that one registration transpiles with swc instead. The pack's code and what it decides are
 * unchanged: only whether type errors stop the load (`npm run typecheck` covers the pack).
 */
"use strict";
const path = require("path");

// The ts-node run-policy-pack itself will require (resolved from the script being run).
const tsNode = require(require.resolve("ts-node", { paths: [path.dirname(process.argv[1])] }));

const register = tsNode.register;
tsNode.register = (options = {}) => register({ ...options, typeCheck: false, transpileOnly: true, swc: true });
