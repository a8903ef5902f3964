/**
 * One demo patient's record as a transaction Bundle: the Patient, a few years of primary-care
 * check-ups with vital signs, chronic problems with their prescriptions and lab results, an
 * occasional acute episode (some seen in the hospital's emergency department), allergies and
 * immunizations. Everything is drawn from a seeded source, so the same seed gives the same record.
 */
import type { FhirResource } from '@concordia/fhir';
import { declaration, referral } from './care-relationships.ts';
import {
  ALLERGIES,
  CONDITIONS,
  type ConditionTemplate,
  ENCOUNTER_TYPES,
  VACCINES,
  VITAL_SIGNS,
} from './clinical-catalogue.ts';
import {
  allergyIntolerance,
  condition,
  encounter,
  immunization,
  medicationRequest,
} from './clinical-resources.ts';
import { type DemoPractitioner, ORGANIZATION_IDS, PRACTITIONERS } from './demo-directory.ts';
import { bloodPressure, labResult, type ObservationContext, vitalSign } from './observation-resources.ts';
import { type PatientSeed, patientResource } from './patient-resource.ts';
import type { SeededRandom } from './seeded-random.ts';
import { type Reference, TransactionBuilder } from './transaction-builder.ts';

const DAY_MS = 86_400_000;
const YEAR_MS = 365.25 * DAY_MS;

export function patientRecord(random: SeededRandom, seed: PatientSeed): FhirResource {
  const tx = new TransactionBuilder(random);
  const age = random.chance(0.1) ? random.integer(4, 17) : random.integer(19, 89);
  const birth = new Date(seed.asOf.getTime() - age * YEAR_MS - random.integer(0, 360) * DAY_MS);
  const familyDoctor = practitioner(
    seed.name.language === 'uk' ? 'demo-practitioner-2' : 'demo-practitioner-1',
  );
  const patient = tx.create(
    patientResource(random, seed, birth, familyDoctor),
    `${seed.name.given.join(' ')} ${seed.name.family}`,
  );
  const story = new RecordStory(random, tx, patient, familyDoctor, seed.asOf, birth);
  story.declaration();
  story.checkUps(age);
  story.chronicProblems(age);
  story.acuteEpisode(age);
  story.allergies(age);
  story.immunizations(age);
  return tx.bundle();
}

class RecordStory {
  private readonly visits: { encounter: Reference; date: Date }[] = [];
  private readonly clinic = { reference: `Organization/${ORGANIZATION_IDS.clinic}` };
  private readonly nurse = practitioner('demo-practitioner-3');

  constructor(
    private readonly random: SeededRandom,
    private readonly tx: TransactionBuilder,
    private readonly patient: Reference,
    private readonly familyDoctor: Reference,
    private readonly asOf: Date,
    private readonly birth: Date,
  ) {}

  /** The declaration with the family doctor: what lets them read this record (ADR 0005). */
  declaration(): void {
    const since = new Date(this.asOf.getTime() - this.random.integer(3, 8) * YEAR_MS);
    this.tx.create(
      declaration({
        patient: this.patient,
        familyDoctor: this.familyDoctor,
        organization: this.clinic,
        since: since < this.birth ? this.birth : since,
      }),
    );
  }

  /** A yearly check-up at the family health unit over the last one to three years, with vital signs. */
  checkUps(age: number): void {
    const years = this.random.integer(1, 3);
    const height = age < 18 ? 100 + age * 4.5 : this.random.integer(152, 192);
    let weight = age < 18 ? 15 + age * 2.8 : this.random.decimal(52, 104, 1);
    for (let year = years; year >= 1; year--) {
      const date = this.workdayAt(
        new Date(this.asOf.getTime() - year * YEAR_MS + this.random.integer(0, 300) * DAY_MS),
      );
      const visit = this.tx.create(
        encounter({
          subject: this.patient,
          practitioner: this.familyDoctor,
          serviceProvider: this.clinic,
          setting: 'ambulatory',
          type: year === years ? ENCOUNTER_TYPES.checkUp : ENCOUNTER_TYPES.followUp,
          start: date,
          minutes: 20,
        }),
      );
      this.visits.push({ encounter: visit, date });
      weight = Math.round((weight + this.random.decimal(-2, 2, 1)) * 10) / 10;
      this.vitalSigns(
        { subject: this.patient, encounter: visit, performer: this.nurse, effective: date },
        age,
        height,
        weight,
      );
    }
  }

