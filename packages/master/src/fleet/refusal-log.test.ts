import { describe, expect, it } from '@jest/globals';
import type { RefusalEvent } from './admission.js';
import { RefusalLog, peerHost } from './refusal-log.js';

type Line = [string, Readonly<Record<string, string | number>>];

function setup(maxPeers?: number) {
  const lines: Line[] = [];
  const log = new RefusalLog({ log: (_level, message, fields) => lines.push([message, fields]), ...(maxPeers === undefined ? {} : { maxPeers }) });
  return { lines, log };
}

const event = (peer: string, reason: RefusalEvent['reason'] = 'bad_token'): RefusalEvent => ({ reason, peer, workerId: '', message: 'the bearer token is not the one the master accepts' });

describe('RefusalLog', () => {
  it('logs the first refusal of a peer host and reason, then one summary per interval', () => {
    const { lines, log } = setup();
    for (let port = 1000; port < 1500; port++) log.refused(event(`10.0.0.7:${port}`));
    log.refused(event('10.0.0.7:2000', 'no_client_certificate'));
    expect(lines).toEqual([
      ['fleet connection refused', { peer: '10.0.0.7:1000', reason: 'bad_token', detail: 'the bearer token is not the one the master accepts' }],
      ['fleet connection refused', { peer: '10.0.0.7:2000', reason: 'no_client_certificate', detail: 'the bearer token is not the one the master accepts' }],
    ]);
    log.flush();
    expect(lines.slice(2)).toEqual([['fleet connections refused (summary: logged once per peer and reason)', { peer: '10.0.0.7', reason: 'bad_token', count: 499 }]]);
    // The storm goes on: still one line per interval.
    for (let i = 0; i < 100; i++) log.refused(event('10.0.0.7:3000'));
    log.flush();
    expect(lines).toHaveLength(4);
    expect(lines[3]?.[1]).toEqual({ peer: '10.0.0.7', reason: 'bad_token', count: 100 });
  });

  it('forgets a peer quiet for a whole interval, so its next refusal is logged again', () => {
    const { lines, log } = setup();
    log.refused(event('10.0.0.8:1'));
    log.flush();
    log.flush();
    log.refused(event('10.0.0.8:2'));
    expect(lines.map(([m]) => m)).toEqual(['fleet connection refused', 'fleet connection refused']);
  });

  it('sums up hosts beyond maxPeers under peer=other', () => {
    const { lines, log } = setup(2);
    for (let i = 0; i < 50; i++) log.refused(event(`10.1.0.${i}:5`));
    expect(lines).toHaveLength(2);
    log.flush();
    expect(lines.slice(2)).toEqual([['fleet connections refused (summary: logged once per peer and reason)', { peer: 'other', reason: 'bad_token', count: 48 }]]);
  });

  it('names the worker id when the Hello was read', () => {
    const { lines, log } = setup();
    log.refused({ reason: 'worker_id_bound', peer: '10.0.0.9:4', workerId: 'w1', message: 'bound' });
    expect(lines[0]?.[1]).toMatchObject({ worker: 'w1' });
  });
});

describe('peerHost', () => {
  it.each([
    ['10.0.0.1:5000', '10.0.0.1'],
    ['[::1]:5000', '::1'],
    ['::ffff:10.0.0.1:5000', '::ffff:10.0.0.1'],
    ['unix-socket', 'unix-socket'],
  ])('%s → %s', (peer, host) => {
    expect(peerHost(peer)).toBe(host);
  });
});
