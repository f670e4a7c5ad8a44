/**
 * `npm run cli -- voice create --model DIR --prompt prompt.wav [--prompt-text "…"] --out voice.bin`
 * `npm run cli -- voice info --model DIR --voice voice.bin`
 *
 * A voice file holds what cloning computes once (prompt text ids, prompt speech tokens, prompt mel, x-vector), so
 * later synthesis needs neither the speech tokenizer nor CAM++.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  ENGINE_OPTIONS,
  openEngine,
  openPackage,
  readVoiceSource,
  report,
  resolveVoice,
  UsageError,
} from './engine-args.ts';

const USAGE = `usage: npm run cli -- voice create --model DIR --prompt prompt.wav [--prompt-text "…"] --out voice.bin
       npm run cli -- voice info --model DIR --voice voice.bin`;

export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  let values;
  try {
    values = parseArgs({ args: rest, options: { ...ENGINE_OPTIONS, out: { type: 'string' } }, strict: true }).values;
  } catch (error) {
    return report('voice', new UsageError(error instanceof Error ? error.message : String(error)), USAGE);
  }
  if (values.help === true || action === undefined) {
    console.log(USAGE);
    return action === undefined ? 2 : 0;
  }
  try {
    if (action !== 'create' && action !== 'info')
      throw new UsageError(`unknown action "${action}"; expected create or info.`);
    if (action === 'create' && values.out === undefined) throw new UsageError('--out <voice.bin> is required.');
    if (action === 'create' && values.prompt === undefined) throw new UsageError('--prompt <prompt.wav> is required.');
    if (action === 'info' && values.voice === undefined) throw new UsageError('--voice <voice.bin> is required.');
    const pkg = await openPackage(values);
    // the voice file or the prompt is read and checked before the sessions load
    const source = await readVoiceSource(pkg, values);
    if (action === 'info') {
      if (source.kind !== 'voice-file') throw new UsageError('voice info reads --voice <voice.bin>.');
      const { voice } = source;
      console.log(
        JSON.stringify({
          model: voice.model,
          promptTextIds: voice.promptTextIds.length,
          promptTokens: voice.promptTokens.length,
          promptSeconds: voice.promptTokens.length / pkg.manifest.config.tokenFrameRate,
          createdAt: voice.createdAt === undefined ? null : new Date(voice.createdAt).toISOString(),
        }),
      );
      return 0;
    }
    const engine = await openEngine(pkg, values);
    try {
      const voice = await resolveVoice(engine, source);
      const bytes = engine.saveVoice(voice);
      await writeFile(values.out ?? '', bytes);
      console.log(
        `voice: ${values.out} (${bytes.byteLength} bytes; ${voice.promptTokens.length} prompt tokens, ` +
          `${voice.promptTextIds.length} transcript ids${voice.promptTextIds.length === 0 ? ' → cross-lingual voice' : ''})`,
      );
      return 0;
    } finally {
      await engine.dispose();
    }
  } catch (error) {
    return report('voice', error, USAGE);
  }
}
