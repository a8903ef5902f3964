/**
 * The FHIR data types the demo builders share: CodeableConcept, UCUM Quantity, dateTime, date.
 */
import { type Code, SYSTEMS } from './clinical-catalogue.ts';

export const TERMINOLOGY = 'http://terminology.hl7.org/CodeSystem';

export function codeable(system: string, code: Code, text?: string): Record<string, unknown> {
  return {
    coding: [{ system, code: code.code, display: code.display }],
    ...(text !== undefined ? { text } : {}),
  };
}

export function quantity(value: number, unit: { unit: string; code: string }): Record<string, unknown> {
  return { value, unit: unit.unit, system: SYSTEMS.ucum, code: unit.code };
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** FHIR dateTime in UTC, to the second (`2024-03-12T09:30:00Z`). */
export function dateTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** FHIR date (`1961-07-04`). */
export function dateOnly(date: Date): string {
  return date.toISOString().slice(0, 10);
}
