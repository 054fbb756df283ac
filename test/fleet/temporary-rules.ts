// TEMPORARY, until deploy/prometheus/rules/ and the talk2me_memory_threshold_bytes gauge are on
// main: the two rules the fleet test needs, with the names the real files use, and the gauge
// stood in for by recording rules holding each instance's MEMORY_THRESHOLD_MB in bytes.
import { stringify } from 'yaml';

export function temporaryRules(instances: Array<{ target: string; thresholdMb: number }>, job: string): string {
  const gauge = instances.map(({ target, thresholdMb }) => ({
    record: 'talk2me_memory_threshold_bytes',
    expr: `label_replace(label_replace(vector(${thresholdMb * 1024 * 1024}), "instance", "${target}", "", ""), "job", "${job}", "", "")`,
  }));
  return stringify({
    groups: [
      { name: 'temporary.gauge', rules: gauge },
      {
        name: 'talk2me.recording',
        rules: [{ record: 'talk2me:process_resident_memory_bytes:sum', expr: 'sum by (job) (process_resident_memory_bytes and talk2me_memory_threshold_bytes)' }],
      },
      {
        name: 'talk2me.alerts',
        rules: [{ alert: 'Talk2meMemoryNearThreshold', expr: 'process_resident_memory_bytes / talk2me_memory_threshold_bytes > 0.9', for: '5m', labels: { severity: 'warning' } }],
      },
    ],
  });
}
