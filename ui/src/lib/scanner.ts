// Keyboard-wedge scanner: a scanner "types" its code much faster than a person and ends with Enter.
// We collect printable keys typed anywhere on the page (outside editable fields) and, on Enter,
// treat the buffer as one scan when it is at least `minLength` long and its keys came fast: the
// *median* gap between keys must be at most `maxMedianGapMs`. The median, not every gap, so one
// stall (a busy machine, a USB hiccup) does not split a scan, while a person typing (100 ms or more
// per key) never passes. A pause longer than `resetGapMs` starts a new buffer.
// Keys typed into inputs are left alone (those fields handle their own Enter), so a person filling
// in a form is never hijacked.

export type ScannerOptions = { maxMedianGapMs?: number; resetGapMs?: number; minLength?: number };

function isEditable(el: EventTarget | null): boolean {
  if (!(el instanceof HTMLElement)) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function attachScanner(onScan: (code: string) => void, opts: ScannerOptions = {}): () => void {
  const maxMedianGap = opts.maxMedianGapMs ?? 70;
  const resetGap = opts.resetGapMs ?? 1000;
  const minLength = opts.minLength ?? 3;
  let buf = '';
  let gaps: number[] = [];
  let last = 0;

  function onKey(e: KeyboardEvent): void {
    if (e.defaultPrevented || e.isComposing || isEditable(e.target)) return;
    if (document.querySelector('dialog[open]')) return;
    const now = performance.now();
    const gap = now - last;
    last = now;
    if (gap > resetGap) {
      buf = '';
      gaps = [];
    }
    if (e.key === 'Enter') {
      if (buf.length >= minLength && median(gaps) <= maxMedianGap) {
        // Otherwise the Enter would also press whichever button has focus.
        e.preventDefault();
        e.stopPropagation();
        onScan(buf);
      }
      buf = '';
      gaps = [];
      return;
    }
    if (e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey) {
      if (buf.length > 0) gaps.push(gap);
      buf += e.key;
    }
  }

  window.addEventListener('keydown', onKey, true);
  return () => window.removeEventListener('keydown', onKey, true);
}
