import { describe, expect, it } from '@jest/globals';
import { parseMetricsText, sumMetric } from './vmagent.js';

const exposition = `# HELP ignored
vm_promscrape_active_scrapers{type="kubernetes_sd_configs"} 2834
vm_promscrape_active_scrapers{type="static_configs"} 0
vm_promscrape_discovery_kubernetes_scrape_works{role="endpointslice"} 1050
vm_promscrape_discovery_kubernetes_scrape_works{role="node"} 100
vm_promscrape_discovery_kubernetes_scrape_works{role="pod"} 1684
vm_promscrape_discovery_kubernetes_scrape_works_total 7
process_resident_memory_bytes 5.9912192e+07
go_gc_duration_seconds{quantile="0.5"} NaN
`;

describe('parseMetricsText', () => {
  it('reads every sample by its series text, skipping comments and values that are not numbers', () => {
    const samples = parseMetricsText(exposition);
    expect(samples.get('vm_promscrape_active_scrapers{type="kubernetes_sd_configs"}')).toBe(2834);
    expect(samples.get('process_resident_memory_bytes')).toBe(59_912_192);
    expect(samples.has('go_gc_duration_seconds{quantile="0.5"}')).toBe(false);
    expect(samples.size).toBe(7);
  });

  it('keeps label values with spaces whole', () => {
    expect(parseMetricsText('m{path="/a b"} 3\n').get('m{path="/a b"}')).toBe(3);
  });
});

describe('sumMetric', () => {
  it('adds every series of a metric, and only of that metric', () => {
    expect(sumMetric(parseMetricsText(exposition), 'vm_promscrape_discovery_kubernetes_scrape_works')).toBe(2834);
  });

  it('is undefined for a metric with no series', () => {
    expect(sumMetric(parseMetricsText(exposition), 'vm_promscrape_discovery_kubernetes_objects')).toBeUndefined();
  });
});
