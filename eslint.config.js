// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // Only the HTTP layer may touch Koa (STYLE.md habit 1).
    files: ['src/**/*.ts'],
    ignores: ['src/http/**', 'src/app.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['koa', '@koa/*', 'koa-*'] }],
    },
  },
);
