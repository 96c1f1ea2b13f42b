import { ProblemSummary } from '../../src/shared/problem-summary';
import { createLogger, type LogRecord } from '../../src/shared/logger';

function logged(summary: ProblemSummary): LogRecord[] {
  const records: LogRecord[] = [];
  summary.log(createLogger((record) => records.push(record)), 'warn', 'Skipped cart records that do not parse');
  return records;
}

describe("a page's problems of one kind, as one line", () => {
  test('nothing added, nothing logged', () => {
    expect(logged(new ProblemSummary())).toEqual([]);
  });

  test('one reason: the count, the reason and the ids', () => {
    const summary = new ProblemSummary();
    summary.add('CartLines Invalid input: expected array, received string', 'cart-1');
    summary.add('CartLines Invalid input: expected array, received string', 'cart-2');
    expect(logged(summary)).toEqual([
      { level: 'warn', message: 'Skipped cart records that do not parse', fields: { count: 2, reason: 'CartLines Invalid input: expected array, received string', samples: ['cart-1', 'cart-2'] } },
    ]);
  });

  test('thousands of records: one line, with five ids and five reasons counted, the rest together', () => {
    const summary = new ProblemSummary();
    for (let i = 0; i < 2_000; i++) summary.add(`problem ${i % 7}`, `cart-${i}`);
    summary.add('no id');
    const [line, ...more] = logged(summary);
    expect(more).toEqual([]);
    expect(line?.fields).toEqual({
      count: 2_001,
      reason: 'problem 0',
      byReason: { 'problem 0': 286, 'problem 1': 286, 'problem 2': 286, 'problem 3': 286, 'problem 4': 286, '(other reasons)': 571 },
      samples: ['cart-0', 'cart-1', 'cart-2', 'cart-3', 'cart-4'],
    });
  });
});
