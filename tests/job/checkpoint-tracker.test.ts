import { CheckpointTracker } from '../../src/job/checkpoint-tracker';
import { computeWindow } from '../../src/job/window';

const at = (time: string) => new Date(`2026-11-23T${time}Z`);

describe('CheckpointTracker', () => {
  test('moves past final carts, keeping the ids at its last instant', () => {
    const tracker = new CheckpointTracker(at('10:00:00'), []);
    tracker.observe('a', at('10:01:00'), true);
    tracker.observe('b', at('10:02:00'), true);
    tracker.observe('c', at('10:02:00'), true);
    expect(tracker.position()).toEqual({ lastModifiedAt: at('10:02:00'), cartIdsAtLastModified: ['b', 'c'] });
    tracker.finish(at('10:30:00'));
    expect(tracker.position()).toEqual({ lastModifiedAt: at('10:30:00'), cartIdsAtLastModified: [] });
  });

  test('stops at the first cart that is not final; final carts at the same instant still count', () => {
    const tracker = new CheckpointTracker(at('10:00:00'), ['z']);
    tracker.observe('a', at('10:01:00'), true);
    tracker.observe('b', at('10:02:00'), false);
    tracker.observe('c', at('10:02:00'), true);
    tracker.observe('d', at('10:03:00'), true);
    tracker.finish(at('10:30:00'));
    expect(tracker.isStalled).toBe(true);
    expect(tracker.position()).toEqual({ lastModifiedAt: at('10:02:00'), cartIdsAtLastModified: ['c'] });
  });

  test('keeps the ids it started with while nothing newer is final', () => {
    const tracker = new CheckpointTracker(at('10:00:00'), ['x']);
    tracker.observe('y', at('10:00:00'), true);
    expect(tracker.position()).toEqual({ lastModifiedAt: at('10:00:00'), cartIdsAtLastModified: ['x', 'y'] });
  });
});

describe('computeWindow', () => {
  const now = at('12:00:00');
  test('first run: Include to Exclude', () => {
    expect(computeWindow({ now, includeMinutes: 500, excludeMinutes: 10, checkpoint: undefined })).toEqual({
      from: at('03:40:00'),
      to: at('11:50:00'),
      source: 'include-minutes',
      cartIdsDoneAtFrom: [],
    });
  });
  test('later runs start at the checkpoint, with the ids done there', () => {
    const checkpoint = { operatingUnitNumber: '1', channelId: 1, lastModifiedAt: '2026-11-23T11:00:00.000Z', cartIdsAtLastModified: ['a'], runId: 'r', updatedAt: '' };
    expect(computeWindow({ now, includeMinutes: 500, excludeMinutes: 10, checkpoint })).toMatchObject({ from: at('11:00:00'), to: at('11:50:00'), source: 'checkpoint', cartIdsDoneAtFrom: ['a'] });
  });
  test('a checkpoint past the end (Exclude was raised) gives an empty window, not a reversed one', () => {
    const checkpoint = { operatingUnitNumber: '1', channelId: 1, lastModifiedAt: '2026-11-23T11:55:00.000Z', cartIdsAtLastModified: [], runId: 'r', updatedAt: '' };
    const window = computeWindow({ now, includeMinutes: 500, excludeMinutes: 10, checkpoint });
    expect(window.from).toEqual(window.to);
  });
  test('a rerun gives its own bounds; a missing from spans Include minus Exclude', () => {
    expect(computeWindow({ now, includeMinutes: 500, excludeMinutes: 10, checkpoint: undefined, requested: { to: at('11:00:00') } })).toMatchObject({
      from: at('02:50:00'),
      to: at('11:00:00'),
      source: 'request',
    });
  });
});
