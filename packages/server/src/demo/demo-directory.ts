/**
 * The care providers of the demo region: a hospital, a family health unit (primary care) and a
 * laboratory, with their practitioners and roles. They have fixed ids and are PUT, so patient
 * records can refer to them by literal reference (`Organization/demo-hospital`).
 */
import type { IdentifiedResource } from '@concordia/fhir';

export const DEMO_IDENTIFIER_SYSTEMS = {
  organization: 'https://concordia.example/organization-id',
  practitioner: 'https://concordia.example/practitioner-licence',
  nationalId: 'https://concordia.example/national-id',
  /** Patient numbers of the hospital; 2.999 is the OID arc reserved for examples. */
  hospitalPatientNumber: 'urn:oid:2.999.1.1',
} as const;

const DEMO_ORGANIZATIONS = ['hospital', 'clinic', 'lab'] as const;
export type DemoOrganization = (typeof DEMO_ORGANIZATIONS)[number];

export const ORGANIZATION_IDS: Record<DemoOrganization, string> = {
  hospital: 'demo-hospital',
  clinic: 'demo-clinic',
  lab: 'demo-lab',
};

export type DemoRole = 'family-doctor' | 'nurse' | 'cardiologist' | 'emergency-physician' | 'pathologist';

export interface DemoPractitioner {
  id: string;
  given: string[];
  family: string;
  gender: 'female' | 'male';
  licence: string;
  role: DemoRole;
  organization: DemoOrganization;
}

export const PRACTITIONERS: readonly DemoPractitioner[] = [
  {
    id: 'demo-practitioner-1',
    given: ['Ana', 'Luísa'],
    family: 'Ferreira',
    gender: 'female',
    licence: 'CP-41872',
    role: 'family-doctor',
    organization: 'clinic',
  },
  {
    id: 'demo-practitioner-2',
    given: ['Oksana'],
    family: 'Kovalenko',
    gender: 'female',
    licence: 'CP-52310',
    role: 'family-doctor',
    organization: 'clinic',
  },
  {
    id: 'demo-practitioner-3',
    given: ['Iryna'],
    family: 'Bondarenko',
    gender: 'female',
    licence: 'OE-77104',
    role: 'nurse',
    organization: 'clinic',
  },
  {
    id: 'demo-practitioner-4',
    given: ['Rui', 'Miguel'],
    family: 'Magalhães',
    gender: 'male',
    licence: 'CP-38655',
    role: 'cardiologist',
    organization: 'hospital',
  },
  {
    id: 'demo-practitioner-5',
    given: ['Marta'],
    family: 'Simões',
    gender: 'female',
    licence: 'CP-60217',
    role: 'emergency-physician',
    organization: 'hospital',
  },
  {
    id: 'demo-practitioner-6',
    given: ['Paulo'],
    family: 'Brandão',
    gender: 'male',
    licence: 'CP-29940',
    role: 'pathologist',
    organization: 'lab',
  },
];

const ROLE_CODES: Record<
  DemoRole,
  { role: 'doctor' | 'nurse'; specialty: { code: string; display: string } }
> = {
  'family-doctor': { role: 'doctor', specialty: { code: '419772000', display: 'Family practice' } },
  nurse: { role: 'nurse', specialty: { code: '394814009', display: 'General practice' } },
  cardiologist: { role: 'doctor', specialty: { code: '394579002', display: 'Cardiology' } },
  'emergency-physician': {
    role: 'doctor',
    specialty: { code: '394576009', display: 'Surgical-Accident & emergency' },
  },
  pathologist: { role: 'doctor', specialty: { code: '394915009', display: 'General pathology' } },
};

interface OrganizationDetails {
  name: string;
  alias: string;
  code: string;
  phone: string;
  email: string;
  line: string;
  city: string;
  postalCode: string;
}

