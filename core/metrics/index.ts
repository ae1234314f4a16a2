/** Metrics of docs/methods.md §A9 (Flower) — accuracy, popularity fairness, diversity, distribution fitting. */
export * from './accuracy';
export * from './popularity';
export * from './diversity';
export * from './distribution';
export * from './score';
