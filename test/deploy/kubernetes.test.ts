/**
 * The Kubernetes manifests of deploy/kubernetes, checked against the server they deploy:
 * every file parses and is listed by the kustomization; the Deployment's config is the
 * ConfigMap's and loads; probes ask for paths a real server (started from that config)
 * answers with 200, on the port it listens on; CPU follows the worker pool and memory the
 * memory limits; the grace period covers the server's own shutdown bound; the data volume
 * that routes write to is ReadWriteMany; the pod runs as the image's non-root user.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseConfig, type Config } from '../../src/config/index.js';
import { exampleInstrument, repoRoot, startServerFromFile, temporaryDirectory, writeFiles } from '../helpers/server.js';
import { environmentOf, execForm, lastInstruction, parseDockerfile, type Stage } from './dockerfile-parser.js';

/** Seconds the server grants in-flight requests on shutdown beyond the longest route timeout, as serve-command.ts says. */
const SHUTDOWN_GRACE_SECONDS = ((): number => {
  const source = readFileSync(join(repoRoot, 'src', 'cli', 'serve-command.ts'), 'utf8');
  const match = /const SHUTDOWN_GRACE_MS = ([\d_]+);/.exec(source) ?? assert.fail('serve-command.ts no longer states SHUTDOWN_GRACE_MS');
  return Number((match[1] as string).replaceAll('_', '')) / 1000;
})();
/** What Node, the HTTP stack and the compiled modules take besides the instances' memories. */
const BASE_MEMORY_MIB = 256;

// Loose shapes of the parts of Kubernetes objects this test reads.
interface Metadata { name: string; labels?: Record<string, string> }
interface Manifest { apiVersion: string; kind: string; metadata: Metadata; [key: string]: unknown }
interface Probe { httpGet?: { path: string; port: string | number; scheme?: string }; tcpSocket?: { port: string | number } }
interface Container {
  name: string; image: string; args?: string[]; command?: string[];
  env?: { name: string; value?: string }[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe; readinessProbe?: Probe; livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; runAsUser?: number };
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}
interface Volume { name: string; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: Volume[];
}
interface Deployment extends Manifest {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: Metadata; spec: PodSpec } };
}

const manifestDir = join(repoRoot, 'deploy', 'kubernetes');
const manifestFiles = readdirSync(manifestDir).filter((name) => /\.ya?ml$/.test(name)).sort();

/** Every document of every file, parsed strictly: a YAML error or warning fails the test. */
const documents = manifestFiles.flatMap((file) => {
  const parsed = parseAllDocuments(readFileSync(join(manifestDir, file), 'utf8'), { prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(parsed)) throw new Error(`${file}: not a YAML stream`);
  return parsed.map((document, index) => {
    const problems = [...document.errors, ...document.warnings];
    if (problems.length > 0) throw new Error(`${file} document ${index + 1}: ${problems.map((problem) => problem.message).join('; ')}`);
    return { file, manifest: document.toJS() as Manifest };
  });
});
const manifests = documents.map((document) => document.manifest).filter((manifest) => manifest.kind !== 'Kustomization');

function find<T extends Manifest>(kind: string, name: string): T {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  if (found === undefined) assert.fail(`no ${kind} named ${name} in deploy/kubernetes`);
  return found as T;
}

const deployment = find<Deployment>('Deployment', 'wasio');
const pod = deployment.spec.template.spec;
const container = pod.containers.find((candidate) => candidate.name === 'wasio') ?? assert.fail('no wasio container');
const dockerfileRuntime = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')).stages.at(-1) as Stage;

/** Where the container reads its config: the `--config` argument of its args. */
const configPath = ((): string => {
  const args = container.args ?? assert.fail('the container names its config in args');
  const at = args.indexOf('--config');
  return args[at + 1] ?? assert.fail('--config without a value');
})();

/** The ConfigMap's config.json as the server loads it, at the path the container reads it from. */
const configMapText = ((): string => {
  const mount = container.volumeMounts?.find((candidate) => candidate.mountPath === configPath) ?? assert.fail(`nothing mounted at ${configPath}`);
  const volume = pod.volumes?.find((candidate) => candidate.name === mount.name)?.configMap ?? assert.fail(`${mount.name} is not a ConfigMap volume`);
  const configMap = find<Manifest & { data: Record<string, string> }>('ConfigMap', volume.name);
  return configMap.data[mount.subPath ?? ''] ?? assert.fail(`ConfigMap ${volume.name} has no ${mount.subPath}`);
})();
const config: Config = parseConfig(configMapText, configPath);

/** A Kubernetes quantity in base units: cores for CPU, MiB for memory. */
function quantity(text: string | undefined, unit: 'cpu' | 'MiB'): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(text ?? '') ?? assert.fail(`not a quantity: ${text}`);
  const value = Number(match[1]);
  const scale = { m: 1 / 1000, Ki: 1 / 1024, Mi: 1, Gi: 1024 }[match[2] as 'm' | 'Ki' | 'Mi' | 'Gi'] ?? (unit === 'cpu' ? 1 : 1 / (1024 * 1024));
  return value * scale;
}

