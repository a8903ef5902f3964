/**
 * A release file the importers cannot read as the format says: a missing column, a malformed
 * line, XML that is not well formed, a version nobody stated. The CLI prints its message as it
 * is (it names the file, and the line where there is one) and exits 1; anything else is a bug.
 */
export class TerminologySourceError extends Error {
  override name = 'TerminologySourceError';
}
