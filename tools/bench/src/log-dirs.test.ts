import { parseLogDirs } from './log-dirs';

it("sums a topic's partitions, one copy each (the largest replica), from LogDirsCommand's output", () => {
  const json = {
    brokers: [
      {
        broker: 1,
        logDirs: [
          {
            error: null,
            logDir: '/data',
            partitions: [
              { partition: 'run.ratings-0', size: 1000, offsetLag: 0, isFuture: false },
              { partition: 'run.ratings-1', size: 2000, offsetLag: 0, isFuture: false },
              { partition: 'run.mean-ratings-0', size: 70, offsetLag: 0, isFuture: false },
              { partition: 'other-topic-0', size: 5, offsetLag: 0, isFuture: false },
            ],
          },
        ],
      },
      {
        broker: 2,
        logDirs: [
          {
            error: null,
            logDir: '/data',
            partitions: [
              { partition: 'run.ratings-1', size: 1900, offsetLag: 100, isFuture: false },
              { partition: 'run.ratings-1', size: 9999, offsetLag: 0, isFuture: true },
            ],
          },
        ],
      },
    ],
    version: 1,
  };
  const out = `Querying brokers for log directories information\nReceived log directory information from brokers 1,2\n${JSON.stringify(json)}\n`;
  expect(parseLogDirs(out, ['run.ratings', 'run.mean-ratings', 'run.movies'])).toEqual(
    new Map([
      ['run.ratings', 3000],
      ['run.mean-ratings', 70],
      ['run.movies', 0],
    ]),
  );
  expect(() => parseLogDirs('Error: connection refused', ['t'])).toThrow(/no LogDirsCommand result/);
});
