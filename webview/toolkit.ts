/**
 * The ONLY module that imports @vscode/webview-ui-toolkit (deprecated upstream, still works in VS Code
 * 1.100–1.139). Views build controls through these helpers and never name a toolkit tag or class
 * themselves, so moving to @vscode-elements/elements (same `vscode-*` tag names for most elements,
 * `vscode-single-select` for the dropdown) is a change to this file only.
 */
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDivider,
  vsCodeDropdown,
  vsCodeOption,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Registers the toolkit's custom elements once (idempotent). */
export function registerToolkit(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(
    vsCodeButton(),
    vsCodeCheckbox(),
    vsCodeDivider(),
    vsCodeDropdown(),
    vsCodeOption(),
    vsCodeTextField(),
  );
}

/** A button; `appearance` primary (default) or secondary. */
export function button(
  label: string,
  onClick: () => void,
  o: { appearance?: 'primary' | 'secondary'; id?: string; title?: string } = {},
): HTMLElement {
  registerToolkit();
  const b = document.createElement('vscode-button');
  b.textContent = label;
  if (o.appearance) b.setAttribute('appearance', o.appearance);
  if (o.id) b.id = o.id;
  if (o.title) b.title = o.title;
  b.addEventListener('click', () => onClick());
  return b;
}

/** A checkbox with a label; `onChange` gets the new checked state. */
export function checkbox(label: string, checked: boolean, onChange: (checked: boolean) => void, id?: string): HTMLElement {
  registerToolkit();
  const c = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
  c.textContent = label;
  if (id) c.id = id;
  if (checked) c.setAttribute('checked', '');
  c.checked = checked;
  c.addEventListener('change', () => onChange(!!c.checked));
  return c;
}

/** Sets a checkbox made by `checkbox()` without firing its handler's side effects twice. */
export function setChecked(el: HTMLElement, checked: boolean): void {
  (el as HTMLElement & { checked: boolean }).checked = checked;
}

/**
 * A dropdown: one option per entry of `labels` (value → label, in the object's key order; keys that are whole
 * numbers come first, ascending), `value` selected; `onChange` gets the selected value, always one of the keys.
 */
export function dropdown<T extends string>(
  labels: Record<T, string>,
  value: string,
  onChange: (value: T) => void,
  id?: string,
): HTMLElement {
  registerToolkit();
  const d = document.createElement('vscode-dropdown') as HTMLElement & { value: T };
  if (id) d.id = id;
  for (const [v, label] of Object.entries<string>(labels)) {
    const opt = document.createElement('vscode-option') as HTMLElement & { value: string };
    opt.setAttribute('value', v);
    opt.textContent = label;
    if (v === value) opt.setAttribute('selected', '');
    d.appendChild(opt);
  }
  d.addEventListener('change', () => onChange(d.value));
  return d;
}

/** Current value of a dropdown made by `dropdown()`. */
export function dropdownValue(el: HTMLElement): string {
  return (el as HTMLElement & { value: string }).value;
}

/** A text field; `onInput` on every edit, `onEnter` on Enter. */
export function textField(
  placeholder: string,
  value: string,
  o: { onInput?: (v: string) => void; onEnter?: (v: string) => void; id?: string; size?: number } = {},
): HTMLElement {
  registerToolkit();
  const t = document.createElement('vscode-text-field') as HTMLElement & { value: string };
  t.setAttribute('placeholder', placeholder);
  if (o.size) t.setAttribute('size', String(o.size));
  if (o.id) t.id = o.id;
  t.setAttribute('value', value);
  t.value = value;
  if (o.onInput) t.addEventListener('input', () => o.onInput!(t.value));
  if (o.onEnter)
    t.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Enter') o.onEnter!(t.value);
    });
  return t;
}

/** Current value of a text field made by `textField()`. */
export function textValue(el: HTMLElement): string {
  return (el as HTMLElement & { value: string }).value ?? '';
}

/**
 * A small label badge: a plain `<span class="badge …">` (style it with `.badge` in the view's CSS).
 * Not `vscode-badge`: its FAST template writes an inline `style` attribute, which the nonce CSP blocks
 * (a CSP violation report on every badge).
 */
export function badge(text: string, className?: string): HTMLElement {
  const b = document.createElement('span');
  b.textContent = text;
  b.className = className ? `badge ${className}` : 'badge';
  return b;
}

/** A tag (outlined uppercase pill), e.g. "rule-based, not an LLM": a plain `<span class="tag …">` (style `.tag` in the view's CSS; vscode-tag shares vscode-badge's template and its CSP problem). */
export function tag(text: string, className?: string): HTMLElement {
  const t = document.createElement('span');
  t.textContent = text;
  t.className = className ? `tag ${className}` : 'tag';
  return t;
}

/** A horizontal divider. */
export function divider(): HTMLElement {
  registerToolkit();
  return document.createElement('vscode-divider');
}
