export { generateDataset, mulberry32, movieIdAt, GENRES, DEFAULT_SEED, type GenerateOptions, type GenerateResult } from './generate';
