export { OPTIONS, OptionName, OptionSpec, KAFKA_OPTIONS, DATABASE_OPTIONS, MOVIE_API_OPTIONS } from './options';
export { loadConfig, configWarnings, usage, redact, markdownTable, ConfigError, Config } from './load';
