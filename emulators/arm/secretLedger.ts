/** Every secret value a provider's resources ever held or resolved, for tests' secret scans (`issuedSecrets`). */
export class SecretLedger {
  private readonly seen = new Set<string>();

  remember(value: string | undefined): void {
    if (value) this.seen.add(value);
  }

  secrets(): string[] {
    return [...this.seen];
  }

  clear(): void {
    this.seen.clear();
  }
}
