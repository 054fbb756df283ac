// Checks Kubernetes objects against the models of kubernetes-models, @kubernetes-models/keda and
// @kubernetes-models/prometheus-operator, in two ways:
//   validate()  the models' JSON schema validators: required fields, types, enums, quantity formats;
//   strict      the models' TypeScript interfaces, with every object written out as a typed literal
//               and type-checked: an unknown field anywhere (a misspelt `readinesProbe`, a field at
//               the wrong level) is an excess property, as the API server's strict field validation
//               would refuse it. The schema validators let unknown fields through.
import { dirname, join } from 'node:path';

import ts from 'typescript';
import { PersistentVolumeClaim, ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

import { keyOf, type K8sObject } from './kustomize.js';

interface ModelEntry {
  make(data: unknown): { validate(): void };
  /** Module and interface name of the model's type. */
  types: [module: string, name: string];
}

const model = <T extends { validate(): void }>(Class: new (data: never) => T, module: string, name: string): ModelEntry => ({
  make: (data) => new Class(data as never),
  types: [module, name],
});

const MODELS: Record<string, ModelEntry> = {
  'v1/ConfigMap': model(ConfigMap, 'kubernetes-models/v1/ConfigMap', 'IConfigMap'),
  'v1/Service': model(Service, 'kubernetes-models/v1/Service', 'IService'),
  'v1/PersistentVolumeClaim': model(PersistentVolumeClaim, 'kubernetes-models/v1/PersistentVolumeClaim', 'IPersistentVolumeClaim'),
  'apps/v1/Deployment': model(Deployment, 'kubernetes-models/apps/v1/Deployment', 'IDeployment'),
  'policy/v1/PodDisruptionBudget': model(PodDisruptionBudget, 'kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'),
  'keda.sh/v1alpha1/ScaledObject': model(ScaledObject, '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', 'IScaledObject'),
  'monitoring.coreos.com/v1/ServiceMonitor': model(
    ServiceMonitor,
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    'IServiceMonitor',
  ),
};

const modelOf = (object: K8sObject): ModelEntry | undefined => MODELS[`${object.apiVersion}/${object.kind}`];

/** The schema validator's verdict: null when valid, else its message. */
export function schemaProblem(object: K8sObject): string | null {
  const entry = modelOf(object);
  if (!entry) return `no model for ${object.apiVersion} ${object.kind}`;
  try {
    entry.make(object).validate();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Type-checks every object as a literal of its model's interface, in one TypeScript program.
 * Returns the problems found, each naming its object by `labelOf` ("Deployment/talk2me: ...").
 */
export function strictFieldProblems(objects: readonly K8sObject[], labelOf: (object: K8sObject, index: number) => string = keyOf): string[] {
  const root = dirname(dirname(dirname(import.meta.dirname)));
  // Inside the repository, so that module resolution finds node_modules; the file never exists on disk.
  const file = join(root, 'test', 'deploy', '__manifests__.ts');
  const lines: string[] = [];
  const lineOwners: string[] = [];
  const typed = objects.flatMap((object, i) => {
    const entry = modelOf(object);
    return entry ? [{ object, i, entry }] : [];
  });
  for (const { i, entry } of typed) lines.push(`import type { ${entry.types[1]} as T${i} } from '${entry.types[0]}';`);
  for (const { object, i } of typed) {
    const literal = `export const object${i}: T${i} = ${JSON.stringify(object, null, 1)};`.split('\n');
    for (const line of literal) {
      lineOwners[lines.length] = labelOf(object, i);
      lines.push(line);
    }
  }
  const source = lines.join('\n');

  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (name) => (name === file ? source : readFile(name));
  host.fileExists = (name) => name === file || fileExists(name);
  host.getSourceFile = (name, language, onError, create) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, onError, create);
  const program = ts.createProgram([file], options, host);
  const sourceFile = program.getSourceFile(file);
  return ts.getPreEmitDiagnostics(program, sourceFile).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (diagnostic.file && diagnostic.start !== undefined) {
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      const text = diagnostic.file.text.split('\n')[line]?.trim() ?? '';
      return `${lineOwners[line] ?? '?'}: ${message} (at ${text})`;
    }
    return message;
  });
}
