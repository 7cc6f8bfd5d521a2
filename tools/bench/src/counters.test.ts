import { counterValue, RestartingCounter } from './counters';

describe('RestartingCounter', () => {
  it('keeps what a restarted process counted before: the total never goes back', () => {
    const c = new RestartingCounter();
    expect([0, 10, 25, 25, 3, 9, 0, 4].map((n) => c.add(n))).toEqual([0, 10, 25, 25, 28, 34, 34, 38]);
  });
});

describe('counterValue', () => {
  it('reads the counter of the action and topic', () => {
    const text =
      'movie_stream_messages_total{action="consumed",topic="t"} 12\nmovie_stream_messages_total{action="published",topic="t"} 3\n';
    expect([counterValue(text, 'consumed', 't'), counterValue(text, 'published', 't'), counterValue(text, 'consumed', 'u')]).toEqual([
      12, 3, 0,
    ]);
  });
});
