/**
 * `npm run cli -- tokenize`: text → CosyVoice 2 token ids (or normalised segments), and building the CosyVoice 2
 * tokenizer.json from a Qwen2 BPE tokenizer.json.
 *
 * ```
 * tokenize --tokenizer tokenizer.json --text "你好[laughter]"          → [108386,151651]
 * tokenize --tokenizer tokenizer.json --jsonl texts.jsonl             → one JSON array of ids per input line
 * tokenize --tokenizer tokenizer.json --jsonl - < texts.jsonl         (stdin)
 * tokenize --tokenizer tokenizer.json --normalize --text "我有3个"     → ["我有三个。"]
 * tokenize --build-from qwen/tokenizer.json --out tokenizer.json      (see src/text/tokenizer-json.ts)
 * ```
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import {
  CosyVoiceTokenizer,
  buildCosyVoiceTokenizerJson,
  normalizeText,
  serializeTokenizerJson,
} from '../../src/text/index.ts';

const USAGE = `usage:
  npm run cli -- tokenize --tokenizer <tokenizer.json> (--text <string>... | --jsonl <file|->) [--normalize]
  npm run cli -- tokenize --build-from <qwen tokenizer.json> --out <tokenizer.json>

  --tokenizer   CosyVoice 2 tokenizer.json (the model package's file, or one written by --build-from)
  --text        text to tokenise (repeatable); prints one JSON array of ids per text
  --jsonl       file with one JSON string per line ("-" = stdin); prints one JSON array of ids per line;
                blank lines are skipped
  --normalize   print the normalised segments (JSON array of strings) instead of ids
  --build-from  Qwen2 byte-level BPE tokenizer.json to turn into the CosyVoice 2 tokenizer.json
  --out         where --build-from writes (compact JSON, byte-identical to Python tokenizers' to_str())`;

/** Thrown for bad command lines: printed with the usage text, exit code 2. */
class UsageError extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new Error(`cannot read ${what} ${JSON.stringify(path)}: ${(cause as Error).message}`, { cause });
  }
}

/** Parse JSONL input: one JSON string per non-blank line. */
export function parseJsonlStrings(text: string, source = 'input'): string[] {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line) as unknown;
    } catch {
      throw new UsageError(`${source} line ${i + 1}: not valid JSON; expected one JSON string per line, e.g. "你好".`);
    }
    if (typeof value !== 'string') {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
      throw new UsageError(`${source} line ${i + 1}: expected a JSON string, got ${kind}.`);
    }
    out.push(value);
  });
  return out;
}

async function build(from: string, out: string): Promise<void> {
  const qwen = await readText(from, 'Qwen tokenizer.json');
  const json = buildCosyVoiceTokenizerJson(qwen);
  await writeFile(out, serializeTokenizerJson(json));
  process.stderr.write(`wrote ${out} (${json.added_tokens.length} added tokens, ids 151643…151662)\n`);
}

/**
 * Run the subcommand.
 *
 * @param argv - Arguments after `tokenize`.
 * @returns Exit code: 0 ok, 1 runtime error (unreadable file, bad tokenizer), 2 bad command line or input.
 */
export async function run(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        tokenizer: { type: 'string' },
        text: { type: 'string', multiple: true },
        jsonl: { type: 'string' },
        normalize: { type: 'boolean', default: false },
        'build-from': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const buildFrom = values['build-from'];
    if (buildFrom !== undefined || values.out !== undefined) {
      if (buildFrom === undefined || values.out === undefined) {
        throw new UsageError('--build-from and --out go together.');
      }
      if (values.tokenizer !== undefined || values.text !== undefined || values.jsonl !== undefined) {
        throw new UsageError('--build-from cannot be combined with --tokenizer, --text or --jsonl.');
      }
      await build(buildFrom, values.out);
      return 0;
    }
    if (values.tokenizer === undefined) {
      throw new UsageError('missing --tokenizer <tokenizer.json>.');
    }
    if ((values.text === undefined) === (values.jsonl === undefined)) {
      throw new UsageError('give either --text <string> (repeatable) or --jsonl <file|->, not both and not neither.');
    }
    const texts =
      values.text ??
      parseJsonlStrings(
        values.jsonl === '-' ? await readStdin() : await readText(values.jsonl ?? '', 'JSONL file'),
        values.jsonl === '-' ? 'stdin' : (values.jsonl ?? ''),
      );
    const tokenizer = CosyVoiceTokenizer.fromJson(await readText(values.tokenizer, 'tokenizer.json'));
    const countTokens = (t: string): number => tokenizer.countTokens(t);
    const lines = texts.map((text) =>
      values.normalize
        ? JSON.stringify(normalizeText(text, { countTokens }))
        : JSON.stringify(Array.from(tokenizer.encode(text))),
    );
    process.stdout.write(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown } | null)?.code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`tokenize: ${message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`tokenize: ${message}\n`);
    return 1;
  }
}
