import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Throttle } from './throttle.js';

/** The fake clock's time (jest's modern fake timers drive `performance.now` too). */
const now = () => performance.now();

describe('Throttle', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs the tasks requested within an interval together, once each, at most once per interval', () => {
    const throttle = new Throttle(1000);
    const runs: [string, number][] = [];
    const a = () => runs.push(['a', now()]);
    const b = () => runs.push(['b', now()]);
    const start = now();
    throttle.request(a);
    jest.advanceTimersByTime(0);
    expect(runs).toEqual([['a', start]]);
    jest.advanceTimersByTime(300);
    throttle.request(a);
    jest.advanceTimersByTime(400);
    throttle.request(b);
    throttle.request(a);
    jest.advanceTimersByTime(299);
    expect(runs).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(runs).toEqual([['a', start], ['a', start + 1000], ['b', start + 1000]]);
  });

  it('runs at once when the last run was due an interval ago, even if that run started late', () => {
    // A clock of its own, so that the run can start later than its timer was due, as under a busy event loop.
    let clock = 0;
    const throttle = new Throttle(1000, () => clock);
    const runs: number[] = [];
    throttle.request(() => runs.push(clock));
    clock = 600;
    jest.advanceTimersByTime(0);
    expect(runs).toEqual([600]);
    clock = 1050;
    throttle.request(() => runs.push(clock));
    jest.advanceTimersByTime(0);
    // Due at 1000 (an interval after the first was due), requested at 1050: no second wait.
    expect(runs).toEqual([600, 1050]);
  });

  it('runs a task requested by a task of the run in that run, and one that ran already in the next', () => {
    const throttle = new Throttle(1000);
    const runs: string[] = [];
    const send = () => runs.push(`send@${now()}`);
    const view = () => {
      runs.push(`view@${now()}`);
      throttle.request(send);
      throttle.request(view);
    };
    const start = now();
    throttle.request(view);
    jest.advanceTimersByTime(0);
    expect(runs).toEqual([`view@${start}`, `send@${start}`]);
    jest.advanceTimersByTime(999);
    expect(runs).toHaveLength(2);
    jest.advanceTimersByTime(1);
    expect(runs).toEqual([`view@${start}`, `send@${start}`, `view@${start + 1000}`, `send@${start + 1000}`]);
    throttle.stop();
  });

  it('counts the interval from a restart, and keeps what was requested', () => {
    const throttle = new Throttle(1000);
    const runs: number[] = [];
    const start = now();
    throttle.request(() => runs.push(now()));
    jest.advanceTimersByTime(0);
    jest.advanceTimersByTime(500);
    throttle.request(() => runs.push(now()));
    throttle.restart();
    jest.advanceTimersByTime(999);
    expect(runs).toEqual([start]);
    jest.advanceTimersByTime(1);
    expect(runs).toEqual([start, start + 1500]);
  });

  it('runs nothing cancelled or stopped', () => {
    const throttle = new Throttle(100);
    const ran: string[] = [];
    const a = () => ran.push('a');
    throttle.request(a);
    throttle.cancel(a);
    throttle.request(() => ran.push('b'));
    throttle.stop();
    jest.advanceTimersByTime(1000);
    expect(ran).toEqual([]);
  });
});
