/**
 * The terminology service as `concordia serve` composes it (main.ts `buildComponents`) on a fresh
 * database, with the FHIR core beside it for writing CodeSystem/ValueSet/ConceptMap resources.
 */
import type { FhirResource } from '@concordia/fhir';
import { type RequestContext, systemContext } from '../../src/access/request-context.ts';
import { loadConfig } from '../../src/config.ts';
import type { FhirCore, FhirResponse } from '../../src/fhir/interaction.ts';
import { buildComponents } from '../../src/main.ts';
import { createLogger } from '../../src/ops/logger.ts';
import type { Database } from '../../src/store/database.ts';
import type { TerminologyService } from '../../src/terminology/terminology-service.ts';
import type { TestDatabase } from '../support/databases.ts';

export interface TerminologyComponents {
  db: Database;
  core: FhirCore;
  terminology: TerminologyService;
  ctx: RequestContext;
  /** PUT (with an id) or POST a resource through the core; the response status and body. */
  write(resource: FhirResource): Promise<FhirResponse>;
  remove(resourceType: string, id: string): Promise<FhirResponse>;
  close(): Promise<void>;
}

export async function createTerminologyComponents(database: TestDatabase): Promise<TerminologyComponents> {
  const config = loadConfig({ LOG_LEVEL: 'silent', CONCORDIA_BASE_URL: 'http://fhir.test' });
  const db = await database.create();
  const { core, terminology, store, audit } = await buildComponents(db, config, createLogger(config));
  const ctx = systemContext('terminology-test');
  return {
    db,
    core,
    terminology,
    ctx,
    write(resource) {
      const path =
        resource.id === undefined ? resource.resourceType : `${resource.resourceType}/${resource.id}`;
      return core.handle(ctx, {
        method: resource.id === undefined ? 'POST' : 'PUT',
        path,
        query: [],
        headers: {},
        body: resource,
      });
    },
    remove(resourceType, id) {
      return core.handle(ctx, { method: 'DELETE', path: `${resourceType}/${id}`, query: [], headers: {} });
    },
    async close() {
      await audit.close();
      await store.close();
    },
  };
}
