/**
 * `manifest.json` of a model package (docs/model-package.md): format version, model constants, and every file with
 * its size, sha256, stage and dtype. Parsing validates the shape so a wrong or corrupted manifest fails early with
 * a message that names the offending field.
 */
import { TTSError } from '../errors.ts';
import type { Dtype, Stage } from '../base/stages.ts';
import { DTYPES, STAGES } from '../base/stages.ts';

/** The `format` string every manifest carries. */
export const MANIFEST_FORMAT = 'cosyvoice-web/model-package';
/**
 * The newest manifest format version this library reads. Version 2 adds compressed files (`encoding`); a package
 * without them stays version 1, so older readers still load it.
 */
export const MANIFEST_FORMAT_VERSION = 2;
/** Every manifest format version this library reads. */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2];
/** Transfer encodings a file may be stored in (format version 2); the decoded name is the path without `.gz`. */
export const FILE_ENCODINGS = ['gzip'] as const;
/** One of {@link FILE_ENCODINGS}. */
export type FileEncoding = (typeof FILE_ENCODINGS)[number];

/** Graph names of format version 1. */
export const GRAPH_NAMES = [
  'embed_text',
  'embed_speech',
  'llm',
  'flow_encoder',
  'flow_step',
  'flow_step_incremental',
  'hift_f0',
  'hift_decoder',
  'speech_tokenizer',
  'campplus',
] as const;
/** One of {@link GRAPH_NAMES}. */
export type GraphName = (typeof GRAPH_NAMES)[number];

/** Stage each graph belongs to. */
export const GRAPH_STAGE: Readonly<Record<GraphName, Stage>> = {
  embed_text: 'lm',
  embed_speech: 'lm',
  llm: 'lm',
  flow_encoder: 'flow',
  flow_step: 'flow',
  flow_step_incremental: 'flow',
  hift_f0: 'vocoder',
  hift_decoder: 'vocoder',
  speech_tokenizer: 'voice',
  campplus: 'voice',
};

/**
 * Graphs a stage uses only when the package ships them in the stage's dtype: a package without them (built before
 * they existed) still loads, and they never narrow the dtypes a stage offers.
 */
export const OPTIONAL_GRAPHS: readonly GraphName[] = ['flow_step_incremental'];

/** One file of the package. */
export interface ManifestFile {
  /** Path relative to the package root (of the stored file: ends in `.gz` when `encoding` is `gzip`). */
  readonly path: string;
  /** Exact size in bytes of the stored file (what is downloaded and cached). */
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the stored file. */
  readonly sha256: string;
  /**
   * How the file is stored (format version 2): `gzip` = deflate-compressed, decoded after it is verified and before
   * it is used (a graph, its external data, the tokenizer or the noise then sees the decoded bytes under
   * {@link decodedPath}). Absent: stored as is.
   */
  readonly encoding?: FileEncoding;
  /** Size of the decoded content (with `encoding`). */
  readonly decodedBytes?: number;
  /** Stage that needs the file. */
  readonly stage: Stage;
  /** What the file is. */
  readonly kind: 'graph' | 'external-data' | 'tokenizer' | 'noise';
  /** Graph the file belongs to (graphs and their external data). */
  readonly graph?: GraphName;
  /** Weight format (graphs and their external data). */
  readonly dtype?: Dtype;
}

/** One shipped variant of a graph. */
export interface GraphVariant {
  /** The `.onnx` file. */
  readonly file: string;
  /** External-data files referenced by the graph (empty for single-file graphs). */
  readonly externalData: readonly string[];
}

