/** Folding applied to string search values; must be the one the indexer applied to `search_string.normalized`. */
export type StringNormalizer = (value: string) => string;
