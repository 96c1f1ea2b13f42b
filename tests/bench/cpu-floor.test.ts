import { cpuFloorOf } from '../../bench/figures';

describe('the CPU floor', () => {
  test('is the job thread when its busy time exceeds all the CPU spread over the cores', () => {
    // 1.8 s on the job thread; (2.2 + 1.0) s of CPU over 2 cores is 1.6 s.
    expect(cpuFloorOf(1800, 2200, 1000, 2)).toEqual({ ms: 1800, limitedBy: 'job thread', cores: 2 });
  });

  test('is the cores when the job and the stand-ins together use more than the job thread alone', () => {
    // 9 s of job CPU and 5 s of stand-ins over 2 cores is 7 s, more than the 6 s the job thread was busy.
    expect(cpuFloorOf(6000, 9000, 5000, 2)).toEqual({ ms: 7000, limitedBy: 'cores', cores: 2 });
  });

  test('is unknown without the stand-ins CPU or the machine cores', () => {
    expect(cpuFloorOf(1000, 1500, undefined, 2)).toBeUndefined();
    expect(cpuFloorOf(1000, 1500, 500, undefined)).toBeUndefined();
    expect(cpuFloorOf(1000, 1500, 500, 0)).toBeUndefined();
  });
});
