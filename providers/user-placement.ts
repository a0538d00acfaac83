import * as pulumi from "@pulumi/pulumi";
import type { OldCopy, UserPlacementInputs } from "./impl/user-placement";
import type { MoveReport } from "../ops/quantum/move";
import { ThinResource } from "./thin";

export type UserPlacementResourceArgs = { readonly [K in keyof UserPlacementInputs]: pulumi.Input<UserPlacementInputs[K]> };

/**
 * Every placed user's home, carried out: an update moves each user whose home changed (dsync over
 * the VPN, a freeze of a second or two, nothing lost) and removes old copies after their grace.
 */
export class UserPlacementResource extends ThinResource {
  /** uid → home as the directory has it (after the last update or refresh). */
  declare public readonly directory: pulumi.Output<Record<string, string>>;
  declare public readonly frozen: pulumi.Output<string[]>;
  declare public readonly oldCopies: pulumi.Output<OldCopy[]>;
  declare public readonly lastMoves: pulumi.Output<MoveReport[]>;
  declare public readonly moves: pulumi.Output<string[]>;
  /** The standbys this update gives or changes ("alice: standby lab3 → lab2 (lab3 is revoked)"). */
  declare public readonly standbyChanges: pulumi.Output<string[] | undefined>;

  constructor(name: string, args: UserPlacementResourceArgs, opts?: pulumi.CustomResourceOptions) {
    super("user-placement", "UserPlacement", name, { directory: undefined, frozen: undefined, oldCopies: undefined, lastMoves: undefined, moves: undefined, standbyChanges: undefined, ...args }, opts);
  }
}
