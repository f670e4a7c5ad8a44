import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Emits index.html next to the bundle (a stand-in for html-webpack-plugin, to keep the app dependency-free). */
class IndexHtml {
  apply(compiler) {
    compiler.hooks.thisCompilation.tap('IndexHtml', (compilation) => {
      compilation.hooks.processAssets.tap(
        { name: 'IndexHtml', stage: compiler.webpack.Compilation.PROCESS_ASSETS_STAGE_ADDITIONS },
        () => {
          const html =
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>cosyvoice-web in a webpack app</title></head>\n<body>loading…<script defer src="main.js"></script></body></html>\n';
          compilation.emitAsset('index.html', new compiler.webpack.sources.RawSource(html));
        },
      );
    });
  }
}

export default {
  mode: 'production',
  entry: './src/main.js',
  output: { path: join(here, 'dist'), filename: 'main.js', clean: true },
  plugins: [new IndexHtml()],
};
