/**
 * Microphone recording for a voice prompt: the browser's voice processing (echo cancellation, noise suppression,
 * automatic gain) is turned off because it colours the voice the model should copy; a level meter is fed while
 * recording, which stops by itself after {@link PROMPT_SECONDS}.max seconds.
 */
import { PROMPT_SECONDS } from './prompt-audio.ts';

/** A recording in progress. */
export interface Recording {
  /** Stops early; `done` then resolves. */
  stop(): void;
  /** The recorded audio (the browser's MediaRecorder format, e.g. webm/opus). */
  readonly done: Promise<Blob>;
}

/** Raw microphone: what the model hears should be what the speaker sounds like. */
export const MICROPHONE_CONSTRAINTS: MediaTrackConstraints = {
  echoCancellation: false,
  noiseSuppression: false,
  autoGainControl: false,
  channelCount: 1,
};

/**
 * Starts recording. `onLevel` gets the peak level (0…1) about 60 times a second, and the seconds recorded so far.
 * Call it from a user gesture (the microphone permission prompt).
 */
export async function startRecording(onLevel: (peak: number, seconds: number) => void): Promise<Recording> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: MICROPHONE_CONSTRAINTS });
  const context = new AudioContext();
  const analyser = new AnalyserNode(context, { fftSize: 2048 });
  context.createMediaStreamSource(stream).connect(analyser);
  const frame = new Float32Array(analyser.fftSize);
  const recorder = new MediaRecorder(stream);
  const parts: Blob[] = [];
  recorder.ondataavailable = (event) => parts.push(event.data);
  const started = performance.now();
  let meter = 0;
  const measure = (): void => {
    analyser.getFloatTimeDomainData(frame);
    let peak = 0;
    for (const x of frame) peak = Math.max(peak, Math.abs(x));
    const seconds = (performance.now() - started) / 1000;
    onLevel(peak, seconds);
    if (seconds >= PROMPT_SECONDS.max) stop();
    else meter = requestAnimationFrame(measure);
  };
  const stop = (): void => {
    if (recorder.state !== 'inactive') recorder.stop();
  };
  const done = new Promise<Blob>((resolve) => {
    recorder.onstop = () => {
      cancelAnimationFrame(meter);
      for (const track of stream.getTracks()) track.stop();
      void context.close();
      resolve(new Blob(parts, { type: recorder.mimeType }));
    };
  });
  recorder.start();
  meter = requestAnimationFrame(measure);
  return { stop, done };
}