  private vitalSigns(context: ObservationContext, age: number, height: number, weight: number): void {
    const systolic = this.random.integer(105, age > 50 ? 165 : 138);
    const diastolic = this.random.integer(62, Math.min(systolic - 30, 98));
    this.tx.create(
      bloodPressure(
        context,
        VITAL_SIGNS.bloodPressure,
        [VITAL_SIGNS.systolic, systolic],
        [VITAL_SIGNS.diastolic, diastolic],
      ),
    );
    this.tx.create(vitalSign(context, VITAL_SIGNS.heartRate, this.random.integer(56, 96)));
    this.tx.create(vitalSign(context, VITAL_SIGNS.bodyHeight, height));
    this.tx.create(vitalSign(context, VITAL_SIGNS.bodyWeight, weight));
    const bmi = Math.round((weight / (height / 100) ** 2) * 10) / 10;
    this.tx.create(vitalSign(context, VITAL_SIGNS.bmi, bmi));
  }

  /** Long-term problems, more of them with age, each with its prescription and monitoring lab test. */
  chronicProblems(age: number): void {
    const first = this.visits[0];
    const latest = this.visits[this.visits.length - 1];
    if (first === undefined || latest === undefined) return;
    const eligible = CONDITIONS.filter((c) => c.course === 'chronic' && age >= c.minimumAge);
    const count =
      age < 40 ? this.random.integer(0, 1) : age < 65 ? this.random.integer(1, 2) : this.random.integer(2, 3);
    for (const template of this.random.sample(eligible, count)) {
      const yearsAgo = this.random.integer(1, Math.max(1, Math.min(15, age - template.minimumAge)));
      const onset = new Date(first.date.getTime() - yearsAgo * YEAR_MS);
      const problem = this.tx.create(
        condition({
          template,
          subject: this.patient,
          encounter: first.encounter,
          recorder: this.familyDoctor,
          onset: onset < this.birth ? first.date : onset,
          recorded: first.date,
        }),
        template.icd10.display,
      );
      this.prescribe(template, problem, latest, 'active');
      this.labTest(template, latest);
      if (template.icd10.code === 'I25.9') this.cardiologyFollowUp(problem, latest);
    }
  }

  /** Sometimes a short illness: seen at the family health unit, or in the hospital's emergency department. */
  acuteEpisode(age: number): void {
    if (!this.random.chance(0.6)) return;
    const eligible = CONDITIONS.filter((c) => c.course === 'acute' && age >= c.minimumAge);
    const [template] = this.random.sample(eligible, 1);
    if (template === undefined) return;
    const date = this.workdayAt(new Date(this.asOf.getTime() - this.random.integer(10, 400) * DAY_MS));
    const emergency = this.random.chance(0.25);
    const doctor = emergency ? practitioner('demo-practitioner-5') : this.familyDoctor;
    const problemRef = this.tx.reserve();
    const visit = this.tx.create(
      encounter({
        subject: this.patient,
        practitioner: doctor,
        serviceProvider: {
          reference: `Organization/${emergency ? ORGANIZATION_IDS.hospital : ORGANIZATION_IDS.clinic}`,
        },
        setting: emergency ? 'emergency' : 'ambulatory',
        type: emergency ? ENCOUNTER_TYPES.emergency : ENCOUNTER_TYPES.followUp,
        start: date,
        minutes: emergency ? 150 : 15,
        diagnoses: [problemRef],
      }),
    );
    this.tx.createAt(
      problemRef,
      condition({
        template,
        subject: this.patient,
        encounter: visit,
        recorder: doctor,
        onset: new Date(date.getTime() - this.random.integer(1, 5) * DAY_MS),
        recorded: date,
        abated: new Date(date.getTime() + this.random.integer(5, 20) * DAY_MS),
      }),
    );
    const context = { subject: this.patient, encounter: visit, performer: doctor, effective: date };
    this.tx.create(vitalSign(context, VITAL_SIGNS.bodyTemperature, this.random.decimal(36.6, 38.9, 1)));
    this.prescribe(template, problemRef, { encounter: visit, date }, 'completed');
  }

  allergies(age: number): void {
    const count = this.random.chance(0.3) ? (this.random.chance(0.3) ? 2 : 1) : 0;
    const recorded = this.visits[0]?.date ?? new Date(this.birth.getTime() + Math.min(age, 2) * YEAR_MS);
    for (const template of this.random.sample(ALLERGIES, count)) {
      this.tx.create(
        allergyIntolerance({ template, patient: this.patient, recorder: this.familyDoctor, recorded }),
      );
    }
  }

