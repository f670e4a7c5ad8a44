/**
 * Where a model package lives: any base URL (absolute or relative), or a Hugging Face repository, whose files are
 * served from `https://huggingface.co/<repo>/resolve/<revision>/` (CORS-enabled, supports Range requests).
 */
import { invalidInput } from '../errors.ts';

/** A model package location. */
export type ModelSource =
  | string
  | { readonly baseUrl: string }
  | { readonly huggingFace: string; readonly revision?: string; readonly host?: string };

const HF_REPO = /^(?:hf:)?([\w.-]+\/[\w.-]+)(?:@([\w./-]+))?$/;

/**
 * Base URL (with trailing slash) of a model package.
 *
 * Strings are taken as URLs, except `hf:org/name[@revision]` (and a bare `org/name` with no other slash), which
 * name Hugging Face repositories. Relative URLs resolve against `base` (the page or worker location).
 *
 * @example resolveBaseUrl('hf:FunAudioLLM/CosyVoice2-web') // 'https://huggingface.co/FunAudioLLM/CosyVoice2-web/resolve/main/'
 * @throws {TTSError} ERR_INVALID_INPUT for an empty or unparsable source.
 */
export function resolveBaseUrl(source: ModelSource, base?: string): string {
  if (typeof source === 'string') {
    const trimmed = source.trim();
    if (trimmed.length === 0) throw invalidInput('The model source is empty. Pass a URL or "hf:org/name".');
    const hf = HF_REPO.exec(trimmed);
    if (hf !== null && (trimmed.startsWith('hf:') || !/^[.]{0,2}\//.test(trimmed))) {
      return huggingFaceUrl(hf[1] ?? '', hf[2] ?? 'main', 'https://huggingface.co');
    }
    return withSlash(absolute(trimmed, base));
  }
  if ('baseUrl' in source) return withSlash(absolute(source.baseUrl, base));
  const repo = HF_REPO.exec(source.huggingFace);
  if (repo === null) {
    throw invalidInput(`Invalid Hugging Face repository "${source.huggingFace}". Expected "org/name".`);
  }
  return huggingFaceUrl(repo[1] ?? '', source.revision ?? repo[2] ?? 'main', source.host ?? 'https://huggingface.co');
}

function huggingFaceUrl(repo: string, revision: string, host: string): string {
  return `${host.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/`;
}

function absolute(url: string, base: string | undefined): string {
  try {
    return new URL(url, base).href;
  } catch {
    if (base === undefined && !/^[a-z][a-z0-9+.-]*:/i.test(url)) return url; // relative, resolved later by fetch
    throw invalidInput(`Invalid model URL "${url}".`);
  }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** URL of a package file (paths in the manifest are relative to the package root). */
export function fileUrl(baseUrl: string, path: string): string {
  return baseUrl + path.split('/').map(encodeURIComponent).join('/');
}
