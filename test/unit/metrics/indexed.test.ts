import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { IndexedCounter, IndexedHistogram } from '../../../src/metrics/indexed.js';

const EVENTS = ['push_start', 'push_stop', 'other'] as const;
const OUTCOMES = ['accepted', 'duplicate'] as const;
const BOUNDS = [0.001, 0.01, 0.1, 1];

/** prom-client itself is the oracle: the same observations must render the same text and JSON. */
describe('IndexedCounter and IndexedHistogram render as prom-client does', () => {
  it('for any sequence of counts and observations (label sets first used in index order)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            event: fc.integer({ min: 0, max: EVENTS.length - 1 }),
            outcome: fc.integer({ min: 0, max: OUTCOMES.length - 1 }),
            // Values on and around the bucket bounds, and beyond the last one.
            value: fc.oneof(
              fc.constantFrom(0, ...BOUNDS, 1.5, 100),
              fc.double({ min: 0, max: 10, noNaN: true }),
            ),
          }),
          { maxLength: 60 },
        ),
        async (ops) => {
          // prom-client lists label sets in order of first use; ours in index order: use them in that order.
          const sorted = [...ops].sort((a, b) => a.event - b.event || a.outcome - b.outcome);
          const ours = new Registry();
          const theirs = new Registry();
          const counter = new IndexedCounter('c_total', 'help c', { event: EVENTS, outcome: OUTCOMES }, ours);
          const histogram = new IndexedHistogram('h_seconds', 'help h', { event: EVENTS }, BOUNDS, ours);
          const oracleCounter = new Counter({
            name: 'c_total',
            help: 'help c',
            labelNames: ['event', 'outcome'],
            registers: [theirs],
          });
          const oracleHistogram = new Histogram({
            name: 'h_seconds',
            help: 'help h',
            labelNames: ['event'],
            buckets: BOUNDS,
            registers: [theirs],
          });
          for (const { event, outcome } of sorted) {
            counter.inc(event * OUTCOMES.length + outcome);
            oracleCounter.inc({ event: EVENTS[event]!, outcome: OUTCOMES[outcome]! });
          }
          for (const { event, value } of [...ops].sort((a, b) => a.event - b.event)) {
            histogram.observe(event, value);
            oracleHistogram.observe({ event: EVENTS[event]! }, value);
          }
          assert.equal(await ours.metrics(), await theirs.metrics());
          // prom-client's JSON also carries `exemplar: null` on buckets (exemplars are off here).
          const withoutExemplars = (json: unknown) =>
            JSON.parse(
              JSON.stringify(json, (key, value: unknown) => (key === 'exemplar' ? undefined : value)),
            );
          assert.deepEqual(await ours.getMetricsAsJSON(), withoutExemplars(await theirs.getMetricsAsJSON()));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('expose nothing before use, count by any amount, and start over on reset', async () => {
    const registry = new Registry();
    const counter = new IndexedCounter('c_total', 'help', { event: EVENTS, outcome: OUTCOMES }, registry);
    const histogram = new IndexedHistogram('h_seconds', 'help', { event: EVENTS }, BOUNDS, registry);
    assert.doesNotMatch(await registry.metrics(), /^c_total|^h_seconds/m);
    counter.inc(3, 0);
    counter.inc(1, 2.5);
    assert.match(await registry.metrics(), /^c_total\{event="push_start",outcome="duplicate"\} 2\.5$/m);
    assert.match(await registry.metrics(), /^c_total\{event="push_stop",outcome="duplicate"\} 0$/m);
    assert.throws(() => histogram.observe(0, NaN), /not a finite number/);
    histogram.observe(2, 5);
    assert.match(await registry.metrics(), /^h_seconds_bucket\{le="1",event="other"\} 0$/m);
    assert.match(await registry.metrics(), /^h_seconds_bucket\{le="\+Inf",event="other"\} 1$/m);
    registry.resetMetrics();
    assert.doesNotMatch(await registry.metrics(), /^c_total\{|^h_seconds_/m);
  });
});
