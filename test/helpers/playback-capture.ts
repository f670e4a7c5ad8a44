/**
 * Records what an AudioWorkletNode outputs, sample by sample (browser test pages only): a recorder worklet node
 * connected after it copies every render quantum of its input and posts it to this thread. Messages from one
 * processor arrive in order and none is dropped, so the recording is the node's output without gaps from the moment
 * the recorder runs; the recorder sits in the same graph, rendered quantum by quantum, so a slow main thread delays
 * the messages but loses nothing.
 */
import { joinSamples } from './audio.ts';

const PROCESSOR = 'test-playback-capture';

// Plain JS: it is loaded into the AudioWorkletGlobalScope from a Blob URL (the test bundles have no worklet build).
const SOURCE = `registerProcessor('${PROCESSOR}', class extends AudioWorkletProcessor {
  constructor() {
    super();
    this.left = -1; // quanta still to record after 'finish' (-1: until asked)
    this.port.onmessage = (event) => { this.left = event.data.quanta; };
  }
  process(inputs) {
    if (this.left === 0) return false;
    const channel = inputs[0] && inputs[0][0];
    // no active input (the source node not yet rendering) is silence
    this.port.postMessage(channel ? channel.slice() : new Float32Array(128));
    if (this.left > 0 && --this.left === 0) this.port.postMessage('done');
    return true;
  }
});`;

/** A running recording; see {@link capturePlayback}. */
export interface PlaybackCapture {
  /**
   * Records `quanta` more render quanta (enough for a fade-out tail that is still running), then stops and returns
   * everything recorded.
   */
  finish(quanta: number): Promise<Float32Array>;
}

const loaded = new WeakMap<BaseAudioContext, Promise<void>>();

/**
 * Starts recording what `node` outputs (mono: its first channel), until {@link PlaybackCapture.finish}; resolves once
 * the recorder has rendered its first quantum (its context must be running), so everything after is recorded.
 */
export async function capturePlayback(node: AudioNode): Promise<PlaybackCapture> {
  const context = node.context;
  let loading = loaded.get(context);
  if (loading === undefined) {
    const url = URL.createObjectURL(new Blob([SOURCE], { type: 'text/javascript' }));
    loading = context.audioWorklet.addModule(url).finally(() => {
      URL.revokeObjectURL(url);
    });
    loaded.set(context, loading);
  }
  await loading;
  const recorder = new AudioWorkletNode(context, PROCESSOR, {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    channelCount: 1,
    channelCountMode: 'explicit',
    outputChannelCount: [1],
  });
  const quanta: Float32Array[] = [];
  let done = (): void => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  let running = (): void => undefined;
  const started = new Promise<void>((resolve) => {
    running = resolve;
  });
  recorder.port.onmessage = (event: MessageEvent<Float32Array | 'done'>) => {
    if (event.data === 'done') done();
    else {
      quanta.push(event.data);
      running();
    }
  };
  node.connect(recorder);
  // a node nobody pulls is not rendered: the destination pulls the recorder (it outputs silence)
  recorder.connect(context.destination);
  // the audio thread takes up a new node when it next renders: until its first quantum arrives, what the node
  // outputs is not recorded, so a caller that starts playback right after this call would lose its first quanta
  await started;
  return {
    async finish(more: number) {
      recorder.port.postMessage({ quanta: Math.max(1, more) });
      await finished;
      node.disconnect(recorder);
      recorder.disconnect();
      return joinSamples(quanta.map((samples) => ({ samples })));
    },
  };
}
