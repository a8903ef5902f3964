/**
 * The Patient resource of a demo record: national and hospital identifiers, the official name
 * (and the Cyrillic one for people of Ukrainian origin), contact details, address, language and
 * family doctor.
 */
import type { FhirResource } from '@concordia/fhir';
import { DEMO_IDENTIFIER_SYSTEMS, ORGANIZATION_IDS } from './demo-directory.ts';
import { dateOnly } from './fhir-datatypes.ts';
import type { PersonName, Place } from './people-catalogue.ts';
import type { SeededRandom } from './seeded-random.ts';
import type { Reference } from './transaction-builder.ts';

export interface PatientSeed {
  name: PersonName;
  place: Place;
  /** The data set's "today": every date in the record lies before it. */
  asOf: Date;
  /** Position in the data set, used for stable identifiers. */
  index: number;
}

export function patientResource(
  random: SeededRandom,
  seed: PatientSeed,
  birth: Date,
  familyDoctor: Reference,
): FhirResource {
  const { name, place } = seed;
  const street = random.pick(place.streets);
  const mobile = `+351 9${random.pick(['1', '2', '3', '6'])}${random.digits(1)} ${random.digits(3)} ${random.digits(3)}`;
  const names: Record<string, unknown>[] = [{ use: 'official', family: name.family, given: name.given }];
  if (name.cyrillic !== undefined)
    names.push({ use: 'usual', family: name.cyrillic.family, given: name.cyrillic.given });
  const mailbox = `${name.given[0] ?? 'patient'}.${name.family}${seed.index}`
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
  return {
    resourceType: 'Patient',
    identifier: [
      {
        use: 'official',
        type: v2Identifier('NI', 'National unique individual identifier'),
        system: DEMO_IDENTIFIER_SYSTEMS.nationalId,
        value: `${200_000_000 + seed.index * 7_919 + random.integer(0, 7_000)}`,
      },
      {
        use: 'usual',
        type: v2Identifier('MR', 'Medical record number'),
        system: DEMO_IDENTIFIER_SYSTEMS.hospitalPatientNumber,
        value: `HRC-${String(100_000 + seed.index * 37).padStart(7, '0')}`,
        assigner: { reference: `Organization/${ORGANIZATION_IDS.hospital}` },
      },
    ],
    active: true,
    name: names,
    telecom: [
      { system: 'phone', value: mobile, use: 'mobile', rank: 1 },
      ...(random.chance(0.6)
        ? [{ system: 'email', value: `${mailbox}@mail.concordia.example`, use: 'home' }]
        : []),
    ],
    gender: name.gender,
    birthDate: dateOnly(birth),
    address: [
      {
        use: 'home',
        type: 'physical',
        line: [`${street} ${random.integer(1, 240)}`],
        city: place.city,
        district: place.district,
        postalCode: `${place.postalCode}-${random.digits(3)}`,
        country: 'PT',
      },
    ],
    communication: [
      {
        language: {
          coding: [
            {
              system: 'urn:ietf:bcp:47',
              code: name.language,
              display: name.language === 'uk' ? 'Ukrainian' : 'Portuguese',
            },
          ],
        },
        preferred: true,
      },
    ],
    generalPractitioner: [familyDoctor],
    managingOrganization: { reference: `Organization/${ORGANIZATION_IDS.clinic}` },
  };
}

function v2Identifier(code: string, display: string): Record<string, unknown> {
  return { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code, display }] };
}
