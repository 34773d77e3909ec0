/**
 * Failures of the browser side of a login, as classes the UI can tell apart. Pure: no keycloak-js
 * here, so the API client and its tests need not load it.
 */

/** Thrown instead of a token while the browser is on its way to the login page. */
export class LoginRedirectError extends Error {
  constructor() {
    super('The session has ended; redirecting to the login page.');
    this.name = 'LoginRedirectError';
  }
}

/** Keycloak could not be reached, or refused the login callback. */
export class LoginServiceError extends Error {
  constructor(
    message: string,
    readonly realmUrl: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LoginServiceError';
  }
}
