export * from './outcome.ts';
export * from './resource.ts';
export * from './search/index-types.ts';
