import { medianRun, type Figures } from '../../bench/figures';
import { parseBenchOptions } from '../../bench/options';

/** Just the figures medianRun reads and reports; the rest of a run does not matter here. */
function run(wallSeconds: number, cpuSeconds: number): Figures {
  return { scenario: 'pipelined/modeled', wallSeconds, cpuSeconds, wallOverBound: wallSeconds / 2 } as Partial<Figures> as Figures;
}

describe('--repeat', () => {
  test('is a whole number from 1 to 20, 1 by default', () => {
    const parsed = (...argv: string[]) => parseBenchOptions(argv);
    expect(parsed()).toMatchObject({ ok: true, options: { repeat: 1 } });
    expect(parsed('--repeat', '3')).toMatchObject({ ok: true, options: { repeat: 3 } });
    expect(parsed('--repeat', '0')).toMatchObject({ ok: false, problems: ['--repeat must be a whole number from 1 to 20, got "0"'] });
    expect(parsed('--repeat', 'two')).toMatchObject({ ok: false });
  });

  test('reports the run with the median wall time, whole, with every run beside it in the order they ran', () => {
    const median = medianRun([run(3.1, 2.5), run(1.9, 1.4), run(2.4, 2.0)]);
    expect(median).toMatchObject({ wallSeconds: 2.4, cpuSeconds: 2.0, wallOverBound: 1.2 });
    expect(median.runs).toEqual({ wallSeconds: [3.1, 1.9, 2.4], cpuSeconds: [2.5, 1.4, 2.0], wallOverBound: [1.55, 0.95, 1.2] });
  });

  test('of an even count, the faster middle run; of one run, that run as it is', () => {
    expect(medianRun([run(4, 1), run(1, 1), run(3, 1), run(2, 1)]).wallSeconds).toBe(2);
    const single = run(2, 1);
    expect(medianRun([single])).toBe(single);
    expect(() => medianRun([])).toThrow(RangeError);
  });
});