/** The container port a Service or probe names, by name or number. */
function containerPort(port: string | number): number {
  if (typeof port === 'number') return port;
  const found = container.ports?.find((candidate) => candidate.name === port) ?? assert.fail(`the container has no port named ${port}`);
  return found.containerPort;
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

describe('the manifests', () => {
  test('parse, name themselves, and are all listed by the kustomization', () => {
    assert.ok(manifests.length >= 8, `found ${manifests.length} objects`);
    for (const { file, manifest } of documents) {
      assert.ok(manifest.apiVersion && manifest.kind, `${file}: apiVersion and kind`);
      if (manifest.kind !== 'Kustomization') assert.match(manifest.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${file}: a DNS-1123 name`);
    }
    const kustomization = documents.find((document) => document.manifest.kind === 'Kustomization')?.manifest as { resources: string[] } | undefined;
    assert.deepEqual([...(kustomization?.resources ?? [])].sort(), manifestFiles.filter((file) => file !== 'kustomization.yaml'));
    const keys = manifests.map((manifest) => `${manifest.kind}/${manifest.metadata.name}`);
    assert.equal(new Set(keys).size, keys.length, `no object twice: ${keys.join(', ')}`);
  });

  test('the Service, the budget and the autoscaler select and target the Deployment\'s pods', () => {
    const podLabels = deployment.spec.template.metadata.labels;
    assert.ok(matches(deployment.spec.selector.matchLabels, podLabels), 'the Deployment selects its own pods');
    const service = find<Manifest & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] } }>('Service', 'wasio');
    assert.ok(matches(service.spec.selector, podLabels));
    for (const port of service.spec.ports) assert.equal(containerPort(port.targetPort), config.port, 'the Service sends to the port the server listens on');
    const budget = find<Manifest & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget', 'wasio');
    assert.ok(matches(budget.spec.selector.matchLabels, podLabels));
    const autoscaler = find<Manifest & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number } }>(
      'HorizontalPodAutoscaler', 'wasio');
    assert.deepEqual([autoscaler.spec.scaleTargetRef.kind, autoscaler.spec.scaleTargetRef.name], ['Deployment', 'wasio']);
    assert.ok(autoscaler.spec.minReplicas > budget.spec.minAvailable, 'a drain can always evict one replica');
    assert.ok(autoscaler.spec.maxReplicas >= autoscaler.spec.minReplicas);
  });

  test('the container runs the image\'s command, as its non-root user, on a read-only root filesystem', () => {
    const cmd = execForm(lastInstruction(dockerfileRuntime, 'CMD')?.args ?? '[]');
    assert.deepEqual(container.args, cmd, 'args are the image\'s CMD (config path, every interface)');
    assert.equal(container.command, undefined, 'the image\'s ENTRYPOINT, so SIGTERM reaches the server itself');
    const imageUid = Number((lastInstruction(dockerfileRuntime, 'USER')?.args ?? '').split(':')[0]);
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(pod.securityContext?.runAsUser, imageUid, 'the image\'s user');
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    assert.ok(container.image.endsWith(`:${version}`), `${container.image}: tagged with the package version ${version}`);
  });

  test('the port: container, PORT, config and image agree', () => {
    assert.equal(containerPort('http'), config.port);
    assert.equal(container.env?.find((variable) => variable.name === 'PORT')?.value, String(config.port));
    assert.equal(environmentOf(dockerfileRuntime).get('PORT'), String(config.port), 'the image\'s PORT');
  });

  test('CPU is the worker pool, memory covers every worker at its memory limit', () => {
    const { requests, limits } = container.resources;
    assert.equal(quantity(limits['cpu'], 'cpu'), config.workers, 'one core per worker thread');
    assert.equal(quantity(requests['cpu'], 'cpu'), config.workers, 'requested as much as it may use');
    const largestInstanceMiB = Math.max(...Object.values(config.routes).map((route) => route.memory_limit_mb));
    // A busy route may add as many extra workers as there are regular ones (worker-pool.ts).
    const needed = 2 * config.workers * largestInstanceMiB + BASE_MEMORY_MIB;
    assert.ok(quantity(limits['memory'], 'MiB') >= needed, `memory limit ${limits['memory']} covers ${needed} MiB`);
    assert.equal(requests['memory'], limits['memory'], 'guaranteed memory: an instance is never the victim of an overcommitted node');
  });

  test('the grace period covers the preStop pause plus the server\'s shutdown bound', () => {
    const preStop = container.lifecycle?.preStop;
    const pauseSeconds = preStop?.sleep?.seconds ?? (preStop?.exec?.command[0] === 'sleep' ? Number(preStop.exec.command[1]) : 0);
    assert.ok(pauseSeconds > 0 && pauseSeconds <= 10, 'a short pause before SIGTERM, while endpoints are removed');
    const longestTimeoutSeconds = Math.max(0, ...Object.values(config.routes).map((route) => route.timeout_ms)) / 1000;
    const bound = pauseSeconds + Math.ceil(longestTimeoutSeconds) + SHUTDOWN_GRACE_SECONDS;
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    assert.ok(grace >= bound, `terminationGracePeriodSeconds ${grace} >= ${bound}: the server exits before it is killed`);
    assert.ok(grace <= bound + 10, `terminationGracePeriodSeconds ${grace} not far beyond ${bound}, so rollouts stay quick`);
    assert.equal(lastInstruction(dockerfileRuntime, 'STOPSIGNAL')?.args, 'SIGTERM', 'the image stops with the signal the server drains on');
  });

  test('what the config reads lies on the pod\'s volumes; what it writes lies on a ReadWriteMany claim', () => {
    const mountFor = (path: string) => container.volumeMounts
      ?.filter((mount) => path === mount.mountPath || path.startsWith(`${mount.mountPath}/`))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const claimOf = (volumeName: string) => {
      const volume = pod.volumes?.find((candidate) => candidate.name === volumeName);
      const claimName = volume?.persistentVolumeClaim?.claimName;
      return claimName === undefined ? undefined : find<Manifest & { spec: { accessModes: string[] } }>('PersistentVolumeClaim', claimName);
    };
    let writable = 0;
    for (const route of Object.values(config.routes)) {
      assert.ok(mountFor(route.wasm_file), `${route.path}: ${route.wasm_file} lies on a volume`);
      for (const mount of route.mounts) {
        const volumeMount = mountFor(mount.host) ?? assert.fail(`${route.path}: ${mount.host} lies on no volume`);
        if (mount.readonly) continue;
        writable += 1;
        assert.notEqual(volumeMount.readOnly, true, `${route.path}: ${mount.host} is written, so its volume is mounted read-write`);
        const claim = claimOf(volumeMount.name) ?? assert.fail(`${route.path}: ${mount.host} is written, so it lies on a PersistentVolumeClaim`);
        assert.deepEqual(claim.spec.accessModes, ['ReadWriteMany'], `${claim.metadata.name}: every replica writes it at once`);
      }
    }
    assert.ok(writable >= 1, 'the example config has a route that writes, to show how');
  });

  test('the Redis the config names is a Service of the manifests, on its port', () => {
    assert.equal(config.cache.backend, 'redis');
    const url = new URL(config.cache.url ?? assert.fail('no cache url'));
    const service = find<Manifest & { spec: { ports: { port: number }[] } }>('Service', url.hostname);
    assert.ok(service.spec.ports.some((port) => port.port === Number(url.port || 6379)), `${url.hostname} serves port ${url.port}`);
  });
});

describe('a server started from the ConfigMap\'s config', async () => {
  // The pod's folder, mapped: the config as the ConfigMap holds it, the example instruments it
  // names, an empty data folder. The cache is memory here; the Redis backend is tested on its own.
  const dir = temporaryDirectory();
  const document = JSON.parse(configMapText) as Record<string, unknown> & { routes: Record<string, { wasm_file: string }> };
  for (const route of Object.values(document.routes)) {
    const target = join(dir, route.wasm_file);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(exampleInstrument(relative('instruments', route.wasm_file).replace(/\.wasm$/, '')), target);
  }
  for (const route of Object.values(config.routes)) {
    for (const mount of route.mounts) mkdirSync(join(dir, relative(dirname(configPath), mount.host)), { recursive: true });
  }
  writeFiles(dir, { 'config.json': JSON.stringify({ ...document, cache: { backend: 'memory' } }) });
  const server = await startServerFromFile(join(dir, 'config.json'));

  test('answers every probe path with 200, on the port the probes name', async () => {
    const probes = [container.startupProbe, container.readinessProbe, container.livenessProbe];
    assert.ok(probes.every((probe) => probe?.httpGet !== undefined), 'startup, readiness and liveness probes over HTTP');
    for (const probe of probes) {
      const { path, port, scheme } = probe?.httpGet ?? assert.fail('no httpGet');
      assert.equal(containerPort(port), config.port);
      assert.equal(scheme ?? 'HTTP', config.tls === undefined ? 'HTTP' : 'HTTPS');
      const response = await server.request(path);
      assert.equal(response.status, 200, `${path} answers 200`);
      await response.arrayBuffer();
    }
  });

  test('serves every route\'s example', async () => {
    for (const route of Object.values(server.config.routes)) {
      const response = await server.request(`${route.path}${route.example}`);
      assert.equal(response.status, 200, `${route.path}${route.example}`);
      await response.arrayBuffer();
    }
  });
});
