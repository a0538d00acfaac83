import type { ServiceDescriptor } from "./descriptor";

/** The VPN mesh (components/vpn-mesh.ts): its RSA key is born in the mount; ping is the mesh check's probe. */
export const tinc = {
  name: "tinc",
  purpose: "the compressed VPN between nodes, rings of trust",
  packages: ["tinc", "iputils-ping"],
  keyDir: true,
  mountUnits: ["tinc@rplan"],
} satisfies ServiceDescriptor;
