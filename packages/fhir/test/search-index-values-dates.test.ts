import { describe, expect, it } from 'vitest';
import { dateTimeRange, periodRange } from '../src/search/date-range.ts';
import { indexResource } from '../src/search/index-resource.ts';
import type { ResourceIndex } from '../src/search/index-types.ts';
import { observation } from './search-fixtures.ts';

function dates(index: ResourceIndex, param: string) {
  return (index.dates ?? []).filter((entry) => entry.param === param).map(({ low, high }) => ({ low, high }));
}

describe('date precision sets the range a value covers (search.html#date)', () => {
  it.each([
    ['2021', '2021-01-01T00:00:00.000Z', '2021-12-31T23:59:59.999Z'],
    ['2024-02', '2024-02-01T00:00:00.000Z', '2024-02-29T23:59:59.999Z'],
    ['2023-02', '2023-02-01T00:00:00.000Z', '2023-02-28T23:59:59.999Z'],
    ['2021-03-15', '2021-03-15T00:00:00.000Z', '2021-03-15T23:59:59.999Z'],
    ['2021-03-15T10:30', '2021-03-15T10:30:00.000Z', '2021-03-15T10:30:59.999Z'],
    ['2021-03-15T10:30Z', '2021-03-15T10:30:00.000Z', '2021-03-15T10:30:59.999Z'],
    ['2021-03-15T10:30:15', '2021-03-15T10:30:15.000Z', '2021-03-15T10:30:15.999Z'],
    ['2021-03-15T10:30:15Z', '2021-03-15T10:30:15.000Z', '2021-03-15T10:30:15.999Z'],
    ['2021-03-15T10:30:15.5Z', '2021-03-15T10:30:15.500Z', '2021-03-15T10:30:15.599Z'],
    ['2021-03-15T10:30:15.123Z', '2021-03-15T10:30:15.123Z', '2021-03-15T10:30:15.123Z'],
    ['2021-03-15T10:30:15.123456Z', '2021-03-15T10:30:15.123Z', '2021-03-15T10:30:15.123Z'],
  ])('%s covers %s .. %s', (text, low, high) => {
    expect(dateTimeRange(text)).toEqual({ low, high });
  });

  it('converts a time zone offset to UTC, across a day boundary', () => {
    expect(dateTimeRange('2021-03-15T01:30:00+02:00')).toEqual({
      low: '2021-03-14T23:30:00.000Z',
      high: '2021-03-14T23:30:00.999Z',
    });
    expect(dateTimeRange('2021-12-31T23:00:00-05:30')).toEqual({
      low: '2022-01-01T04:30:00.000Z',
      high: '2022-01-01T04:30:00.999Z',
    });
  });

  it('reads a date or a dateTime without a time zone as UTC (a documented choice)', () => {
    expect(dateTimeRange('2021-03-15T10:30:00')).toEqual(dateTimeRange('2021-03-15T10:30:00Z'));
  });

  it('keeps years before 100 as written (Date.UTC would move them to the 1900s)', () => {
    expect(dateTimeRange('0050')).toEqual({
      low: '0050-01-01T00:00:00.000Z',
      high: '0050-12-31T23:59:59.999Z',
    });
    expect(dateTimeRange('0099-01-01T10:00:00Z')).toEqual({
      low: '0099-01-01T10:00:00.000Z',
      high: '0099-01-01T10:00:00.999Z',
    });
    expect(dateTimeRange('0004-02-29')).toEqual({
      low: '0004-02-29T00:00:00.000Z',
      high: '0004-02-29T23:59:59.999Z',
    });
  });

  it.each([
    '',
    '21',
    '2021-13',
    '2021-02-30',
    '2021-02-30T10:00Z',
    '0003-02-29',
    '2021-03-15T24:00:00Z',
    '2021-03-15T10:30:60Z',
    '0000',
    'yesterday',
    '2021-03-15 10:30',
  ])('ignores %j, which is not a date (never throws on write)', (text) => {
    expect(dateTimeRange(text)).toBeUndefined();
  });

  it('indexes an instant to the millisecond, in UTC (AuditEvent.recorded under date)', () => {
    const index = indexResource({
      resourceType: 'AuditEvent',
      id: 'a1',
      type: { code: 'rest' },
      recorded: '2024-03-01T10:00:00.250+01:00',
      agent: [{ requestor: true }],
      source: { observer: { display: 'test' } },
    });
    expect(dates(index, 'date')).toEqual([
      { low: '2024-03-01T09:00:00.250Z', high: '2024-03-01T09:00:00.250Z' },
    ]);
  });

  it('leaves _lastUpdated to the resource row: meta.lastUpdated is not indexed again', () => {
    const index = indexResource(observation({ meta: { lastUpdated: '2024-03-01T10:00:00.250+01:00' } }));
    expect(index.dates?.some((entry) => entry.param === '_lastUpdated') ?? false).toBe(false);
  });

  it('indexes Observation.effectiveDateTime under date', () => {
    expect(dates(indexResource(observation()), 'date')).toEqual([
      { low: '2024-03-01T10:00:00.000Z', high: '2024-03-01T10:00:00.999Z' },
    ]);
  });
});

