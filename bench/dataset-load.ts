/** What loading the search dataset with `concordia import` took (the importer's summary line). */
export interface DatasetLoad {
  resources: number;
  failures: number;
  seconds: number;
  resourcesPerSecond: number;
}
