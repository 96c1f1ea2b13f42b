import { sleep } from '../../src/shared/clock';
import { contextLogger, createLogger, withFields, withInvocationLogger, withLogFields, type LogRecord } from '../../src/shared/logger';

function capture(): { records: LogRecord[]; logger: ReturnType<typeof createLogger> } {
  const records: LogRecord[] = [];
  return { records, logger: createLogger((record) => records.push(record), 'debug') };
}

describe('withFields', () => {
  test("adds its fields to every line; a line's own fields win", () => {
    const { records, logger } = capture();
    const run = withFields(logger, { runId: 'r1', trigger: 'timer' });
    run.info('started');
    run.warn('odd', { trigger: 'own', count: 2 });
    expect(records).toEqual([
      { level: 'info', message: 'started', fields: { runId: 'r1', trigger: 'timer' } },
      { level: 'warn', message: 'odd', fields: { runId: 'r1', trigger: 'own', count: 2 } },
    ]);
  });
});

describe("contextLogger (the shared clients' logger)", () => {
  test('outside any invocation, lines go to the fallback as they are', () => {
    const fallback = capture();
    contextLogger(fallback.logger).info('ready', { containerId: 'c' });
    expect(fallback.records).toEqual([{ level: 'info', message: 'ready', fields: { containerId: 'c' } }]);
  });

  test("two invocations overlapping: each line goes to the invocation that made the call, with its run's fields", async () => {
    const fallback = capture();
    const timer = capture();
    const rerun = capture();
    const client = contextLogger(fallback.logger);
    // A client call that logs before and after a wait, as a retried request does.
    const call = async (name: string) => {
      client.warn('retrying', { name });
      await sleep(5);
      client.info('answered', { name });
    };
    await Promise.all([
      withInvocationLogger(timer.logger, () => withLogFields({ runId: 'timer-run' }, () => Promise.all([call('a'), call('b')]))),
      withInvocationLogger(rerun.logger, async () => {
        client.info('before the run');
        await withLogFields({ runId: 'rerun-run' }, () => call('c'));
      }),
    ]);
    expect(fallback.records).toEqual([]);
    expect(timer.records.map(({ message, fields }) => [message, fields])).toEqual([
      ['retrying', { runId: 'timer-run', name: 'a' }],
      ['retrying', { runId: 'timer-run', name: 'b' }],
      ['answered', { runId: 'timer-run', name: 'a' }],
      ['answered', { runId: 'timer-run', name: 'b' }],
    ]);
    expect(rerun.records.map(({ message, fields }) => [message, fields])).toEqual([
      ['before the run', {}],
      ['retrying', { runId: 'rerun-run', name: 'c' }],
      ['answered', { runId: 'rerun-run', name: 'c' }],
    ]);
  });

  test('a run without an invocation (the CLI, tests) logs to the fallback with its fields', async () => {
    const fallback = capture();
    await withLogFields({ runId: 'r2' }, async () => contextLogger(fallback.logger).debug('answered'));
    expect(fallback.records).toEqual([{ level: 'debug', message: 'answered', fields: { runId: 'r2' } }]);
  });
});
