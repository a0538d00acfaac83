/**
 * What the placement step waits for (components/user-placement.ts): a revocation's promotions wait
 * only for the directory's entries (after the master's slapd, after the mesh proved the seized node
 * cut off); every other update waits for every node's mail daemons too, since moves need them.
 */
import type * as pulumi from "@pulumi/pulumi";
import { placementDependsOn } from "../../components/user-placement";

const res = (name: string) => ({ name }) as unknown as pulumi.Resource;
const entries = res("entries");
const daemons = { n1: { postfix: res("n1-postfix"), dovecot: res("n1-dovecot") }, n2: { postfix: res("n2-postfix"), dovecot: res("n2-dovecot") } };
const args = { ldap: { entries }, mail: { daemons } } as unknown as Parameters<typeof placementDependsOn>[0];
const names = (rs: pulumi.Resource[]) => rs.map((r) => (r as unknown as { name: string }).name).sort();

test("without promotions the placement waits for the entries and every node's postfix and dovecot", () => {
  expect(names(placementDependsOn(args, false))).toEqual(["entries", "n1-dovecot", "n1-postfix", "n2-dovecot", "n2-postfix"]);
});

test("while a seized home's users are promoted it waits for the entries alone", () => {
  expect(names(placementDependsOn(args, true))).toEqual(["entries"]);
});