const ORGANIZATIONS: Record<DemoOrganization, OrganizationDetails> = {
  hospital: {
    name: 'Hospital Regional de Concórdia',
    alias: 'HRC',
    code: 'HRC-001',
    phone: '+351 253 000 100',
    email: 'geral@hrc.concordia.example',
    line: 'Avenida das Comunidades 1',
    city: 'Braga',
    postalCode: '4710-243',
  },
  clinic: {
    name: 'Unidade de Saúde Familiar Ribeirinha',
    alias: 'USF Ribeirinha',
    code: 'USF-014',
    phone: '+351 253 000 200',
    email: 'secretariado@usf-ribeirinha.concordia.example',
    line: 'Rua da Ribeira 27',
    city: 'Braga',
    postalCode: '4700-310',
  },
  lab: {
    name: 'Laboratório Central de Análises Clínicas',
    alias: 'LCAC',
    code: 'LAB-007',
    phone: '+351 253 000 300',
    email: 'resultados@lcac.concordia.example',
    line: 'Rua Nova de Santa Cruz 5',
    city: 'Braga',
    postalCode: '4710-409',
  },
};

export function directoryResources(): IdentifiedResource[] {
  const organizations = DEMO_ORGANIZATIONS.map(organization);
  const practitioners = PRACTITIONERS.map(practitioner);
  const roles = PRACTITIONERS.map(practitionerRole);
  return [...organizations, ...practitioners, ...roles];
}

function organization(key: DemoOrganization): IdentifiedResource {
  const details = ORGANIZATIONS[key];
  return {
    resourceType: 'Organization',
    id: ORGANIZATION_IDS[key],
    identifier: [{ use: 'official', system: DEMO_IDENTIFIER_SYSTEMS.organization, value: details.code }],
    active: true,
    type: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/organization-type',
            code: 'prov',
            display: 'Healthcare Provider',
          },
        ],
      },
    ],
    name: details.name,
    alias: [details.alias],
    telecom: [
      { system: 'phone', value: details.phone, use: 'work' },
      { system: 'email', value: details.email, use: 'work' },
    ],
    address: [
      {
        use: 'work',
        type: 'physical',
        line: [details.line],
        city: details.city,
        district: 'Braga',
        postalCode: details.postalCode,
        country: 'PT',
      },
    ],
  };
}

function practitioner(person: DemoPractitioner): IdentifiedResource {
  const domain = ORGANIZATIONS[person.organization].email.split('@')[1] ?? 'concordia.example';
  const mailbox = `${person.given[0] ?? ''}.${person.family}`
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
  return {
    resourceType: 'Practitioner',
    id: person.id,
    identifier: [{ use: 'official', system: DEMO_IDENTIFIER_SYSTEMS.practitioner, value: person.licence }],
    active: true,
    name: [{ use: 'official', family: person.family, given: person.given, prefix: prefixFor(person) }],
    telecom: [{ system: 'email', value: `${mailbox}@${domain}`, use: 'work' }],
    gender: person.gender,
  };
}

function prefixFor(person: DemoPractitioner): string[] {
  if (person.role === 'nurse') return ['Enf.'];
  return [person.gender === 'female' ? 'Dra.' : 'Dr.'];
}

function practitionerRole(person: DemoPractitioner): IdentifiedResource {
  const codes = ROLE_CODES[person.role];
  return {
    resourceType: 'PractitionerRole',
    id: `${person.id}-role`,
    active: true,
    practitioner: {
      reference: `Practitioner/${person.id}`,
      display: `${person.given.join(' ')} ${person.family}`,
    },
    organization: { reference: `Organization/${ORGANIZATION_IDS[person.organization]}` },
    code: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/practitioner-role', code: codes.role }],
      },
    ],
    specialty: [{ coding: [{ system: 'http://snomed.info/sct', ...codes.specialty }] }],
    availableTime: [
      {
        daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri'],
        availableStartTime: '08:00:00',
        availableEndTime: '17:00:00',
      },
    ],
  };
}

export function practitionersWithRole(role: DemoRole): DemoPractitioner[] {
  return PRACTITIONERS.filter((person) => person.role === role);
}
