import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  instanceId?: string;
  level?: string;
  /** json | text | auto (text when stderr is a terminal). */
  format?: string;
}

/**
 * Logs go to stderr so stdout stays free for a program's result (summaries, tables).
 * JSON for machines (containers, files), colourless text for people at a terminal.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const wantJson = opts.format === 'json' || ((opts.format ?? 'auto') === 'auto' && !process.stderr.isTTY);
  const format = wantJson
    ? winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json())
    : winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.errors({ stack: true }),
        winston.format.printf(({ timestamp, level, message, service, instanceId: _i, stack, ...rest }) => {
          const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
          return `${timestamp} ${level.padEnd(5)} [${service}] ${message}${extra}${stack ? '\n' + stack : ''}`;
        }),
      );
  return winston.createLogger({
    level: opts.level ?? 'info',
    defaultMeta: { service: opts.service, instanceId: opts.instanceId },
    format,
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
  });
}
