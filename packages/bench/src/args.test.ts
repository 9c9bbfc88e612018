import { describe, expect, it } from '@jest/globals';
import { defaultOptions, parseArgs, UsageError } from './args.js';

describe('parseArgs', () => {
  it('gives the defaults for no flags', () => {
    expect(parseArgs([])).toEqual(defaultOptions);
  });

  it.each([
    [['--pods', '10000', '--nodes', '500'], { pods: 10_000, nodes: 500 }],
    [['--jobs', '1,5,40'], { jobs: [1, 5, 40] }],
    [['--jobs', 'none'], { jobs: [] }],
    [['--vmagent', 'none'], { vmagent: undefined }],
    [['--vmagent', '/opt/vm/vmagent-prod'], { vmagent: '/opt/vm/vmagent-prod' }],
    [['--runs', '3', '--churn-rate', '200', '--churn-seconds', '10'], { runs: 3, churnEventsPerSecond: 200, churnSeconds: 10 }],
    [['--throttle-ms', '0'], { throttleMs: 0 }],
    [['--encodings', 'protobuf'], { encodings: ['protobuf'] }],
    [['--gzip-lists', 'off'], { gzipLists: false }],
    [['--encodings', 'protobuf,json,protobuf'], { encodings: ['protobuf', 'json'] }],
    [['--json', '/tmp/out.json', '--cpu-prof-dir', '/tmp/prof'], { jsonFile: '/tmp/out.json', cpuProfileDir: '/tmp/prof' }],
  ])('reads %j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual({ ...defaultOptions, ...expected });
  });

  it.each([
    [['--pods'], '--pods needs a value'],
    [['--pods', '--nodes', '5'], '--pods needs a value'],
    [['--pods', '1.5'], '--pods "1.5": expected an integer from 0 to 10000000'],
    [['--pods', ''], '--pods "": expected an integer'],
    [['--nodes', '0'], '--nodes "0": expected an integer from 1'],
    [['--runs', '6'], '--runs "6": expected an integer from 1 to 5'],
    [['--jobs', '1,,40'], '--jobs "": expected an integer from 1 to 200'],
    [['--jobs', '0'], '--jobs "0"'],
    [['--gzip-lists', 'yes'], '--gzip-lists "yes": expected on or off'],
    [['--encodings', 'json,cbor'], '--encodings "json,cbor": expected json and/or protobuf, comma-separated'],
    [['--scale', '10k'], 'unknown flag "--scale"'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
