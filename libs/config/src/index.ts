export { OPTIONS, OptionName, OptionSpec, KAFKA_OPTIONS } from './options';
export { loadConfig, configWarnings, usage, redact, markdownTable, ConfigError, Config } from './load';
