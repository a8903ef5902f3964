/**
 * The launch context a user chose while authorizing an app (SMART `launch/patient`: the patient
 * picker), kept per grant so that every token issued under the grant — refreshed ones too —
 * carries the same `patient`.
 */
import type { SqlExecutor } from '../store/database.ts';
import { readOptionalString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';

export class LaunchContexts {
  constructor(private readonly db: SqlExecutor) {}

  async set(grantId: string, patient: string): Promise<void> {
    await this.db.query(
      sql`insert into identity_launch_context (grant_id, patient) values (${grantId}, ${patient})
          on conflict (grant_id) do update set patient = excluded.patient`,
    );
  }

  async patient(grantId: string): Promise<string | undefined> {
    const [row] = await this.db.query(
      sql`select patient from identity_launch_context where grant_id = ${grantId}`,
    );
    return row === undefined ? undefined : readOptionalString(row, 'patient');
  }
}
