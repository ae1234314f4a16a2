// ESLint flat config: typescript-eslint's recommended rules on every TypeScript and JavaScript file of the
// repository, with the globals of the side a file runs on (Node for core/extension/test/bench/scripts,
// the browser for webview/). `npm run lint` checks, `npm run lint -- --fix` fixes what it can; `npm test`
// runs it first and counts any warning as a failure (--max-warnings 0).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      '.vscode-test/',
      '.flowloop/',
      'test-artifacts/',
      'native/build/',
      'bench/.cache/',
      'core/experiment/configTypes.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
    rules: {
      // unused bindings are errors, except the deliberately unused (`_x`) and rest siblings used to omit keys
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  { files: ['webview/**/*.ts'], languageOptions: { globals: { ...globals.browser } } },
  // tests and benchmarks read JSON results and events loosely (`any` where the value is only asserted on);
  // the product code (core, extension, webview) stays free of `any`
  { files: ['test/**', 'bench/**', 'harness/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  // CommonJS files (esbuild.js, the native build helper) and the Node scripts of the test/bench runners
  {
    files: ['**/*.cjs', 'esbuild.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
