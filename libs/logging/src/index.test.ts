import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger } from './index';

/** The logger's own format, written to memory instead of stderr. */
function capture(format: string, level?: string): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ service: 'svc', instanceId: 'svc-1', format, level });
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  logger.clear().add(new winston.transports.Stream({ stream }));
  return { logger, lines };
}

it('writes every level to stderr, so stdout stays free for results', () => {
  const console = createLogger({ service: 'svc', format: 'json' }).transports[0] as winston.transports.ConsoleTransportInstance & {
    stderrLevels: Record<string, boolean>;
  };
  expect(Object.keys(console.stderrLevels).sort()).toEqual(['debug', 'error', 'http', 'info', 'silly', 'verbose', 'warn']);
});

it('json: one object per line with service, instance, level, message, metadata and the stack of an error', () => {
  const { logger, lines } = capture('json');
  logger.info('hello', { rows: 3 });
  logger.error(new Error('boom'));
  expect(lines).toHaveLength(2);
  const [info, error] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(info).toMatchObject({ service: 'svc', instanceId: 'svc-1', level: 'info', message: 'hello', rows: 3 });
  expect(typeof info.timestamp).toBe('string');
  expect(error).toMatchObject({ level: 'error', message: 'boom' });
  expect(String(error.stack)).toContain('Error: boom');
});

it('text: time, level, service and message on one line, metadata as JSON, the instance left out', () => {
  const { logger, lines } = capture('text');
  logger.warn('careful', { topic: 't' });
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} warn  \[svc\] careful \{"topic":"t"\}$/);
});

it('drops messages below the configured level', () => {
  const { logger, lines } = capture('json', 'warn');
  logger.info('quiet');
  logger.debug('quieter');
  logger.warn('loud');
  expect(lines.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['loud']);
});
