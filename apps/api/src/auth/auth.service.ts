/**
 * Turns the Authorization header into a verified principal (or a precise AppError). Verification
 * itself lives in @palisade/auth; this service only holds the configured, JWKS-caching verifier.
 */
import { Inject, Injectable } from '@nestjs/common';
import { checkJwks, createTokenVerifier, parseBearer, type TokenVerifier } from '@palisade/auth';
import { AppError, ErrorCode, type Principal } from '@palisade/contracts';
import { API_CONFIG, type ApiConfig } from '../config';

export type Authentication =
  { principal: Principal; error: null } | { principal: null; error: AppError | null };

@Injectable()
export class AuthService {
  private readonly verifier: TokenVerifier;
  readonly jwksUrl: string;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.jwksUrl =
      config.KEYCLOAK_JWKS_URL ?? `${config.KEYCLOAK_ISSUER}/protocol/openid-connect/certs`;
    this.verifier = createTokenVerifier({
      issuer: config.KEYCLOAK_ISSUER,
      audience: config.API_AUDIENCE,
      jwksUri: this.jwksUrl,
    });
  }

  /** No header → anonymous (no error); a bad header or token → the reason. */
  async authenticate(authorization: string | undefined): Promise<Authentication> {
    if (authorization === undefined || authorization === '')
      return { principal: null, error: null };
    try {
      const token = parseBearer(authorization);
      return { principal: await this.verifier.verify(token), error: null };
    } catch (e) {
      if (e instanceof AppError) return { principal: null, error: e };
      return {
        principal: null,
        error: new AppError(ErrorCode.AUTH_MALFORMED_TOKEN, 'token verification failed', {
          cause: e,
        }),
      };
    }
  }

  checkJwks() {
    return checkJwks(this.jwksUrl);
  }
}
