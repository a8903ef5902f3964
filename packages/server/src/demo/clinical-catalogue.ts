/**
 * The coded clinical content the demo data set draws from. Codes are real and their displays are
 * the official ones: ICD-10 (WHO), ICPC-2, LOINC, UCUM, SNOMED CT, ATC and CVX, so the demo
 * exercises the same terminologies as a real regional exchange (primary care codes in ICPC-2,
 * hospital codes in ICD-10).
 */

export const SYSTEMS = {
  icd10: 'http://hl7.org/fhir/sid/icd-10',
  icpc2: 'http://hl7.org/fhir/sid/icpc-2',
  loinc: 'http://loinc.org',
  ucum: 'http://unitsofmeasure.org',
  snomed: 'http://snomed.info/sct',
  atc: 'http://www.whocc.no/atc',
  cvx: 'http://hl7.org/fhir/sid/cvx',
} as const;

export interface Code {
  code: string;
  display: string;
}

export interface MedicationTemplate {
  atc: Code;
  /** Dose per administration in UCUM. */
  dose: { value: number; unit: string; code: string };
  timesPerDay: number;
  asNeeded: boolean;
  route: Code;
  instructions: string;
}

export interface LabTemplate {
  loinc: Code;
  unit: { unit: string; code: string };
  range: [number, number];
  decimals: number;
}

export interface ConditionTemplate {
  icd10: Code;
  icpc2: Code;
  /** Chronic conditions stay active and are treated; acute ones resolve within weeks. */
  course: 'chronic' | 'acute';
  minimumAge: number;
  medication?: MedicationTemplate;
  lab?: LabTemplate;
}

const ORAL: Code = { code: '26643006', display: 'Oral route' };
const INHALED: Code = { code: '447694001', display: 'Respiratory tract route' };

