// deploy/kubernetes/: every variant rendered as `kubectl apply -k` would (and compared with kubectl
// where it is installed), each object checked against the Kubernetes, KEDA and prometheus-operator
// models (schema and unknown fields), and the deployment held to the server it runs: the settings are
// real and parse, the probes answer on the port and paths the manifests name, the memory limit and the
// grace period follow from the settings as README derives them, and the autoscaler's PromQL parses
// with promtool and names metrics the server exports.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ServerConfig } from '../../src/http/config.js';
import { ALL_SETTINGS, readServerConfig } from '../../src/server/settings.js';
import { tempDir } from '../helpers/temp-dir.js';
import { injectApp, makeRoot, type Root } from '../http/helpers/harness.js';
import { JsonPatchError, applyJsonPatch, canonicalJson } from './helpers/json-patch.js';
import { schemaProblem, strictFieldProblems } from './helpers/k8s-schemas.js';
import { keyOf, kubectlKustomize, renderKustomization, type K8sObject } from './helpers/kustomize.js';

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes');
const VARIANTS = ['.', 'gpu', 'models-pvc'] as const;
const MiB = 1024 * 1024;

// The memory margin's fixed parts (README.md in deploy/kubernetes, "Memory"): decoded audio is 16 kHz
// float32; the limit may exceed threshold + margin by less than this (rounding, not waste).
const AUDIO_BYTES_PER_S = 16_000 * 4;
const MEMORY_ROUNDING_MIB = 256;
// Time the process needs after SHUTDOWN_TIMEOUT_S to free the model, remove temp files and exit.
const EXIT_SLACK_S = 20;
// Test values for the Secret's keys (the Secret itself is made by the operator).
const SECRET_VALUES: Record<string, string> = {
  ADMIN_TOKEN: 'kube-test-admin-token-0123456789',
  METRICS_TOKEN: 'kube-test-metrics-token-0123456789',
  API_KEY: 'kube-test-api-key-0123456789abcdef',
};
const SETTING_NAMES = new Set(ALL_SETTINGS.map((spec) => spec.env));

// --- reading the rendered objects ------------------------------------------------------------------

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] }; runAsNonRoot?: boolean };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  initContainers?: Container[];
  containers: Container[];
  volumes?: Array<{ name: string; emptyDir?: { sizeLimit?: string }; persistentVolumeClaim?: { claimName: string } }>;
}
interface Deployment extends K8sObject {
  spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}
interface Trigger {
  type: string;
  name?: string;
  metricType?: string;
  metadata: Record<string, string>;
}
interface ScaledObject extends K8sObject {
  spec: { scaleTargetRef: { name: string }; minReplicaCount?: number; maxReplicaCount?: number; triggers: Trigger[] };
}

function only<T extends K8sObject>(objects: readonly K8sObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as T;
}

const serverContainer = (deployment: Deployment): Container => {
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'talk2me');
  if (!container) throw new Error('no container named talk2me');
  return container;
};

/** A Kubernetes quantity in bytes (memory, storage) or cores (cpu). */
function quantity(text: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|m)?$/.exec(text ?? '');
  if (!match) throw new Error(`not a quantity: ${text}`);
  const factor: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };
  return Number(match[1]) * (match[2] ? factor[match[2]]! : 1);
}

/** The environment the server container gets: its ConfigMap (envFrom) and env entries, secrets filled with test values. */
function containerEnv(objects: readonly K8sObject[], container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as (K8sObject & { data?: Record<string, string> }) | undefined;
    if (!map) throw new Error(`envFrom names ConfigMap ${name}, which is not among the objects`);
    Object.assign(env, map.data);
  }
  for (const entry of container.env ?? []) {
    const secret = entry.valueFrom?.secretKeyRef;
    env[entry.name] = entry.value ?? (secret ? (SECRET_VALUES[secret.key] ?? '') : '');
  }
  return env;
}

/** Names a container's environment uses that are not talk2me settings. */
function unknownSettings(objects: readonly K8sObject[], container: Container): string[] {
  return Object.keys(containerEnv(objects, container)).filter((name) => !SETTING_NAMES.has(name));
}

// --- the derivations -------------------------------------------------------------------------------

