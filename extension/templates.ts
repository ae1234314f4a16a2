import * as vscode from 'vscode';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { findSharedData } from '../core/data/sharedData';
import { citeWithTitles, methodsSectionsAt } from '../core/experiment/citations';

/** Research data a template reads (a path into the project's shared/data folder, or a file next to it). */
export interface DataNeed {
  /** The config key holding the path ("dataset", "titles", "extraPriors[0]"). */
  key: string;
  /** The path as the template writes it. */
  value: string;
  /** The path under shared/data ("lastfm", "movies_rq1/select_100_Movies.json"), when it is shared data. */
  shared?: string;
}

export interface Template {
  file: string;
  /** "quick", "rq1/demo". */
  name: string;
  kind?: string;
  description?: string;
  /** The data it needs that the extension does not ship. */
  needs: DataNeed[];
}

/**
 * Files of examples/ that are copies of ../shared/data files, kept in the repository so that the CLI
 * demo runs without ../shared, and left out of the VSIX (.vscodeignore: research-only licences, see
 * shared/data/README.md). A template naming one gets the shared-data location instead.
 */
export const NOT_SHIPPED: Record<string, string> = {
  'rq1/select_100_Movies.json': 'movies_rq1/select_100_Movies.json',
};

/** What each top folder of shared/data holds, and its licence, for the template picker. */
const SHARED_DATA: Record<string, string> = {
  amazon: 'Amazon Reviews 2018 splits (research use)',
  movies_rq1: 'Amazon Movies titles for RQ1 (research use)',
  lastfm: 'Last.fm (non-commercial research)',
  steam: 'Steam (research use)',
  movielens: 'MovieLens-100K (research only)',
  models: 'trained SASRec models (licence of their data)',
};

const looksLikePath = (v: string) => !isAbsolute(v) && /[\\/]|\.\w+$/.test(v) && !/^[a-z]+:\/\//i.test(v);
const sharedPart = (v: string) => /(?:^|[\\/])shared[\\/]data[\\/](.+)$/.exec(v)?.[1].replace(/\\/g, '/');

/** Relative-path strings in a config (dataset folders, files), with their key path. */
function pathValues(config: unknown, key = ''): { key: string; value: string }[] {
  if (typeof config === 'string') return looksLikePath(config) ? [{ key, value: config }] : [];
  if (Array.isArray(config)) return config.flatMap((v, i) => pathValues(v, `${key}[${i}]`));
  if (config && typeof config === 'object') {
    return Object.entries(config)
      .filter(([k]) => k !== '$schema' && k !== 'description' && k !== 'name')
      .flatMap(([k, v]) => pathValues(v, key ? `${key}.${k}` : k));
  }
  return [];
}

/** The data a template reads from shared/data (directly or through an embedded copy the VSIX leaves out). */
export function dataNeeds(config: unknown, templateDir: string, examplesDir: string): DataNeed[] {
  return pathValues(config).flatMap(({ key, value }) => {
    const embedded = relative(examplesDir, resolve(templateDir, value)).split(sep).join('/');
    const shared = NOT_SHIPPED[embedded] ?? sharedPart(value);
    return shared ? [{ key, value, shared }] : [];
  });
}

/** The examples shipped with the extension: examples/*.flowloop.json and examples/<folder>/*.flowloop.json. */
export function listTemplates(extensionPath: string): Template[] {
  const dir = join(extensionPath, 'examples');
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (f.endsWith('.flowloop.json')) files.push(p);
    else if (!f.startsWith('.') && isDir(p))
      files.push(
        ...readdirSync(p)
          .filter((g) => g.endsWith('.flowloop.json'))
          .sort()
          .map((g) => join(p, g)),
      );
  }
  const sections = methodsSectionsAt(extensionPath);
  return files.map((file) => {
    const name = relative(dir, file)
      .split(sep)
      .join('/')
      .replace(/\.flowloop\.json$/, '');
    try {
      const c = JSON.parse(readFileSync(file, 'utf8'));
      const description = typeof c.description === 'string' ? citeWithTitles(c.description, sections) : c.description;
      return { file, name, kind: c.kind, description, needs: dataNeeds(c, dirname(file), dir) };
    } catch {
      return { file, name, needs: [] };
    }
  });
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export { findSharedData };

const relFrom = (toDir: string, abs: string) => {
  const rel = relative(toDir, abs).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
};

/**
 * Copy of a template for a new location: relative paths in it that exist next to the template (data
 * folders, files) are rewritten so they still point at the same place from the new file's folder.
 * Shared research data (`…/shared/data/…`, and the embedded copies listed in NOT_SHIPPED) is looked for
 * in the nearest shared/data folder at or above the new file's folder; when none has it, the path is
 * left as written (`../shared/data/…` for an embedded copy) and the editor's diagnostic points at it.
 * (`sharedData`: that folder, or null for none; default: looked up from `toDir`.)
 * `$schema` is dropped: the template's `../dist/flowloop.schema.json` means nothing in the user's folder,
 * and an in-file `$schema` would override the schema the extension contributes for `*.flowloop.json`.
 */
