// Keyboard-wedge scanner: a scanner "types" its code much faster than a person and ends with Enter.
// We collect printable keys that arrive less than `maxGapMs` apart anywhere on the page and treat
// Enter after at least `minLength` of them as one scan. Keys typed into editable fields are left
// alone (those fields handle their own Enter), so a person filling in a form is never hijacked.

export type ScannerOptions = { maxGapMs?: number; minLength?: number };

function isEditable(el: EventTarget | null): boolean {
  if (!(el instanceof HTMLElement)) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
}

export function attachScanner(onScan: (code: string) => void, opts: ScannerOptions = {}): () => void {
  const maxGap = opts.maxGapMs ?? 100;
  const minLength = opts.minLength ?? 3;
  let buf = '';
  let last = 0;

  function onKey(e: KeyboardEvent): void {
    if (e.defaultPrevented || e.isComposing || isEditable(e.target)) return;
    if (document.querySelector('dialog[open]')) return;
    const now = performance.now();
    if (now - last > maxGap) buf = '';
    last = now;
    if (e.key === 'Enter') {
      if (buf.length >= minLength) {
        // Otherwise the Enter would also press whichever button has focus.
        e.preventDefault();
        e.stopPropagation();
        const code = buf;
        buf = '';
        onScan(code);
      }
      buf = '';
      return;
    }
    if (e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey) {
      buf += e.key;
      // A scanned space or letter must not scroll the page or trigger access keys.
      if (buf.length > 1) e.preventDefault();
    }
  }

  window.addEventListener('keydown', onKey, true);
  return () => window.removeEventListener('keydown', onKey, true);
}