/** The memory the container needs, in MiB (README.md, "Memory"), and its parts. */
function memoryNeedMib(config: ServerConfig, annotations: Record<string, string>): { need: number; parts: Record<string, number> } {
  const figure = (name: string): number => {
    const value = Number(annotations[`memory.talk2me/${name}`]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`annotation memory.talk2me/${name} is missing or not a positive number`);
    return value;
  };
  const audioMib = (config.maxAudioS * AUDIO_BYTES_PER_S) / MiB;
  const parts = {
    threshold: config.memory.memoryThresholdMb,
    // Every state can be rebuilt between two checks after the ladder trimmed them all.
    states: config.maxConcurrency * figure('whisper-state-mib'),
    // Decoded audio of every request the server may hold at once: decoding, waiting, running.
    heldAudio: (config.decodeConcurrency + config.maxQueue + config.maxConcurrency) * audioMib,
    // Each decode: its ffmpeg child (outside Node's RSS), the upload read into memory, a second copy of the samples.
    decoding: config.decodeConcurrency * (figure('ffmpeg-mib') + config.maxUploadMb + audioMib),
    slack: figure('runtime-slack-mib'),
  };
  return { need: Object.values(parts).reduce((a, b) => a + b, 0), parts };
}

function memoryProblems(objects: readonly K8sObject[]): string[] {
  const deployment = only<Deployment>(objects, 'Deployment');
  const container = serverContainer(deployment);
  const config = readServerConfig(containerEnv(objects, container));
  const { need, parts } = memoryNeedMib(config, deployment.metadata.annotations ?? {});
  const limitMib = quantity(container.resources.limits?.memory) / MiB;
  const requestMib = quantity(container.resources.requests?.memory) / MiB;
  const problems: string[] = [];
  const why = `threshold + margin = ${need.toFixed(1)} MiB (${Object.entries(parts)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(' + ')})`;
  if (config.memory.memoryThresholdMb >= limitMib) problems.push(`MEMORY_THRESHOLD_MB ${config.memory.memoryThresholdMb} is not below the limit ${limitMib} MiB`);
  if (limitMib < need) problems.push(`memory limit ${limitMib} MiB is below ${why}`);
  if (limitMib - need >= MEMORY_ROUNDING_MIB) problems.push(`memory limit ${limitMib} MiB exceeds ${why} by ${MEMORY_ROUNDING_MIB} MiB or more`);
  if (requestMib !== limitMib) problems.push(`memory request ${requestMib} MiB differs from the limit ${limitMib} MiB`);
  return problems;
}

/** The grace period against preStop + SHUTDOWN_TIMEOUT_S + exit, and SHUTDOWN_TIMEOUT_S against the longest transcription. */
function graceProblems(objects: readonly K8sObject[]): string[] {
  const deployment = only<Deployment>(objects, 'Deployment');
  const container = serverContainer(deployment);
  const config = readServerConfig(containerEnv(objects, container));
  const problems: string[] = [];
  const command = container.lifecycle?.preStop?.exec?.command ?? [];
  const preStopS = command[0] === 'sleep' && command.length === 2 ? Number(command[1]) : NaN;
  if (!Number.isFinite(preStopS)) problems.push(`preStop is not ["sleep", N]: ${JSON.stringify(command)}`);
  const longestS = config.requestTimeoutS + config.requestTimeoutPerAudioS * config.maxAudioS;
  if (config.shutdownTimeoutS < longestS) {
    problems.push(`SHUTDOWN_TIMEOUT_S ${config.shutdownTimeoutS} is shorter than the longest transcription, REQUEST_TIMEOUT_S + REQUEST_TIMEOUT_PER_AUDIO_S × MAX_AUDIO_S = ${longestS} s`);
  }
  const grace = deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30;
  const needed = preStopS + config.shutdownTimeoutS + EXIT_SLACK_S;
  if (!(grace >= needed)) problems.push(`terminationGracePeriodSeconds ${grace} is below preStop ${preStopS} + SHUTDOWN_TIMEOUT_S ${config.shutdownTimeoutS} + ${EXIT_SLACK_S} = ${needed}`);
  return problems;
}