/** Model constants the engine needs (names follow docs/model-package.md). */
export interface ModelConstants {
  readonly sampleRate: number;
  readonly tokenFrameRate: number;
  readonly tokenMelRatio: number;
  readonly melBins: number;
  readonly samplesPerMelFrame: number;
  readonly llm: {
    readonly hiddenSize: number;
    readonly numLayers: number;
    readonly numKvHeads: number;
    readonly headDim: number;
    readonly textVocabSize: number;
    readonly speechTokenSize: number;
    readonly eosId: number;
    readonly fillId: number;
    readonly stopIds: readonly number[];
    readonly sosRow: number;
    readonly taskIdRow: number;
    readonly mixRatio: readonly [number, number];
  };
  readonly sampling: {
    readonly topP: number;
    readonly topK: number;
    readonly winSize: number;
    readonly tauR: number;
    readonly minTokenTextRatio: number;
    readonly maxTokenTextRatio: number;
  };
  readonly flow: {
    /**
     * Speech-token vocabulary of the flow's `input_embedding` (tokens fed to the flow must be in [0, vocabSize)).
     * Manifests written before this field existed lack it: {@link parseManifest} then takes `llm.speechTokenSize`,
     * which is what those packages validated against (equal in CosyVoice 2, where both are 6561).
     */
    readonly vocabSize: number;
    readonly chunkTokens: number;
    readonly preLookahead: number;
    readonly nTimesteps: number;
    readonly cfgRate: number;
    readonly temperature: number;
    readonly noiseFrames: number;
    readonly spkEmbedDim: number;
  };
  readonly hift: {
    readonly nbHarmonics: number;
    readonly nsfAlpha: number;
    readonly nsfSigma: number;
    readonly voicedThreshold: number;
    readonly nFft: number;
    readonly hopLength: number;
    readonly audioLimit: number;
  };
  readonly streaming: {
    readonly tokenHop: number;
    readonly maxTokenHop: number;
    readonly melCacheFrames: number;
    readonly sourceCacheSamples: number;
  };
  readonly frontend: {
    readonly speechTokenizerSampleRate: number;
    readonly maxPromptSeconds: number;
    readonly whisperMels: number;
    readonly fbankBins: number;
  };
  /** CosyVoice special tokens → ids (spec §2.2). */
  readonly specialTokens: Readonly<Record<string, number>>;
}

/** A parsed, validated manifest. */
export interface ModelManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly formatVersion: number;
  readonly modelId: string;
  readonly config: ModelConstants;
  readonly files: readonly ManifestFile[];
  readonly graphs: Readonly<Partial<Record<GraphName, Readonly<Partial<Record<Dtype, GraphVariant>>>>>>;
  /** Path of `tokenizer.json`. */
  readonly tokenizer: string;
  /** Path of the CFM noise buffer (`float32` LE, [80, noiseFrames]). */
  readonly noise: string;
}

function fail(path: string, message: string): never {
  throw new TTSError('ERR_MODEL_FORMAT', `Invalid model manifest: ${path} ${message}`, { details: { field: path } });
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object');
  return value as Record<string, unknown>;
}

function num(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(path, `must be a finite number (got ${JSON.stringify(value)})`);
  return value;
}

function str(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0)
    fail(path, `must be a non-empty string (got ${JSON.stringify(value)})`);
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(path, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as T;
}

/** Checks that every leaf of `shape` (a template of numbers) is present and numeric in `value`. */
function numbersLike(value: unknown, shape: Record<string, unknown>, path: string): void {
  const obj = object(value, path);
  for (const [key, template] of Object.entries(shape)) {
    const p = `${path}.${key}`;
    if (typeof template === 'number') num(obj[key], p);
    else if (Array.isArray(template)) {
      if (!Array.isArray(obj[key])) fail(p, 'must be an array');
      (obj[key] as unknown[]).forEach((v, i) => num(v, `${p}[${i}]`));
    } else if (typeof template === 'object' && template !== null)
      numbersLike(obj[key], template as Record<string, unknown>, p);
  }
}

const CONSTANTS_SHAPE = {
  sampleRate: 0,
  tokenFrameRate: 0,
  tokenMelRatio: 0,
  melBins: 0,
  samplesPerMelFrame: 0,
  llm: {
    hiddenSize: 0,
    numLayers: 0,
    numKvHeads: 0,
    headDim: 0,
    textVocabSize: 0,
    speechTokenSize: 0,
    eosId: 0,
    fillId: 0,
    stopIds: [],
    sosRow: 0,
    taskIdRow: 0,
    mixRatio: [],
  },
  sampling: { topP: 0, topK: 0, winSize: 0, tauR: 0, minTokenTextRatio: 0, maxTokenTextRatio: 0 },
  flow: { chunkTokens: 0, preLookahead: 0, nTimesteps: 0, cfgRate: 0, temperature: 0, noiseFrames: 0, spkEmbedDim: 0 },
  hift: { nbHarmonics: 0, nsfAlpha: 0, nsfSigma: 0, voicedThreshold: 0, nFft: 0, hopLength: 0, audioLimit: 0 },
  streaming: { tokenHop: 0, maxTokenHop: 0, melCacheFrames: 0, sourceCacheSamples: 0 },
  frontend: { speechTokenizerSampleRate: 0, maxPromptSeconds: 0, whisperMels: 0, fbankBins: 0 },
};

