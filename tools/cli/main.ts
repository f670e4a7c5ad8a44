/**
 * Node CLI: `npm run cli -- <command> [options]`.
 *
 * Each subcommand lives in its own module exporting `run(argv): Promise<number>` (the exit code), so adding one means
 * adding a file and a line in COMMANDS.
 */

interface Command {
  readonly summary: string;
  readonly load: () => Promise<{ run: (argv: string[]) => Promise<number> }>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  features: {
    summary: 'audio features: whisper-mel | fbank | prompt-mel | resample (raw float32 out)',
    load: () => import('./features.ts'),
  },
  tokenize: { summary: 'text → token ids with a tokenizer.json', load: () => import('./tokenize.ts') },
  synth: { summary: 'text → 24 kHz WAV with a model package and a voice', load: () => import('./synth.ts') },
  voice: { summary: 'create / inspect a voice file from a prompt recording', load: () => import('./voice.ts') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ['usage: npm run cli -- <command> [options]', '', 'commands:', ...lines].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(`Unknown command "${name}". Expected one of: ${Object.keys(COMMANDS).join(', ')}.\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
}

export {};

process.exitCode = await main(process.argv.slice(2));
