// SSR safety of the installed package (identical in vite-app and webpack-app): bare Node, no DOM, no Worker. Importing
// the entry points must not throw nor touch globals, and create() must fail cleanly with a typed error. Prints JSON.
const before = new Set(Object.getOwnPropertyNames(globalThis));
const main = await import('cosyvoice-web');
const dsp = await import('cosyvoice-web/dsp');
const text = await import('cosyvoice-web/text');
const addedGlobals = Object.getOwnPropertyNames(globalThis).filter((name) => !before.has(name));

let createError;
try {
  await main.CosyVoice.create({ model: 'http://127.0.0.1:9/never-fetched/' });
} catch (error) {
  createError = { name: error.name, code: error.code, isTTSError: error instanceof main.TTSError };
}

console.log(
  JSON.stringify({
    resolved: import.meta.resolve('cosyvoice-web'),
    exports: Object.keys(main).sort(),
    dspExports: Object.keys(dsp).length,
    textExports: Object.keys(text).length,
    addedGlobals,
    createError,
  }),
);
