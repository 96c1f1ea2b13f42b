/**
 * App Service puts a Key Vault reference's secret in the app setting when it can resolve it, and
 * leaves the reference itself there when it cannot; used as a secret, it would fail later as a
 * wrong password.
 */
export function isUnresolvedKeyVaultReference(value: string): boolean {
  return /^\s*@Microsoft\.KeyVault\(/i.test(value);
}

/** What to check when an app setting still holds its reference. */
export const UNRESOLVED_REFERENCE_HINT =
  "check the reference's SecretUri and that the app's identity may read the vault (the portal shows why under the app's Environment variables)";
