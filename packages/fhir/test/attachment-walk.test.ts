/**
 * The Attachment walk finds elements by type (datatypes.html#Attachment), not by the name `data`,
 * and the stored form a client derives from a resource is a function of its content alone.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ATTACHMENT_BLOB_EXTENSION,
  attachmentsOf,
  BINARY_BLOB_EXTENSION,
  mapAttachments,
  mayHoldAttachmentData,
  storedAttachmentForm,
} from '../src/index.ts';

const note = (text: string): string => Buffer.from(text).toString('base64');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const report = {
  resourceType: 'DiagnosticReport',
  status: 'final',
  code: { text: 'ECG' },
  contained: [{ resourceType: 'Media', id: 'm1', status: 'completed', content: { data: note('contained') } }],
  extension: [
    { url: 'http://example.org/x', valueAttachment: { contentType: 'text/plain', data: note('extension') } },
  ],
  _status: { extension: [{ url: 'http://example.org/y', valueAttachment: { data: note('primitive') } }] },
  presentedForm: [{ contentType: 'text/plain', data: note('report') }, { url: 'http://example.org/r.pdf' }],
  result: [{ reference: 'Observation/o1' }],
};

describe('Attachment walk', () => {
  it('finds every Attachment by type: elements, extensions of elements and primitives, contained resources', () => {
    expect(attachmentsOf(report).map((found) => found.path)).toEqual([
      'DiagnosticReport.contained[0].content',
      'DiagnosticReport.extension[0].valueAttachment',
      'DiagnosticReport._status.extension[0].valueAttachment',
      'DiagnosticReport.presentedForm[0]',
      'DiagnosticReport.presentedForm[1]',
    ]);
  });

  it('finds Attachments of resources inside a Bundle, and not SampledData.data or Signature.data', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: { resourceType: 'Patient', photo: [{ data: note('photo') }] } },
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'ECG' },
            valueSampledData: { origin: { value: 0 }, period: 1, dimensions: 1, data: '1 2 3' },
          },
        },
      ],
      signature: { type: [], when: '2026-01-01T00:00:00Z', who: { display: 'x' }, data: note('jws') },
    };
    expect(mayHoldAttachmentData(bundle)).toBe(true);
    expect(attachmentsOf(bundle).map((found) => found.path)).toEqual(['Bundle.entry[0].resource.photo[0]']);
    expect(mayHoldAttachmentData({ resourceType: 'Patient', name: [{ family: 'data' }] })).toBe(false);
  });

  it('copies only what it changes and never modifies its input', () => {
    const before = JSON.stringify(report);
    const mapped = mapAttachments(report, (attachment, path) =>
      path === 'DiagnosticReport.presentedForm[0]' ? { ...attachment, title: 'changed' } : attachment,
    );
    expect(JSON.stringify(report)).toBe(before);
    expect(mapped).not.toBe(report);
    expect(mapped.contained).toBe(report.contained);
    expect(mapped.result).toBe(report.result);
    expect(mapAttachments(report, (attachment) => attachment)).toBe(report);
  });

  it('derives the stored form: each data replaced by the reference to the SHA-256 of its bytes', async () => {
    const stored = await storedAttachmentForm(report);
    expect(stored.presentedForm).toEqual([
      {
        contentType: 'text/plain',
        _data: { extension: [{ url: ATTACHMENT_BLOB_EXTENSION, valueString: sha256('report') }] },
      },
      { url: 'http://example.org/r.pdf' },
    ]);
    expect(JSON.stringify(stored)).not.toContain('"data"');
    const binary = await storedAttachmentForm({
      resourceType: 'Binary',
      contentType: 'text/plain',
      data: note('b'),
    });
    expect(binary).toEqual({
      resourceType: 'Binary',
      contentType: 'text/plain',
      _data: { extension: [{ url: BINARY_BLOB_EXTENSION, valueString: sha256('b') }] },
    });
  });
});
