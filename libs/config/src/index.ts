export { OPTIONS, OptionName, OptionSpec } from './options';
export { loadConfig, usage, redact, markdownTable, ConfigError, Config } from './load';