/** promtool's verdict on queries written as recording rules: null when all parse, else its output. */
async function promtoolProblem(queries: readonly string[]): Promise<string | null> {
  const dir = await tempDir('kube-promql');
  try {
    const file = join(dir.path, 'keda-queries.yml');
    const rules = queries.map((expr, i) => `      - record: keda:query_${i}\n        expr: ${JSON.stringify(expr)}`);
    await writeFile(file, `groups:\n  - name: keda\n    rules:\n${rules.join('\n')}\n`);
    const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
    if (run.error) throw run.error;
    return run.status === 0 ? null : `${run.stdout}${run.stderr}`;
  } finally {
    await dir.remove();
  }
}

/** Metric names a query selects (every selector in these queries carries braces). */
const metricsIn = (query: string): string[] => [...query.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]!);

// --- the tests -------------------------------------------------------------------------------------

const rendered = new Map<string, K8sObject[]>(VARIANTS.map((variant) => [variant, renderKustomization(join(DEPLOY, variant))]));
const objectsOf = (variant: string): K8sObject[] => rendered.get(variant)!;
// One TypeScript program for every variant's objects (building one is the slow part).
const strictProblems = (() => {
  const labelled = VARIANTS.flatMap((variant) => objectsOf(variant).map((object) => ({ variant, object })));
  return strictFieldProblems(
    labelled.map((entry) => entry.object),
    (object, i) => `${labelled[i]!.variant} ${keyOf(object)}`,
  );
})();

let root: Root;
beforeAll(async () => {
  root = await makeRoot('kube');
});
afterAll(async () => {
  await root?.remove();
});

