/**
 * `npm test`'s lane beside the lab runs this first (test/side-by-side.js): the previous release built
 * into the directory it is given, for the upgrade suite in the lab lane to use when its turn comes
 * (./release-checkout.ts PREPARED_RELEASE_ENV). Usage: prepare-previous-release.ts <dir>
 */
import { prepareRelease, previousReleaseCommit } from "./release-checkout";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: prepare-previous-release.ts <dir>");
  process.exit(2);
}
const started = Date.now();
prepareRelease(previousReleaseCommit(), dir, `${dir}.log`).then(
  () => console.log(`the previous release built in ${dir} (${((Date.now() - started) / 1000).toFixed(0)} s)`),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