  /** Adults' vaccines by age: yearly influenza from 50, Td every ten years, pneumococcal from 65. */
  immunizations(age: number): void {
    for (const vaccine of VACCINES.filter((v) => age >= v.minimumAge)) {
      if (vaccine.cvx.code === '03' && age >= 18) continue; // childhood MMR is not in this exchange's record
      if (!this.random.chance(vaccine.everyYears === 1 ? 0.9 : 0.5)) continue;
      const doses = vaccine.everyYears === 1 ? this.random.integer(1, 3) : 1;
      for (let dose = 0; dose < doses; dose++) {
        const october = Date.UTC(this.asOf.getUTCFullYear() - 1 - dose, 9, this.random.integer(1, 28), 10);
        const occurrence = vaccine.everyYears === 1 ? new Date(october) : this.workdayAt(this.pastDate(8));
        this.tx.create(
          immunization({
            vaccine,
            patient: this.patient,
            performer: this.nurse,
            occurrence,
            lotNumber: `${vaccine.cvx.code.padStart(3, '0')}-${this.random.digits(6)}`,
          }),
        );
      }
    }
  }

  private prescribe(
    template: ConditionTemplate,
    reason: Reference,
    visit: { encounter: Reference; date: Date },
    status: 'active' | 'completed',
  ): void {
    if (template.medication === undefined) return;
    this.tx.create(
      medicationRequest({
        medication: template.medication,
        subject: this.patient,
        encounter: visit.encounter,
        requester: this.familyDoctor,
        reason,
        authored: visit.date,
        status,
        prescriptionNumber: this.random.digits(10),
      }),
    );
  }

  private labTest(template: ConditionTemplate, visit: { encounter: Reference; date: Date }): void {
    if (template.lab === undefined) return;
    const drawn = new Date(visit.date.getTime() + 15 * 60_000);
    const context = {
      subject: this.patient,
      encounter: visit.encounter,
      performer: { reference: `Organization/${ORGANIZATION_IDS.lab}` },
      effective: drawn,
    };
    const value = this.random.decimal(template.lab.range[0], template.lab.range[1], template.lab.decimals);
    this.tx.create(labResult(context, template.lab, value, new Date(drawn.getTime() + DAY_MS)));
  }

  /** Referred by the family doctor to the hospital's cardiologist, who then sees the patient. */
  private cardiologyFollowUp(problem: Reference, referredAt: { encounter: Reference; date: Date }): void {
    const date = this.workdayAt(this.pastDate(1));
    const cardiologist = practitioner('demo-practitioner-4');
    this.tx.create(
      referral({
        patient: this.patient,
        requester: this.familyDoctor,
        performer: cardiologist,
        encounter: referredAt.encounter,
        reason: problem,
        authored: referredAt.date,
      }),
    );
    this.tx.create(
      encounter({
        subject: this.patient,
        practitioner: cardiologist,
        serviceProvider: { reference: `Organization/${ORGANIZATION_IDS.hospital}` },
        setting: 'ambulatory',
        type: ENCOUNTER_TYPES.followUp,
        start: date,
        minutes: 30,
        diagnoses: [problem],
      }),
    );
  }

  private pastDate(maxYears: number): Date {
    return new Date(this.asOf.getTime() - this.random.integer(30, Math.round(maxYears * 365)) * DAY_MS);
  }

  /** Moves a date to a weekday between 08:00 and 16:45, when the clinics are open. */
  private workdayAt(date: Date): Date {
    const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
    const weekday = day.getUTCDay();
    const shift = weekday === 6 ? 2 : weekday === 0 ? 1 : 0;
    const minutes = 8 * 60 + this.random.integer(0, 35) * 15;
    const result = new Date(day.getTime() + shift * DAY_MS + minutes * 60_000);
    return result < this.asOf ? result : new Date(result.getTime() - 7 * DAY_MS);
  }
}

function practitioner(id: string): Reference {
  const person: DemoPractitioner | undefined = PRACTITIONERS.find((p) => p.id === id);
  const display = person === undefined ? undefined : `${person.given.join(' ')} ${person.family}`;
  return display === undefined
    ? { reference: `Practitioner/${id}` }
    : { reference: `Practitioner/${id}`, display };
}
