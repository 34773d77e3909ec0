/**
 * The REST API is generated from the tRPC procedures (their zod input/output and openapi meta):
 * one definition, two transports. This module builds the OpenAPI 3.1 document; docs/api/openapi.json
 * holds the committed copy and a test fails when the two differ.
 */
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { appRouter } from '../trpc/router';

export const REST_BASE = '/v1';

export function buildOpenApiDocument(): OpenAPIObject {
  return generateOpenApiDocument(appRouter, {
    title: 'Palisade API',
    version: '0.1.0',
    description:
      'Multi-tenant KVM control plane. Authenticate with a Keycloak access token (audience palisade-api). ' +
      'Tenant resources act in the tenant named by the X-Palisade-Tenant header (id or slug), or your only tenant. ' +
      "Errors carry a stable code in data.code; another tenant's objects are answered 404.",
    baseUrl: REST_BASE,
    docsUrl: '/docs',
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
  });
}
