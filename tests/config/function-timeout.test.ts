import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTimeSpanMinutes, readFunctionTimeout } from '../../src/config/function-timeout';

describe('functionTimeout', () => {
  test('reads .NET TimeSpan text, and -1 as no limit', () => {
    expect(parseTimeSpanMinutes('00:10:00')).toEqual({ minutes: 10 });
    expect(parseTimeSpanMinutes('01:30:30')).toEqual({ minutes: 90.5 });
    expect(parseTimeSpanMinutes('1.00:00:00')).toEqual({ minutes: 1440 });
    expect(parseTimeSpanMinutes('-1')).toEqual({ minutes: undefined });
    expect(parseTimeSpanMinutes('10 minutes')).toBeUndefined();
  });

  describe('where it comes from', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'function-timeout-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    test('host.json beside the settings, unless the app setting overrides it', () => {
      writeFileSync(join(dir, 'host.json'), '\uFEFF{ "version": "2.0", "functionTimeout": "00:10:00" }');
      expect(readFunctionTimeout({ directory: dir, env: {} })).toEqual({ minutes: 10, value: '00:10:00', source: join(dir, 'host.json') });
      expect(readFunctionTimeout({ directory: dir, env: { AzureFunctionsJobHost__functionTimeout: '00:30:00' } })).toEqual({
        minutes: 30,
        value: '00:30:00',
        source: 'app setting AzureFunctionsJobHost__functionTimeout',
      });
    });

    test('a host.json saved as UTF-16 with CRLF line ends (Windows PowerShell 5.1, Notepad) is read', () => {
      writeFileSync(join(dir, 'host.json'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{\r\n  "version": "2.0",\r\n  "functionTimeout": "00:10:00"\r\n}\r\n', 'utf16le')]));
      expect(readFunctionTimeout({ directory: dir, env: {} })).toEqual({ minutes: 10, value: '00:10:00', source: join(dir, 'host.json') });
    });

    test('a host.json with comments and a trailing comma, which the Functions host takes, is read', () => {
      writeFileSync(join(dir, 'host.json'), '{\n  // ten minutes, the Premium default\n  "version": "2.0",\n  /* the run stops at MaxRunMinutes */ "functionTimeout": "00:10:00",\n}\n');
      expect(readFunctionTimeout({ directory: dir, env: {} })).toEqual({ minutes: 10, value: '00:10:00', source: join(dir, 'host.json') });
    });

    test('the app setting named with a colon, as a Windows plan may name it, overrides host.json too', () => {
      writeFileSync(join(dir, 'host.json'), '{ "version": "2.0", "functionTimeout": "00:10:00" }');
      expect(readFunctionTimeout({ directory: dir, env: { 'AzureFunctionsJobHost:functionTimeout': '00:30:00' } })).toEqual({
        minutes: 30,
        value: '00:30:00',
        source: 'app setting AzureFunctionsJobHost:functionTimeout',
      });
    });

    test("nothing to compare with when there is no host.json; the plan's default when it sets no functionTimeout", () => {
      expect(readFunctionTimeout({ directory: dir, env: {} })).toBeUndefined();
      writeFileSync(join(dir, 'host.json'), '{ "version": "2.0" }');
      expect(readFunctionTimeout({ directory: dir, env: {} })).toEqual({ planDefault: true, source: join(dir, 'host.json') });
    });

    test('a host.json that does not parse, one that is no object, a functionTimeout that is not text, or a timeout that is not hh:mm:ss: each is named as such', () => {
      const path = join(dir, 'host.json');
      writeFileSync(path, '{ "functionTimeout": ');
      expect(readFunctionTimeout({ directory: dir, env: {} })).toEqual({
        problem: `${path} does not parse as JSON (ValueExpected at line 1, column 22): fix it, as the Functions host cannot read it either`,
      });
      writeFileSync(path, '["2.0"]');
      expect(readFunctionTimeout({ directory: dir, env: {} })).toEqual({ problem: `${path} is not a JSON object: write it as { "version": "2.0", ... }` });
      writeFileSync(path, '{ "version": "2.0", "functionTimeout": 600 }');
      expect(readFunctionTimeout({ directory: dir, env: {} })).toEqual({
        problem: `functionTimeout in ${path} is 600, not text: write it as "hh:mm:ss", e.g. "00:10:00" (or "-1" for no limit)`,
      });
      expect(readFunctionTimeout({ directory: dir, env: { AzureFunctionsJobHost__functionTimeout: '10m' } })).toEqual({
        problem: 'functionTimeout "10m" in app setting AzureFunctionsJobHost__functionTimeout is not hh:mm:ss',
      });
    });
  });
});