const HBA1C: LabTemplate = {
  loinc: { code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood' },
  unit: { unit: '%', code: '%' },
  range: [6.2, 8.9],
  decimals: 1,
};
const CHOLESTEROL: LabTemplate = {
  loinc: { code: '14647-2', display: 'Cholesterol [Moles/volume] in Serum or Plasma' },
  unit: { unit: 'mmol/L', code: 'mmol/L' },
  range: [4.8, 7.6],
  decimals: 1,
};
const HAEMOGLOBIN: LabTemplate = {
  loinc: { code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood' },
  unit: { unit: 'g/dL', code: 'g/dL' },
  range: [9.1, 11.4],
  decimals: 1,
};

export const CONDITIONS: readonly ConditionTemplate[] = [
  {
    icd10: { code: 'I10', display: 'Essential (primary) hypertension' },
    icpc2: { code: 'K86', display: 'Hypertension uncomplicated' },
    course: 'chronic',
    minimumAge: 35,
    medication: {
      atc: { code: 'C09AA05', display: 'ramipril' },
      dose: { value: 5, unit: 'mg', code: 'mg' },
      timesPerDay: 1,
      asNeeded: false,
      route: ORAL,
      instructions: 'Ramipril 5 mg, one tablet in the morning',
    },
  },
  {
    icd10: { code: 'E11.9', display: 'Type 2 diabetes mellitus without complications' },
    icpc2: { code: 'T90', display: 'Diabetes non-insulin dependent' },
    course: 'chronic',
    minimumAge: 40,
    medication: {
      atc: { code: 'A10BA02', display: 'metformin' },
      dose: { value: 1000, unit: 'mg', code: 'mg' },
      timesPerDay: 2,
      asNeeded: false,
      route: ORAL,
      instructions: 'Metformin 1000 mg twice a day with meals',
    },
    lab: HBA1C,
  },
  {
    icd10: { code: 'E78.5', display: 'Hyperlipidaemia, unspecified' },
    icpc2: { code: 'T93', display: 'Lipid disorder' },
    course: 'chronic',
    minimumAge: 40,
    medication: {
      atc: { code: 'C10AA05', display: 'atorvastatin' },
      dose: { value: 20, unit: 'mg', code: 'mg' },
      timesPerDay: 1,
      asNeeded: false,
      route: ORAL,
      instructions: 'Atorvastatin 20 mg at night',
    },
    lab: CHOLESTEROL,
  },
  {
    icd10: { code: 'J45.9', display: 'Asthma, unspecified' },
    icpc2: { code: 'R96', display: 'Asthma' },
    course: 'chronic',
    minimumAge: 5,
    medication: {
      atc: { code: 'R03AC02', display: 'salbutamol' },
      dose: { value: 2, unit: 'puff', code: '{puff}' },
      timesPerDay: 4,
      asNeeded: true,
      route: INHALED,
      instructions:
        'Salbutamol 100 micrograms per puff, two puffs when short of breath, up to four times a day',
    },
  },
  {
    icd10: { code: 'F32.9', display: 'Depressive episode, unspecified' },
    icpc2: { code: 'P76', display: 'Depressive disorder' },
    course: 'chronic',
    minimumAge: 18,
    medication: {
      atc: { code: 'N06AB06', display: 'sertraline' },
      dose: { value: 50, unit: 'mg', code: 'mg' },
      timesPerDay: 1,
      asNeeded: false,
      route: ORAL,
      instructions: 'Sertraline 50 mg once a day',
    },
  },
  {
    icd10: { code: 'I25.9', display: 'Chronic ischaemic heart disease, unspecified' },
    icpc2: { code: 'K76', display: 'Ischaemic heart dis without angina' },
    course: 'chronic',
    minimumAge: 55,
    medication: {
      atc: { code: 'B01AC06', display: 'acetylsalicylic acid' },
      dose: { value: 100, unit: 'mg', code: 'mg' },
      timesPerDay: 1,
      asNeeded: false,
      route: ORAL,
      instructions: 'Acetylsalicylic acid 100 mg once a day after a meal',
    },
  },
  {
    icd10: { code: 'M17.9', display: 'Gonarthrosis, unspecified' },
    icpc2: { code: 'L90', display: 'Osteoarthrosis of knee' },
    course: 'chronic',
    minimumAge: 50,
    medication: {
      atc: { code: 'N02BE01', display: 'paracetamol' },
      dose: { value: 1, unit: 'g', code: 'g' },
      timesPerDay: 3,
      asNeeded: true,
      route: ORAL,
      instructions: 'Paracetamol 1 g when in pain, at most three times a day',
    },
  },
  {
    icd10: { code: 'D50.9', display: 'Iron deficiency anaemia, unspecified' },
    icpc2: { code: 'B80', display: 'Iron deficiency anaemia' },
    course: 'chronic',
    minimumAge: 16,
    medication: {
      atc: { code: 'B03AA07', display: 'ferrous sulfate' },
      dose: { value: 325, unit: 'mg', code: 'mg' },
      timesPerDay: 1,
      asNeeded: false,
      route: ORAL,
      instructions: 'Ferrous sulfate 325 mg once a day on an empty stomach',
    },
    lab: HAEMOGLOBIN,
  },
  {
    icd10: { code: 'J06.9', display: 'Acute upper respiratory infection, unspecified' },
    icpc2: { code: 'R74', display: 'Upper respiratory infection acute' },
    course: 'acute',
    minimumAge: 0,
  },
  {
    icd10: { code: 'J20.9', display: 'Acute bronchitis, unspecified' },
    icpc2: { code: 'R78', display: 'Acute bronchitis/bronchiolitis' },
    course: 'acute',
    minimumAge: 0,
  },
  {
    icd10: { code: 'M54.5', display: 'Low back pain' },
    icpc2: { code: 'L03', display: 'Low back symptom/complaint' },
    course: 'acute',
    minimumAge: 18,
  },
  {
    icd10: { code: 'N39.0', display: 'Urinary tract infection, site not specified' },
    icpc2: { code: 'U71', display: 'Cystitis/urinary infection other' },
    course: 'acute',
    minimumAge: 16,
    medication: {
      atc: { code: 'J01XE01', display: 'nitrofurantoin' },
      dose: { value: 100, unit: 'mg', code: 'mg' },
      timesPerDay: 2,
      asNeeded: false,
      route: ORAL,
      instructions: 'Nitrofurantoin 100 mg every 12 hours for 5 days',
    },
  },
];

export interface AllergyTemplate {
  substance: Code;
  category: 'food' | 'medication' | 'environment';
  criticality: 'low' | 'high';
  reaction: Code;
  severity: 'mild' | 'moderate' | 'severe';
}

export const ALLERGIES: readonly AllergyTemplate[] = [
  {
    substance: { code: '91936005', display: 'Allergy to penicillin' },
    category: 'medication',
    criticality: 'high',
    reaction: { code: '271807003', display: 'Eruption of skin' },
    severity: 'moderate',
  },
  {
    substance: { code: '293586001', display: 'Allergy to aspirin' },
    category: 'medication',
    criticality: 'low',
    reaction: { code: '267036007', display: 'Dyspnea' },
    severity: 'mild',
  },
  {
    substance: { code: '91935009', display: 'Allergy to peanuts' },
    category: 'food',
    criticality: 'high',
    reaction: { code: '39579001', display: 'Anaphylaxis' },
    severity: 'severe',
  },
  {
    substance: { code: '300913006', display: 'Shellfish allergy' },
    category: 'food',
    criticality: 'low',
    reaction: { code: '271807003', display: 'Eruption of skin' },
    severity: 'mild',
  },
  {
    substance: { code: '418689008', display: 'Allergy to grass pollen' },
    category: 'environment',
    criticality: 'low',
    reaction: { code: '21719001', display: 'Allergic rhinitis caused by pollen' },
    severity: 'mild',
  },
];

export interface VaccineTemplate {
  cvx: Code;
  minimumAge: number;
  /** Given again every so many years; `undefined` for a single course. */
  everyYears?: number;
}

export const VACCINES: readonly VaccineTemplate[] = [
  {
    cvx: { code: '140', display: 'Influenza, seasonal, injectable, preservative free' },
    minimumAge: 50,
    everyYears: 1,
  },
  { cvx: { code: '113', display: 'Td (adult) preservative free' }, minimumAge: 18, everyYears: 10 },
  { cvx: { code: '133', display: 'Pneumococcal conjugate PCV 13' }, minimumAge: 65 },
  { cvx: { code: '43', display: 'Hep B, adult' }, minimumAge: 20 },
  { cvx: { code: '03', display: 'MMR' }, minimumAge: 1 },
];

export interface VitalSignTemplate {
  loinc: Code;
  unit: { unit: string; code: string };
}

/** The LOINC codes of the R4 vital signs profile (observation-vitalsigns). */
export const VITAL_SIGNS = {
  bloodPressure: { code: '85354-9', display: 'Blood pressure panel with all children optional' },
  systolic: {
    loinc: { code: '8480-6', display: 'Systolic blood pressure' },
    unit: { unit: 'mmHg', code: 'mm[Hg]' },
  },
  diastolic: {
    loinc: { code: '8462-4', display: 'Diastolic blood pressure' },
    unit: { unit: 'mmHg', code: 'mm[Hg]' },
  },
  heartRate: {
    loinc: { code: '8867-4', display: 'Heart rate' },
    unit: { unit: 'beats/minute', code: '/min' },
  },
  bodyWeight: { loinc: { code: '29463-7', display: 'Body weight' }, unit: { unit: 'kg', code: 'kg' } },
  bodyHeight: { loinc: { code: '8302-2', display: 'Body height' }, unit: { unit: 'cm', code: 'cm' } },
  bmi: {
    loinc: { code: '39156-5', display: 'Body mass index (BMI) [Ratio]' },
    unit: { unit: 'kg/m2', code: 'kg/m2' },
  },
  bodyTemperature: {
    loinc: { code: '8310-5', display: 'Body temperature' },
    unit: { unit: 'Cel', code: 'Cel' },
  },
} as const;

export const ENCOUNTER_TYPES = {
  checkUp: { code: '185349003', display: 'Encounter for check up (procedure)' },
  followUp: { code: '390906007', display: 'Follow-up encounter (procedure)' },
  emergency: { code: '50849002', display: 'Emergency room admission (procedure)' },
} as const;
