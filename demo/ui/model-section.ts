/**
 * Section 1: choose a package (the bundled tiny one, a URL, `hf:org/repo`), load it with progress (MB, speed, time
 * left), show the device each stage runs on and what the browser offers, storage used/available, the `persist()`
 * result (or, when the browser would not keep the model, that it will be downloaded again), and delete the cached
 * model.
 */
import { CosyVoice } from 'cosyvoice-web';
import type { DeviceRequest, WorkerFactories } from 'cosyvoice-web';
import { $, describeError, mb, onClick, setStatus } from './dom.ts';
import { LoadProgress } from './load-progress.ts';
import type { AppState } from './state.ts';
import { describePersistence, describeStorage, describeStorageWarning } from './storage-panel.ts';

const TINY_URL = new URL('models/tiny/', location.href).href;

async function refreshStorage(): Promise<void> {
  setStatus('storage', await describeStorage());
}

/** Wires the model section; `onLoaded` runs after each successful load. */
export function setUpModelSection(state: AppState, workers: WorkerFactories, onLoaded: () => void): void {
  const kind = $<HTMLSelectElement>('model-kind');
  const location_ = $<HTMLInputElement>('model-url');
  const fromQuery = new URLSearchParams(location.search).get('model');
  if (fromQuery !== null && fromQuery !== TINY_URL) {
    kind.value = fromQuery.startsWith('hf:') ? 'hf' : 'url';
    location_.value = fromQuery;
  } else {
    location_.value = TINY_URL;
  }
  kind.addEventListener('change', () => {
    location_.value = kind.value === 'tiny' ? TINY_URL : kind.value === 'hf' ? 'hf:' : '';
    location_.focus();
  });
  void CosyVoice.capabilities().then((caps) => {
    setStatus(
      'capabilities',
      `This browser: WebGPU ${caps.webgpu ? (caps.fallbackAdapter ? 'software adapter only (WASM is faster)' : 'available') : 'unavailable (WASM is used)'}, ` +
        `${caps.crossOriginIsolated ? 'cross-origin isolated (threaded WASM)' : 'not isolated (single-threaded WASM)'}, ` +
        `${caps.hardwareConcurrency} CPU threads.`,
    );
  });
  void refreshStorage();

  onClick('load', 'load-status', async () => {
    await state.tts?.dispose();
    state.tts = undefined;
    setStatus('load-status', 'Loading…');
    const progress = new LoadProgress(performance.now());
    let readyText: string | undefined;
    let notKept: string | undefined;
    try {
      state.tts = await CosyVoice.create({
        model: location_.value.trim(),
        device: $<HTMLSelectElement>('device').value as DeviceRequest,
        assets: { workers },
        onProgress: (e) => {
          if (e.type === 'load-progress') {
            $<HTMLProgressElement>('progress').value = e.fraction;
            // later loads (the cloning models, fetched on the first clone) end by showing the devices again
            setStatus(
              'load-status',
              e.loaded >= e.total && readyText !== undefined
                ? readyText
                : `Downloading ${progress.describe(e.loaded, e.total, performance.now())}`,
            );
          } else if (e.type === 'storage') {
            notKept = describeStorageWarning(e);
          } else if (e.type === 'ready') {
            readyText = `Ready: ${Object.entries(e.devices)
              .map(([stage, device]) => `${stage} on ${device}`)
              .join(', ')}`;
            setStatus('load-status', readyText);
          }
        },
      });
    } catch (error) {
      setStatus('load-status', `Could not load the model. ${describeError(error)}`);
      return;
    } finally {
      void refreshStorage();
    }
    setStatus('persistence', notKept ?? (await describePersistence()));
    onLoaded();
  });

  onClick('delete-model', 'storage', async () => {
    await state.tts?.dispose();
    state.tts = undefined;
    // only the chosen package's files (found through its manifest), not every model this site cached
    const freed = await CosyVoice.clearCache(location_.value.trim());
    setStatus(
      'load-status',
      freed > 0 ? `Deleted the cached model (${mb(freed)} freed); loading downloads it again.` : 'No cached model.',
    );
    await refreshStorage();
  });
}
