import { Crypter, crypterFromSalt, newEncryptionSalt, PassphraseError } from "../stack-file/secrets";

/** From pulumi/pulumi pkg/secrets/passphrase/manager_test.go: this salt state opens with "password". */
const PULUMI_STATE = "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ==";

describe("Pulumi passphrase secrets manager", () => {
  it("opens a salt written by the Pulumi CLI with the right passphrase (known vector)", () => {
    const c = crypterFromSalt("password", PULUMI_STATE, "test");
    expect(c.decrypt("v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ==")).toBe("pulumi");
  });

  it("refuses a wrong passphrase with one clear message", () => {
    expect(() => crypterFromSalt("password123", PULUMI_STATE, "Pulumi.x.yaml")).toThrow(PassphraseError);
    expect(() => crypterFromSalt("password123", PULUMI_STATE, "Pulumi.x.yaml")).toThrow(/incorrect passphrase for Pulumi.x.yaml/);
  });

  it("writes values in Pulumi's v1 format and reads them back", () => {
    const { salt, crypter } = newEncryptionSalt("hunter2");
    expect(salt).toMatch(/^v1:[A-Za-z0-9+/]{11}=:v1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/=]+$/);
    const ct = crypter.encrypt("s3cr3t value");
    expect(ct).toMatch(/^v1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/=]+$/);
    expect(ct).not.toContain("s3cr3t");
    expect(crypterFromSalt("hunter2", salt, "x").decrypt(ct)).toBe("s3cr3t value");
  });

  it("detects a tampered value (GCM tag)", () => {
    const { crypter } = newEncryptionSalt("pw");
    const [v, nonce, data] = crypter.encrypt("abc").split(":");
    const bytes = Buffer.from(data, "base64");
    bytes[0] ^= 1;
    expect(() => crypter.decrypt(`${v}:${nonce}:${bytes.toString("base64")}`)).toThrow();
  });

  it("derives the key with PBKDF2-SHA256, 1 000 000 rounds (same key → same decryption)", () => {
    const salt = Buffer.from("fozI5u6B030=", "base64");
    const a = Crypter.fromPassphrase("password", salt);
    expect(a.decrypt(new Crypter(require("crypto").pbkdf2Sync("password", salt, 1_000_000, 32, "sha256")).encrypt("x"))).toBe("x");
  });
});
