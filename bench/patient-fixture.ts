/**
 * The Patient every scenario writes: a realistic size (names, identifiers, telecom, address,
 * about 700 bytes of JSON) so that the benchmark pays for parsing, indexing and storing a
 * resource like the ones exchanges actually hold, not for an empty `{"resourceType":"Patient"}`.
 */
const givenNames = ['Olena', 'Taras', 'Maria', 'Ivan', 'Sofia', 'Andrii', 'Anna', 'Mykola', 'Iryna', 'Petro'];
const familyNames = ['Kovalenko', 'Shevchenko', 'Bondarenko', 'Tkachenko', 'Kravchenko', 'Melnyk', 'Boyko'];
const cities = ['Kyiv', 'Lviv', 'Odesa', 'Kharkiv', 'Dnipro', 'Vinnytsia'];

export interface PatientFixture {
  resourceType: 'Patient';
  id?: string;
  [element: string]: unknown;
}

/** The `n`th bench Patient; with `id` it is the body of an update (http.html#update requires the id). */
export function benchPatient(n: number, id?: string): PatientFixture {
  const given = pick(givenNames, n);
  const family = pick(familyNames, Math.floor(n / givenNames.length));
  const birthYear = 1930 + (n % 90);
  const birthMonth = String(1 + (n % 12)).padStart(2, '0');
  const birthDay = String(1 + (n % 28)).padStart(2, '0');
  return {
    resourceType: 'Patient',
    ...(id !== undefined ? { id } : {}),
    identifier: [
      { system: 'urn:oid:1.2.804.2.1.1.1.1', value: String(1_000_000_000 + n) },
      { system: 'https://concordia.example/bench/mrn', value: `MRN-${n}` },
    ],
    active: true,
    name: [{ use: 'official', family, given: [given, pick(givenNames, n + 3)] }],
    telecom: [
      { system: 'phone', value: `+380 44 ${String(n % 10_000_000).padStart(7, '0')}`, use: 'mobile' },
      { system: 'email', value: `${given.toLowerCase()}.${n}@example.org` },
    ],
    gender: n % 2 === 0 ? 'female' : 'male',
    birthDate: `${birthYear}-${birthMonth}-${birthDay}`,
    address: [
      {
        use: 'home',
        line: [`${1 + (n % 200)} Khreshchatyk St`],
        city: pick(cities, n),
        postalCode: String(1000 + (n % 9000)).padStart(5, '0'),
        country: 'UA',
      },
    ],
  };
}

function pick(values: readonly string[], n: number): string {
  // `values` is never empty; the fallback only satisfies noUncheckedIndexedAccess.
  return values[n % values.length] ?? '';
}