/**
 * Validates a manifest object (e.g. `JSON.parse` of `manifest.json`).
 *
 * @throws {TTSError} ERR_MODEL_FORMAT naming the first invalid field, or an unsupported format version.
 */
export function parseManifest(data: unknown): ModelManifest {
  const root = object(data, 'manifest');
  if (root['format'] !== MANIFEST_FORMAT) fail('format', `must be "${MANIFEST_FORMAT}"`);
  const version = num(root['formatVersion'], 'formatVersion');
  if (!READABLE_FORMAT_VERSIONS.includes(version)) {
    throw new TTSError(
      'ERR_MODEL_FORMAT',
      `Unsupported model package format version ${version}; this library reads versions ${READABLE_FORMAT_VERSIONS.join(' and ')}` +
        (version > MANIFEST_FORMAT_VERSION ? ' (the package is newer: update cosyvoice-web).' : '.'),
      { details: { formatVersion: version } },
    );
  }
  str(root['modelId'], 'modelId');
  numbersLike(root['config'], CONSTANTS_SHAPE, 'config');
  const config = object(root['config'], 'config');
  object(config['specialTokens'], 'config.specialTokens');
  if (!Array.isArray(root['files'])) fail('files', 'must be an array');
  const files = (root['files'] as unknown[]).map((f, i) => parseFile(f, `files[${i}]`, version));
  const byPath = new Map(files.map((f) => [f.path, f]));
  const graphs = object(root['graphs'], 'graphs');
  for (const [graph, variants] of Object.entries(graphs)) {
    oneOf(graph, GRAPH_NAMES, `graphs.${graph}`);
    for (const [dtype, variant] of Object.entries(object(variants, `graphs.${graph}`))) {
      oneOf(dtype, DTYPES, `graphs.${graph}.${dtype}`);
      const v = object(variant, `graphs.${graph}.${dtype}`);
      const paths = [str(v['file'], `graphs.${graph}.${dtype}.file`)];
      if (!Array.isArray(v['externalData'])) fail(`graphs.${graph}.${dtype}.externalData`, 'must be an array');
      paths.push(
        ...(v['externalData'] as unknown[]).map((p, i) => str(p, `graphs.${graph}.${dtype}.externalData[${i}]`)),
      );
      for (const p of paths)
        if (!byPath.has(p)) fail(`graphs.${graph}.${dtype}`, `refers to "${p}", which is not in files`);
    }
  }
  for (const key of ['tokenizer', 'noise'] as const) {
    const p = str(root[key], key);
    if (!byPath.has(p)) fail(key, `refers to "${p}", which is not in files`);
  }
  return { ...root, config: { ...config, flow: withFlowVocabulary(config) } } as unknown as ModelManifest;
}

/** `config.flow` with `vocabSize` checked, or filled from `llm.speechTokenSize` when an older manifest lacks it. */
function withFlowVocabulary(config: Record<string, unknown>): Record<string, unknown> {
  const flow = object(config['flow'], 'config.flow');
  if (flow['vocabSize'] === undefined) {
    return { ...flow, vocabSize: object(config['llm'], 'config.llm')['speechTokenSize'] };
  }
  const vocabSize = num(flow['vocabSize'], 'config.flow.vocabSize');
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    fail('config.flow.vocabSize', `must be a positive integer (got ${vocabSize})`);
  }
  return flow;
}

