/** datatypes.html#Attachment: `size` is "the number of bytes of data", so with inline `data` the two must agree. */
import type { ValidationIssues } from './validation-issues.ts';

const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

export function checkAttachmentSize(
  attachment: Record<string, unknown>,
  path: string,
  issues: ValidationIssues,
): void {
  const { data, size } = attachment;
  // An invalid base64 value is reported by the structural pass (base64Binary's regex).
  if (typeof data !== 'string' || typeof size !== 'number' || !BASE64.test(data)) return;
  const actual = Buffer.byteLength(data, 'base64');
  if (actual !== size) {
    issues.error(
      'value',
      path,
      `Stated Attachment size ${size} does not match the actual size of the data, ${actual} bytes`,
    );
  }
}
