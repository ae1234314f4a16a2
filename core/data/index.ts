/** Dataset readers: one import point for every reader and the Catalogue. */
export { Catalogue } from './catalogue';
export * from './amazon';
export * from './sequential';
export * from './candidates';
export * from './movielens';
export * from './pyliteral';
export { readCsv, type CsvRecord } from './csv';
export { LocatedError, eachLine, readJsonl, readJsonObjectEntries } from './lines';