describe.each(VARIANTS)('deploy/kubernetes/%s', (variant) => {
  const objects = objectsOf(variant);
  const deployment = only<Deployment>(objects, 'Deployment');
  const pod = deployment.spec.template.spec;
  const container = serverContainer(deployment);
  const env = containerEnv(objects, container);
  const config = readServerConfig(env);

  it('renders as kubectl kustomize does', () => {
    const expected = kubectlKustomize(join(DEPLOY, variant));
    if (expected === null) {
      console.warn('kubectl is not installed: the rendering is not compared with kustomize');
      return;
    }
    const byKey = (list: K8sObject[]): Map<string, string> => new Map(list.map((o) => [keyOf(o), canonicalJson(o)]));
    expect(byKey(objects)).toEqual(byKey(expected));
  });

  it('every object passes its model: schema and no unknown field', () => {
    expect(objects.map((o) => [keyOf(o), schemaProblem(o)])).toEqual(objects.map((o) => [keyOf(o), null]));
    expect(strictProblems.filter((problem) => problem.startsWith(`${variant} `))).toEqual([]);
  });

  it('sets only talk2me settings, and values talk2me serve accepts', () => {
    expect(unknownSettings(objects, container)).toEqual([]);
    for (const init of pod.initContainers ?? []) expect(unknownSettings(objects, init)).toEqual([]);
    // Settings left commented out in the ConfigMap for the operator are real ones too.
    const commented = [...readFileSync(join(DEPLOY, 'base', 'configmap.yaml'), 'utf8').matchAll(/^\s*#\s*([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(commented.filter((name) => !SETTING_NAMES.has(name))).toEqual([]);
    expect(() => readServerConfig(env)).not.toThrow();
    expect(config.host).toBe('0.0.0.0');
    expect(config.logFile).toBeNull(); // stdout only: the root file system is read-only
  });

  it('sizes threads and CPU to the container, not to the cores Node sees', () => {
    // Defaults follow availableParallelism(), which inside a pod can be the node's cores.
    for (const name of ['MAX_CONCURRENCY', 'WHISPER_THREADS', 'DECODE_CONCURRENCY']) expect(env, name).toHaveProperty(name);
    const cpu = quantity(container.resources.limits?.cpu);
    expect(quantity(container.resources.requests?.cpu)).toBe(cpu);
    expect(config.maxConcurrency * (config.whisperThreads ?? 0)).toBe(cpu);
  });

  it('derives the memory limit from MEMORY_THRESHOLD_MB plus the margin', () => {
    expect(memoryProblems(objects)).toEqual([]);
  });

  it('lets the longest transcription finish before the kubelet kills the pod', () => {
    expect(graceProblems(objects)).toEqual([]);
  });

  it('probes the paths and the port the server answers on', async () => {
    const port = container.ports?.find((p) => p.name === 'http');
    expect(port?.containerPort).toBe(config.port);
    expect(container.startupProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/ready', port: 'http' });

    // The server built from this very environment (only the model and the upload directory moved to
    // the test's), asked as the kubelet asks: by the pod's address.
    const instance = await injectApp(root, `kube-${variant.replace(/\W/g, '')}`, { ...env, WHISPER_MODEL: root.model, UPLOAD_DIR: join(root.path, `uploads-${variant.replace(/\W/g, '')}`) });
    try {
      for (const path of ['/health', '/ready']) {
        const answer = await instance.app.inject({ method: 'GET', url: path, headers: { host: `10.42.0.7:${config.port}` } });
        expect(answer.statusCode, `${path}: ${answer.body}`).toBe(200);
      }
      const scrape = await instance.app.inject({ method: 'GET', url: '/metrics', headers: { host: `10.42.0.7:${config.port}`, authorization: `Bearer ${SECRET_VALUES.METRICS_TOKEN}` } });
      expect(scrape.statusCode).toBe(200);
      expect((await instance.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401); // hence the ServiceMonitor's token
      const exported = new Set([...scrape.body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!));
      const queried = only<ScaledObject>(objects, 'ScaledObject').spec.triggers.flatMap((t) => metricsIn(t.metadata.query ?? ''));
      expect(queried.length).toBeGreaterThan(0);
      expect(queried.filter((name) => !exported.has(name))).toEqual([]);
    } finally {
      await instance.close();
    }
  });

  it('runs as non-root with a read-only root file system and no capabilities', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      expect(c.securityContext, c.name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    }
  });

  it('keeps uploads and the model on volumes, within the pod’s storage', () => {
    const mountOf = (c: Container, path: string): { name: string; mountPath: string; readOnly?: boolean } | undefined =>
      c.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
    const volume = (name: string | undefined) => pod.volumes?.find((v) => v.name === name);

    // UPLOAD_DIR: a directory talk2me creates itself (it must own it) on a disk-backed emptyDir.
    const scratch = mountOf(container, config.memory.uploadDir);
    expect(scratch, 'UPLOAD_DIR on a volume').toBeDefined();
    const scratchVolume = volume(scratch?.name);
    expect(scratchVolume?.emptyDir).toBeDefined();
    expect(config.memory.uploadMaxStagedMb * MiB).toBeLessThan(quantity(scratchVolume?.emptyDir?.sizeLimit));
    const emptyDirs = (pod.volumes ?? []).reduce((sum, v) => sum + (v.emptyDir ? quantity(v.emptyDir.sizeLimit) : 0), 0);
    expect(quantity(container.resources.limits?.['ephemeral-storage'])).toBeGreaterThanOrEqual(emptyDirs);

    // The model: the init container fetches into the volume the server reads, by the name WHISPER_MODEL gives.
    const models = mountOf(container, config.modelPath);
    expect(models?.readOnly).toBe(true);
    const init = pod.initContainers?.find((c) => c.name === 'model');
    const args = init?.args ?? [];
    expect(args.slice(0, 2)).toEqual(['model', 'fetch']);
    const dir = args[args.indexOf('--dir') + 1];
    expect(join(dir ?? '', `ggml-${args[2]}.bin`)).toBe(config.modelPath);
    expect(init?.volumeMounts?.find((m) => m.mountPath === dir)).toMatchObject({ name: models?.name });
    const claim = volume(models?.name)?.persistentVolumeClaim?.claimName;
    if (claim) expect(objects.map(keyOf)).toContain(`PersistentVolumeClaim/${claim}`);
    expect(new Set([init?.image, container.image]).size).toBe(1);
  });

  it('ties the objects together: Service, PodDisruptionBudget, ServiceMonitor and ScaledObject find the pods', () => {
    const podLabels = deployment.spec.template.metadata.labels;
    const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
      Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
    expect(matches(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
    const service = only<K8sObject & { spec: { selector: Record<string, string>; ports: Array<{ name: string; targetPort: string }> } }>(objects, 'Service');
    expect(matches(service.spec.selector, podLabels)).toBe(true);
    expect(service.spec.ports.map((p) => p.targetPort)).toContain('http');
    const pdb = only<K8sObject & { spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } }>(objects, 'PodDisruptionBudget');
    expect(matches(pdb.spec.selector.matchLabels, podLabels)).toBe(true);

    const monitor = only<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string; authorization?: { credentials?: { name: string; key: string } } }> } }>(
      objects,
      'ServiceMonitor',
    );
    expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    const endpoint = monitor.spec.endpoints[0]!;
    expect(service.spec.ports.map((p) => p.name)).toContain(endpoint.port);
    expect(endpoint.path).toBe('/metrics');
    const metricsSecret = container.env?.find((e) => e.name === 'METRICS_TOKEN')?.valueFrom?.secretKeyRef;
    expect(endpoint.authorization?.credentials).toEqual({ name: metricsSecret?.name, key: metricsSecret?.key });

    const scaled = only<ScaledObject>(objects, 'ScaledObject');
    expect(scaled.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    // A reload or a drain on one pod always leaves another ready.
    expect(scaled.spec.minReplicaCount).toBeGreaterThan(pdb.spec.maxUnavailable);
    expect((deployment.spec as { replicas?: number }).replicas).toBeUndefined(); // KEDA owns the count
  });

  it('scales on work per MAX_CONCURRENCY and on memory pressure against the thresholds', () => {
    const { triggers } = only<ScaledObject>(objects, 'ScaledObject').spec;
    const byName = new Map(triggers.map((t) => [t.name, t]));
    const work = byName.get('work');
    expect(work?.metricType).toBe('AverageValue');
    expect(metricsIn(work?.metadata.query ?? '').sort()).toEqual(['talk2me_inflight_transcriptions', 'talk2me_queue_depth']);
    expect(Number(work?.metadata.threshold)).toBe(config.maxConcurrency);
    const memory = byName.get('memory-pressure');
    expect(metricsIn(memory?.metadata.query ?? '').sort()).toEqual(['process_resident_memory_bytes', 'talk2me_memory_threshold_bytes']);
    const gpu = byName.get('gpu-memory-pressure');
    const wantsGpu = container.resources.limits?.['nvidia.com/gpu'] !== undefined;
    expect(gpu !== undefined).toBe(wantsGpu);
    if (gpu) {
      // Against each pod's own GPU_MEMORY_THRESHOLD_MB, as the server exports it.
      expect(metricsIn(gpu.metadata.query ?? '').sort()).toEqual(['talk2me_gpu_memory_threshold_bytes', 'talk2me_gpu_memory_used_bytes']);
      expect(env).toHaveProperty('GPU_MEMORY_THRESHOLD_MB');
      expect(container.resources.requests?.['nvidia.com/gpu']).toBe(container.resources.limits?.['nvidia.com/gpu']);
    }
    for (const t of triggers) expect(t.type).toBe('prometheus');
  });
});

describe('the variants', () => {
  it('every PromQL query of every ScaledObject parses with promtool', async () => {
    const queries = VARIANTS.flatMap((v) => only<ScaledObject>(objectsOf(v), 'ScaledObject').spec.triggers.map((t) => t.metadata.query ?? ''));
    expect(queries.length).toBeGreaterThanOrEqual(7);
    expect(await promtoolProblem(queries)).toBeNull();
  });

  it('the GPU variant differs from the CPU one where it should', () => {
    const cpu = serverContainer(only<Deployment>(objectsOf('.'), 'Deployment'));
    const gpu = serverContainer(only<Deployment>(objectsOf('gpu'), 'Deployment'));
    expect(cpu.resources.limits?.['nvidia.com/gpu']).toBeUndefined();
    expect(gpu.resources.limits?.['nvidia.com/gpu']).toBe('1');
    expect(gpu.image).not.toBe(cpu.image);
    expect(readServerConfig(containerEnv(objectsOf('gpu'), gpu)).memory.gpuMemoryThresholdMb).toBe(4096);
  });
});

describe('broken copies fail', () => {
  const base = objectsOf('.');
  const broken = (change: (objects: K8sObject[]) => void): K8sObject[] => {
    const copy = structuredClone(base);
    change(copy);
    return copy;
  };
  const deploymentIn = (objects: K8sObject[]): Deployment => only<Deployment>(objects, 'Deployment');

  it('the schema: a wrong type, a missing required field', () => {
    const deployment = structuredClone(deploymentIn(base));
    (deployment.spec as Record<string, unknown>).replicas = 'two';
    expect(schemaProblem(deployment)).toMatch(/replicas must be integer/);
    const scaled = structuredClone(only<ScaledObject>(base, 'ScaledObject'));
    delete (scaled.spec.triggers[0] as Partial<Trigger>).type;
    expect(schemaProblem(scaled)).toMatch(/triggers\/0 must have required property type/);
  });

  it('an unknown field: a misspelt probe, a field at the wrong level', () => {
    const objects = broken((o) => {
      (serverContainer(deploymentIn(o)) as unknown as Record<string, unknown>).readinesProbe = { httpGet: { path: '/ready', port: 'http' } };
      (only<ScaledObject>(o, 'ScaledObject').spec as Record<string, unknown>).cooldown = 300;
    });
    // The schema validators let both through; the strict check does not.
    expect(schemaProblem(deploymentIn(objects))).toBeNull();
    const problems = strictFieldProblems(objects);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^Deployment\/talk2me: .*'"readinesProbe"' does not exist/);
    expect(problems[1]).toMatch(/^ScaledObject\/talk2me: .*'"cooldown"' does not exist/);
  });

  it('a variable that is no setting, a value the server refuses', () => {
    const objects = broken((o) => {
      const map = only<K8sObject & { data: Record<string, string> }>(o, 'ConfigMap');
      map.data.MAX_CONCURENCY = '2';
    });
    expect(unknownSettings(objects, serverContainer(deploymentIn(objects)))).toEqual(['MAX_CONCURENCY']);
    const env = { ...containerEnv(base, serverContainer(deploymentIn(base))), MEMORY_THRESHOLD_MB: 'lots' };
    expect(() => readServerConfig(env)).toThrow(/MEMORY_THRESHOLD_MB/);
  });

  it('a memory limit below the threshold plus the margin, or far above it, or a threshold above the limit', () => {
    const withLimit = (memory: string) =>
      broken((o) => {
        const { resources } = serverContainer(deploymentIn(o));
        resources.limits!.memory = memory;
        resources.requests!.memory = memory;
      });
    expect(memoryProblems(withLimit('1792Mi')).join()).toMatch(/below threshold \+ margin/);
    expect(memoryProblems(withLimit('4Gi')).join()).toMatch(/exceeds threshold \+ margin/);
    const raised = broken((o) => {
      only<K8sObject & { data: Record<string, string> }>(o, 'ConfigMap').data.MEMORY_THRESHOLD_MB = '2048';
    });
    expect(memoryProblems(raised).join()).toMatch(/MEMORY_THRESHOLD_MB 2048 is not below the limit 2048 MiB/);
  });

  it('a grace period shorter than the drain, a shutdown shorter than the longest transcription', () => {
    const short = broken((o) => {
      deploymentIn(o).spec.template.spec.terminationGracePeriodSeconds = 60;
    });
    expect(graceProblems(short).join()).toMatch(/terminationGracePeriodSeconds 60 is below preStop 10 \+ SHUTDOWN_TIMEOUT_S 900 \+ 20 = 930/);
    const longer = broken((o) => {
      only<K8sObject & { data: Record<string, string> }>(o, 'ConfigMap').data.MAX_AUDIO_S = '1800';
    });
    expect(graceProblems(longer).join()).toMatch(/SHUTDOWN_TIMEOUT_S 900 is shorter than the longest transcription.* = 2100 s/);
  });

  it('a query promtool cannot parse', async () => {
    expect(await promtoolProblem(['sum(talk2me_queue_depth{job="talk2me"}'])).toMatch(/unclosed left parenthesis|parse error/);
  });

  it('a JSON patch whose test fails, or whose path does not exist', () => {
    const deployment = deploymentIn(base);
    expect(() => applyJsonPatch(deployment, [{ op: 'test', path: '/spec/template/spec/volumes/0/name', value: 'scratch' }])).toThrow(JsonPatchError);
    expect(() => applyJsonPatch(deployment, [{ op: 'replace', path: '/spec/nothing/here', value: 1 }])).toThrow(JsonPatchError);
    const patched = applyJsonPatch(deployment, [{ op: 'add', path: '/metadata/annotations/a~1b', value: 'c' }]);
    expect(patched.metadata.annotations?.['a/b']).toBe('c');
    expect(deployment.metadata.annotations?.['a/b']).toBeUndefined(); // the original is left alone
  });
});

// promtool is part of the checks, not optional: CI installs it (prometheus).
it('promtool is installed', () => {
  expect(execFileSync('promtool', ['--version'], { encoding: 'utf8' })).toMatch(/promtool/);
});
