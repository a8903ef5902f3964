/**
 * Names and places for the demo region: a district in northern Portugal whose population
 * includes a large Ukrainian community, so the data set carries accented Latin names and
 * Cyrillic names side by side (the cases name search and patient matching must get right).
 * All people, streets and numbers are invented.
 */

export interface PersonName {
  given: string[];
  family: string;
  gender: 'female' | 'male';
  /** The name in Cyrillic for people of Ukrainian origin; their official name is the transliteration. */
  cyrillic?: { given: string[]; family: string };
  language: 'pt' | 'uk';
}

export const PATIENT_NAMES: readonly PersonName[] = [
  { given: ['João', 'Pedro'], family: 'Gonçalves', gender: 'male', language: 'pt' },
  { given: ['Maria', 'da Conceição'], family: 'Simões', gender: 'female', language: 'pt' },
  { given: ['Inês'], family: 'Magalhães', gender: 'female', language: 'pt' },
  { given: ['António'], family: 'Araújo', gender: 'male', language: 'pt' },
  { given: ['Beatriz'], family: 'Brandão', gender: 'female', language: 'pt' },
  { given: ['Sebastião'], family: 'Lopes', gender: 'male', language: 'pt' },
  { given: ['Luísa'], family: 'Fonseca', gender: 'female', language: 'pt' },
  { given: ['Tomás'], family: 'Assunção', gender: 'male', language: 'pt' },
  { given: ['Joana'], family: 'Peixoto', gender: 'female', language: 'pt' },
  { given: ['José', 'Manuel'], family: 'Antunes', gender: 'male', language: 'pt' },
  { given: ['Leonor'], family: 'Sá', gender: 'female', language: 'pt' },
  { given: ['Gonçalo'], family: 'Conceição', gender: 'male', language: 'pt' },
  { given: ['Mónica'], family: 'Guimarães', gender: 'female', language: 'pt' },
  {
    given: ['Olena'],
    family: 'Kovalenko',
    gender: 'female',
    language: 'uk',
    cyrillic: { given: ['Олена'], family: 'Коваленко' },
  },
  {
    given: ['Andrii'],
    family: 'Shevchenko',
    gender: 'male',
    language: 'uk',
    cyrillic: { given: ['Андрій'], family: 'Шевченко' },
  },
  {
    given: ['Iryna'],
    family: 'Melnyk',
    gender: 'female',
    language: 'uk',
    cyrillic: { given: ['Ірина'], family: 'Мельник' },
  },
  {
    given: ['Taras'],
    family: 'Tkachenko',
    gender: 'male',
    language: 'uk',
    cyrillic: { given: ['Тарас'], family: 'Ткаченко' },
  },
  {
    given: ['Nataliia'],
    family: 'Boiko',
    gender: 'female',
    language: 'uk',
    cyrillic: { given: ['Наталія'], family: 'Бойко' },
  },
  {
    given: ['Dmytro'],
    family: 'Kravchenko',
    gender: 'male',
    language: 'uk',
    cyrillic: { given: ['Дмитро'], family: 'Кравченко' },
  },
  {
    given: ['Yuliia'],
    family: 'Kovalchuk',
    gender: 'female',
    language: 'uk',
    cyrillic: { given: ['Юлія'], family: 'Ковальчук' },
  },
  {
    given: ['Serhii'],
    family: 'Oliinyk',
    gender: 'male',
    language: 'uk',
    cyrillic: { given: ['Сергій'], family: 'Олійник' },
  },
  {
    given: ['Oksana'],
    family: 'Lysenko',
    gender: 'female',
    language: 'uk',
    cyrillic: { given: ['Оксана'], family: 'Лисенко' },
  },
  {
    given: ['Yurii'],
    family: 'Savchenko',
    gender: 'male',
    language: 'uk',
    cyrillic: { given: ['Юрій'], family: 'Савченко' },
  },
  {
    given: ['Hanna'],
    family: 'Rudenko',
    gender: 'female',
    language: 'uk',
    cyrillic: { given: ['Ганна'], family: 'Руденко' },
  },
  {
    given: ['Mykola'],
    family: 'Marchenko',
    gender: 'male',
    language: 'uk',
    cyrillic: { given: ['Микола'], family: 'Марченко' },
  },
];

export interface Place {
  city: string;
  district: string;
  postalCode: string;
  streets: readonly [string, ...string[]];
}

export const PLACES: readonly [Place, ...Place[]] = [
  {
    city: 'Braga',
    district: 'Braga',
    postalCode: '4700',
    streets: ['Rua de São Vicente', 'Avenida da Liberdade', 'Rua do Souto', 'Rua Dom Pedro V'],
  },
  {
    city: 'Guimarães',
    district: 'Braga',
    postalCode: '4810',
    streets: ['Rua de Santa Maria', 'Largo da Oliveira', 'Avenida Conde de Margaride'],
  },
  {
    city: 'Barcelos',
    district: 'Braga',
    postalCode: '4750',
    streets: ['Rua Dom António Barroso', 'Avenida da Liberdade', 'Rua Cândido dos Reis'],
  },
  {
    city: 'Vila Nova de Famalicão',
    district: 'Braga',
    postalCode: '4760',
    streets: ['Rua Adriano Pinto Basto', 'Avenida Marechal Humberto Delgado'],
  },
];
