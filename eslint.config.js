// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import importX from 'eslint-plugin-import-x';
import { layerRuleOptions } from './eslint/layers.js';

/** Folders whose code also runs in workers (no DOM globals allowed). */
const universal = [
  'src/dsp/**',
  'src/text/**',
  'src/runtime/**',
  'src/models/**',
  'src/loader/**',
  'src/engine/**',
  'src/stages/**',
  'src/request/**',
  'src/base/**',
];

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'dist',
      'build',
      'test-results',
      '.venv',
      'test/fixtures',
      'public',
      '**/*.generated.ts',
      'test/integration/**/dist',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      'no-console': 'error',
      // `const { dropped, ...rest } = value` is how an object minus some keys is written
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    // the layer table of docs/architecture.md: a lower layer importing a higher one is an error
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    plugins: { 'import-x': importX },
    rules: { 'import-x/no-restricted-paths': ['error', layerRuleOptions()] },
  },
  {
    files: universal,
    rules: {
      'no-restricted-globals': ['error', 'window', 'document', 'AudioContext'],
    },
  },
  {
    files: ['src/**'],
    ignores: ['src/runtime/ort.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['onnxruntime-web', 'onnxruntime-web/*'],
              message: 'Only src/runtime/ort.ts imports onnxruntime-web.',
            },
          ],
        },
      ],
    },
  },
  {
    // A committed `.only` silently shrinks a suite and a `.skip` hides a gap, whoever runs it and wherever: refused
    // here for every runner (Vitest, Playwright), independent of the runners' own options (also set).
    files: ['test/**', 'tools/**', 'scripts/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'MemberExpression[object.name=/^(describe|it|test|suite|bench)$/][property.name=/^(only|skip|skipIf|runIf|todo|fixme)$/]',
          message: 'Focused or skipped tests are not committed: every test runs everywhere (remove .only/.skip/.todo).',
        },
        {
          selector:
            'MemberExpression[object.object.name=/^(describe|it|test|suite)$/][property.name=/^(only|skip|skipIf|runIf|todo|fixme)$/]',
          message: 'Focused or skipped tests are not committed: every test runs everywhere (remove .only/.skip/.todo).',
        },
      ],
    },
  },
  {
    files: ['test/**', 'tools/**', 'demo/**', '*.config.ts', '*.config.js'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-console': 'off' },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