describe('a Period covers start through end (search.html#date, datatypes.html#Period)', () => {
  it('spans from the start of its start to the end of its end', () => {
    expect(periodRange('2021-03', '2021-04-02')).toEqual({
      low: '2021-03-01T00:00:00.000Z',
      high: '2021-04-02T23:59:59.999Z',
    });
  });

  it('is open-ended without an end (ongoing) and open-started without a start', () => {
    expect(periodRange('2021-03-01', undefined)).toEqual({
      low: '2021-03-01T00:00:00.000Z',
      high: 'infinity',
    });
    expect(periodRange(undefined, '2021-03-01')).toEqual({
      low: '-infinity',
      high: '2021-03-01T23:59:59.999Z',
    });
  });

  it('is nothing without either bound, or with a malformed one', () => {
    expect(periodRange(undefined, undefined)).toBeUndefined();
    expect(periodRange('2021-03-01', 'soon')).toBeUndefined();
  });

  it('indexes Observation.effectivePeriod under date', () => {
    const index = indexResource(
      observation({ effectiveDateTime: undefined, effectivePeriod: { start: '2024-03-01T10:00:00Z' } }),
    );
    expect(dates(index, 'date')).toEqual([{ low: '2024-03-01T10:00:00.000Z', high: 'infinity' }]);
  });
});

describe('a Timing covers its events and bounds (search.html#date, datatypes.html#Timing)', () => {
  const carePlan = (scheduledTiming: unknown) => ({
    resourceType: 'CarePlan',
    id: 'cp1',
    status: 'active',
    intent: 'plan',
    subject: { reference: 'Patient/p1' },
    activity: [{ detail: { status: 'scheduled', scheduledTiming } }],
  });

  it('spans from the first event to the last, whatever their order', () => {
    const index = indexResource(carePlan({ event: ['2021-06-10', '2021-05', '2021-06-01T08:00:00Z'] }));
    expect(dates(index, 'activity-date')).toEqual([
      { low: '2021-05-01T00:00:00.000Z', high: '2021-06-10T23:59:59.999Z' },
    ]);
  });

  it('widens to repeat.boundsPeriod, open ends included', () => {
    const index = indexResource(
      carePlan({ event: ['2021-06-10'], repeat: { boundsPeriod: { start: '2021-01-01' }, frequency: 1 } }),
    );
    expect(dates(index, 'activity-date')).toEqual([{ low: '2021-01-01T00:00:00.000Z', high: 'infinity' }]);
  });

  it('is nothing with neither events nor bounds', () => {
    expect(dates(indexResource(carePlan({ repeat: { frequency: 1 } })), 'activity-date')).toEqual([]);
  });
});
