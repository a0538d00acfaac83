/** When a test run's end takes the lab down (test/support/global-teardown.ts). */
import { takeLabDown } from "./support/global-teardown";

const ours = { keep: false, root: true, found: "no lab", lab: { broughtUpBy: "jest-1" }, run: "jest-1" };

test("a lab this run brought up on a machine that had none is taken down", () => {
  expect(takeLabDown(ours)).toBe(true);
});

test("a lab another run brought up meanwhile is left alone (the lab lane's, seen from the lane beside it)", () => {
  expect(takeLabDown({ ...ours, lab: { broughtUpBy: "jest-2" } })).toBe(false);
  expect(takeLabDown({ ...ours, lab: {} })).toBe(false); // brought up by hand, or by a version before the id
  expect(takeLabDown({ ...ours, run: undefined })).toBe(false);
});

test("a lab that was running at the start, no lab, RPLAN_LAB_KEEP=1 or no root: nothing is taken down", () => {
  expect(takeLabDown({ ...ours, found: "lab was running" })).toBe(false);
  expect(takeLabDown({ ...ours, lab: undefined })).toBe(false);
  expect(takeLabDown({ ...ours, keep: true })).toBe(false);
  expect(takeLabDown({ ...ours, root: false })).toBe(false);
});