export function retarget(
  config: unknown,
  fromDir: string,
  toDir: string,
  examplesDir = fromDir,
  sharedData: string | null = findSharedData(toDir) ?? null,
): unknown {
  const shared = sharedData;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (!looksLikePath(v)) return v;
      const abs = resolve(fromDir, v);
      const embedded = NOT_SHIPPED[relative(examplesDir, abs).split(sep).join('/')];
      const part = embedded ?? sharedPart(v);
      if (part) {
        if (shared && existsSync(join(shared, part))) return relFrom(toDir, join(shared, part));
        if (existsSync(abs)) return relFrom(toDir, abs);
        return embedded ? `../shared/data/${part}` : v;
      }
      return existsSync(abs) ? relFrom(toDir, abs) : v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v)
          .filter(([k]) => k !== '$schema')
          .map(([k, x]) => [k, walk(x)]),
      );
    }
    return v;
  };
  return walk(config);
}

/** One line for the picker: the research data a template reads and whether this workspace has it. */
export function needsLine(t: Template, workspaceDir: string): string | undefined {
  const tops = [...new Set(t.needs.map((n) => n.shared!.split('/')[0]))];
  if (!tops.length) return undefined;
  const shared = findSharedData(workspaceDir);
  // "lastfm", "models/afl_lastfm_sasrec", "amazon/Movies_and_TV": the folder a person would fetch
  const parts = [
    ...new Set(
      t.needs.map((n) =>
        n
          .shared!.split('/')
          .slice(0, /^(models|amazon)\//.test(n.shared!) ? 2 : 1)
          .join('/'),
      ),
    ),
  ];
  const found = t.needs.every((n) => (shared && existsSync(join(shared, n.shared!))) || existsSync(resolve(dirname(t.file), n.value)));
  return `Needs shared/data/{${parts.join(', ')}}: ${tops.map((k) => SHARED_DATA[k] ?? k).join('; ')}. Not shipped with the extension (research-only licences)${found ? '; found' : '; not found beside or above this workspace: the new config will flag the missing paths'}.`;
}

/** Command "New Experiment from Template": quick pick over the examples, a file name, then open it. */
export async function newFromTemplate(extensionPath: string, pickFile?: string, targetName?: string): Promise<vscode.Uri | undefined> {
  const templates = listTemplates(extensionPath);
  if (!templates.length) {
    void vscode.window.showErrorMessage('Flowloop: no example configs found in the extension (examples/*.flowloop.json).');
    return undefined;
  }
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    void vscode.window.showErrorMessage('Flowloop: open a folder first; the new experiment is created in it.');
    return undefined;
  }
  let template = pickFile ? templates.find((t) => t.file.endsWith(pickFile) || t.name === pickFile) : undefined;
  if (pickFile && !template) {
    void vscode.window.showErrorMessage(`Flowloop: no example named ${pickFile}.`);
    return undefined;
  }
  if (!template) {
    const pick = await vscode.window.showQuickPick(
      templates.map((t) => {
        const needs = needsLine(t, folder.uri.fsPath);
        return { label: t.name, description: t.kind, detail: [t.description, needs].filter(Boolean).join(' '), t };
      }),
      {
        title: 'Flowloop: New Experiment from Template',
        placeHolder: 'Pick an example to start from (the detail says what data it needs)',
        matchOnDetail: true,
      },
    );
    if (!pick) return undefined;
    template = pick.t;
  }
  const base = template.name.replace(/[\\/]/g, '-');
  const name =
    targetName ??
    (await vscode.window.showInputBox({
      title: 'Flowloop: name of the new experiment',
      value: `my-${base}`,
      validateInput: (v) =>
        /^[A-Za-z0-9._-]+$/.test(v)
          ? existsSync(join(folder.uri.fsPath, `${v}.flowloop.json`))
            ? 'a config with this name exists'
            : undefined
          : 'letters, digits, ".", "_" and "-" only',
    }));
  if (!name) return undefined;
  const target = vscode.Uri.file(join(folder.uri.fsPath, `${name}.flowloop.json`));
  if (existsSync(target.fsPath)) {
    void vscode.window.showErrorMessage(`Flowloop: ${vscode.workspace.asRelativePath(target)} exists; pick another name.`);
    return undefined;
  }
  const config = JSON.parse(readFileSync(template.file, 'utf8'));
  const copy = retarget(config, dirname(template.file), folder.uri.fsPath, join(extensionPath, 'examples')) as Record<string, unknown>;
  if (typeof copy.name === 'string') copy.name = name;
  await vscode.workspace.fs.writeFile(target, Buffer.from(JSON.stringify(copy, null, 2) + '\n', 'utf8'));
  await vscode.window.showTextDocument(target);
  const written = pathValues(copy);
  const missing = template.needs.filter((n) => {
    const v = written.find((w) => w.key === n.key)?.value;
    return !v || !existsSync(resolve(folder.uri.fsPath, v));
  });
  if (missing.length) {
    void vscode.window.showInformationMessage(
      `Flowloop: ${template.name} reads research data that the extension does not ship (${[...new Set(missing.map((n) => `shared/data/${n.shared}`))].join(', ')}: research-only licences). Put the project's shared/data folder beside or above this workspace, or change the flagged paths.`,
    );
  }
  return target;
}