function parseFile(value: unknown, path: string, version: number): ManifestFile {
  const f = object(value, path);
  const filePath = str(f['path'], `${path}.path`);
  const bytes = num(f['bytes'], `${path}.bytes`);
  if (!Number.isInteger(bytes) || bytes < 0) fail(`${path}.bytes`, 'must be a non-negative integer');
  if (typeof f['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(f['sha256']))
    fail(`${path}.sha256`, 'must be 64 lower-case hex digits');
  oneOf(f['stage'], STAGES, `${path}.stage`);
  oneOf(f['kind'], ['graph', 'external-data', 'tokenizer', 'noise'] as const, `${path}.kind`);
  if (f['graph'] !== undefined) oneOf(f['graph'], GRAPH_NAMES, `${path}.graph`);
  if (f['dtype'] !== undefined) oneOf(f['dtype'], DTYPES, `${path}.dtype`);
  if (f['encoding'] !== undefined) {
    if (version < 2) fail(`${path}.encoding`, 'needs formatVersion 2 (version 1 files are stored as is)');
    oneOf(f['encoding'], FILE_ENCODINGS, `${path}.encoding`);
    if (!filePath.endsWith('.gz')) fail(`${path}.path`, 'of a gzip file must end in ".gz"');
    const decoded = num(f['decodedBytes'], `${path}.decodedBytes`);
    if (!Number.isInteger(decoded) || decoded < 0) fail(`${path}.decodedBytes`, 'must be a non-negative integer');
  } else if (f['decodedBytes'] !== undefined) {
    fail(`${path}.decodedBytes`, 'is only allowed with an encoding');
  }
  return f as unknown as ManifestFile;
}

/** The name a file's content has once decoded: the path without `.gz` for a gzip file, else the path itself. */
export function decodedPath(file: ManifestFile): string {
  return file.encoding === 'gzip' ? file.path.slice(0, -'.gz'.length) : file.path;
}

/** Dtypes shipped for a graph. */
export function availableDtypes(manifest: ModelManifest, graph: GraphName): Dtype[] {
  return Object.keys(manifest.graphs[graph] ?? {}) as Dtype[];
}

/** Dtypes shipped for *every* required graph of a stage (a stage runs all its graphs in one dtype). */
export function stageDtypes(manifest: ModelManifest, stage: Stage): Dtype[] {
  const graphs = GRAPH_NAMES.filter(
    (g) => GRAPH_STAGE[g] === stage && manifest.graphs[g] !== undefined && !OPTIONAL_GRAPHS.includes(g),
  );
  if (graphs.length === 0) return [];
  return DTYPES.filter((d) => graphs.every((g) => manifest.graphs[g]?.[d] !== undefined));
}

/** The graphs a stage loads in `dtype`: those the package ships, optional ones only where they exist in `dtype`. */
export function stageGraphs(manifest: ModelManifest, stage: Stage, dtype: Dtype): GraphName[] {
  return GRAPH_NAMES.filter(
    (g) =>
      GRAPH_STAGE[g] === stage &&
      manifest.graphs[g] !== undefined &&
      (!OPTIONAL_GRAPHS.includes(g) || manifest.graphs[g][dtype] !== undefined),
  );
}

/** The manifest entries of the files a graph variant needs. */
export function variantFiles(manifest: ModelManifest, graph: GraphName, dtype: Dtype): ManifestFile[] {
  const variant = manifest.graphs[graph]?.[dtype];
  if (variant === undefined) {
    throw new TTSError(
      'ERR_MODEL_FORMAT',
      `The model package has no ${dtype} variant of "${graph}" (shipped: ${availableDtypes(manifest, graph).join(', ') || 'none'}).`,
      { details: { graph, dtype } },
    );
  }
  return [variant.file, ...variant.externalData].map((p) => {
    const f = manifest.files.find((x) => x.path === p);
    if (f === undefined) throw new TTSError('ERR_MODEL_FORMAT', `Manifest file entry missing for "${p}".`);
    return f;
  });
}

/** Paths of the files a stage needs in a dtype: its graphs' variants (with external data), plus tokenizer or noise. */
export function stageFiles(manifest: ModelManifest, stage: Stage, dtype: Dtype): string[] {
  const files = stageGraphs(manifest, stage, dtype).flatMap((g) => variantFiles(manifest, g, dtype).map((f) => f.path));
  if (stage === 'lm') files.push(manifest.tokenizer);
  if (stage === 'flow') files.push(manifest.noise);
  return [...new Set(files)];
}
