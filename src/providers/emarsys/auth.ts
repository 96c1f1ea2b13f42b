/**
 * How a request to Emarsys proves who sends it. WSSE signs every request; OAuth 2.0 attaches a
 * cached bearer token. The provider only asks for headers and, after a 401, whether a renewed
 * credential is worth one more try.
 */
export interface EmarsysAuthenticator {
  readonly mode: 'wsse' | 'oauth2';
  /**
   * Headers for one request, made afresh for every attempt. May throw a RemoteServiceError when
   * a credential cannot be obtained (the OAuth 2.0 token endpoint failed). `deadline` (epoch ms by
   * the provider's clock): no retry of a token request waits past it.
   */
  headers(deadline?: number): Promise<Record<string, string>>;
  /**
   * Called after Emarsys answered 401 to a request sent with `usedHeaders`. Returns true when the
   * credential was dropped and a retry would use a new one.
   */
  renewAfterUnauthorized(usedHeaders: Record<string, string>): boolean;
  /** What an operator should check when Emarsys refuses the credentials (no secret values). */
  readonly credentialsHint: string;
}
