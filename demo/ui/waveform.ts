/** Waveform drawing on a canvas: a whole clip (min/max per pixel column), or live audio from an AnalyserNode. */

const COLOUR = '#2b7bb9';

/** Draws `samples` across the canvas, one min/max bar per pixel column. */
export function drawWaveform(canvas: HTMLCanvasElement, samples: Float32Array): void {
  const g = canvas.getContext('2d');
  if (g === null) return;
  const { width, height } = canvas;
  g.clearRect(0, 0, width, height);
  g.fillStyle = COLOUR;
  const perColumn = samples.length / width;
  for (let x = 0; x < width && samples.length > 0; x++) {
    const column = samples.subarray(
      Math.floor(x * perColumn),
      Math.max(Math.floor((x + 1) * perColumn), Math.floor(x * perColumn) + 1),
    );
    let low = 0;
    let high = 0;
    for (const s of column) {
      low = Math.min(low, s);
      high = Math.max(high, s);
    }
    g.fillRect(x, ((1 - high) * height) / 2, 1, Math.max(1, ((high - low) * height) / 2));
  }
}

/**
 * A scrolling waveform of what an audio node plays (the output as it arrives): one min/max column per animation
 * frame, drawn from an AnalyserNode tapped off `source`.
 */
export class LiveWaveform {
  readonly #analyser: AnalyserNode;
  readonly #frame: Float32Array<ArrayBuffer>;
  #raf = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    source: AudioNode,
  ) {
    this.#analyser = new AnalyserNode(source.context, { fftSize: 1024 });
    source.connect(this.#analyser);
    this.#frame = new Float32Array(this.#analyser.fftSize);
  }

  start(): void {
    const g = this.canvas.getContext('2d');
    if (g === null) return;
    g.clearRect(0, 0, this.canvas.width, this.canvas.height);
    let x = 0;
    const draw = (): void => {
      this.#analyser.getFloatTimeDomainData(this.#frame);
      let low = 0;
      let high = 0;
      for (const s of this.#frame) {
        low = Math.min(low, s);
        high = Math.max(high, s);
      }
      const { width, height } = this.canvas;
      if (x >= width) {
        g.drawImage(this.canvas, -1, 0);
        x = width - 1;
      }
      g.clearRect(x, 0, 1, height);
      g.fillStyle = COLOUR;
      g.fillRect(x, ((1 - high) * height) / 2, 1, Math.max(1, ((high - low) * height) / 2));
      x++;
      this.#raf = requestAnimationFrame(draw);
    };
    this.#raf = requestAnimationFrame(draw);
  }

  stop(): void {
    cancelAnimationFrame(this.#raf);
  }
}
