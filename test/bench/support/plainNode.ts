/**
 * Benchmarks measure their subject on plain node, as the service runs from dist/: under tsx
 * a loader thread adds ~30 MB to every RSS figure. This transpiles what a benchmark's child
 * process needs into a temporary directory.
 */
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * Transpiles every `.ts` under `folders` (relative to the checkout) into `dir`, beside the
 * real package.json ("type": "module"; the User-Agent reads it) and node_modules. Answers the
 * transpiled `script`, or undefined (having said why) when that fails and tsx must do.
 */
export const transpileForNode = async (
  dir: string,
  script: string,
  folders: readonly string[],
): Promise<string | undefined> => {
  try {
    const ts = (await import('typescript')).default;
    const options = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 };
    const sources = folders.flatMap((folder) =>
      readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => join(folder, file)),
    );
    for (const source of sources) {
      const text = readFileSync(join(ROOT, source), 'utf8');
      const target = join(dir, source.replace(/\.ts$/, '.js'));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, ts.transpileModule(text, { compilerOptions: options }).outputText);
    }
    copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    return join(dir, script.replace(/\.ts$/, '.js'));
  } catch (error) {
    console.log(`(could not transpile for plain node, running under tsx: ${String(error)})`);
    return undefined;
  }
};
